"""``AIIncidentsInstrumentor``: every LLM call made through httpx or httpx2 becomes a GenAI span."""

from __future__ import annotations

import collections
import dataclasses
import importlib
import json
import logging
from collections.abc import Collection, Mapping
from types import ModuleType
from typing import Any

import wrapt
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor
from opentelemetry.instrumentation.utils import is_instrumentation_enabled, unwrap

from ai_incidents.capture import _json, gate, listeners
from ai_incidents.capture._telemetry import Telemetry, get_telemetry, set_telemetry
from ai_incidents.capture.call import LLMCall
from ai_incidents.capture.context import current_end_user, current_feature, current_retrieval
from ai_incidents.capture.endpoints import endpoints
from ai_incidents.capture.interaction import Interaction
from ai_incidents.capture.local_answers import local_answer
from ai_incidents.capture.output_filter import StreamRedactor, rewrite_json
from ai_incidents.capture.streams import tee_stream_types
from ai_incidents.config import get_settings

_logger = logging.getLogger(__name__)

_HTTP_MODULES = ("httpx", "httpx2")
_DEFAULT_PORTS = {"https": 443, "http": 80}


class AIIncidentsInstrumentor(BaseInstrumentor):
    """Capture LLM calls over ``httpx`` and ``httpx2`` (sync and async clients).

    Loaded by ``opentelemetry-instrument`` through the ``ai_incidents`` entry point, or
    in code: ``AIIncidentsInstrumentor().instrument(tracer_provider=...)``. Accepts
    ``tracer_provider``, ``meter_provider`` and ``logger_provider``.
    """

    _patched: list[tuple[type, str]]

    def instrumentation_dependencies(self) -> Collection[str]:
        # Either httpx or httpx2 will do: the `instruments-any` extra says so to the launcher.
        return ()

    def _instrument(self, **kwargs: Any) -> None:
        self._patched = []
        if not get_settings().enabled:
            _logger.info("ai-incidents is disabled (AI_INCIDENTS_ENABLED=false)")
            return
        set_telemetry(
            Telemetry(
                kwargs.get("tracer_provider"),
                kwargs.get("meter_provider"),
                kwargs.get("logger_provider"),
            )
        )
        for name in _HTTP_MODULES:
            try:
                module = importlib.import_module(name)
            except ImportError:
                continue
            self._patch(module)

    def _patch(self, module: ModuleType) -> None:
        sync_tee, async_tee = tee_stream_types(module)
        for cls, wrapper in (
            (module.Client, _sync_send_wrapper(module, sync_tee)),
            (module.AsyncClient, _async_send_wrapper(module, async_tee)),
        ):
            if isinstance(cls.__dict__.get("send"), wrapt.ObjectProxy):
                continue
            wrapt.wrap_function_wrapper(cls, "send", wrapper)
            self._patched.append((cls, "send"))

    def _uninstrument(self, **kwargs: Any) -> None:
        for cls, attribute in getattr(self, "_patched", ()):
            unwrap(cls, attribute)
        self._patched = []
        set_telemetry(None)


def _start_call(request: Any) -> LLMCall | None:
    """An ``LLMCall`` if ``request`` is a call to an LLM API; never raises."""
    try:
        if request.method != "POST" or not is_instrumentation_enabled():
            return None
        url = request.url
        host, path = url.host, url.path
        rule = endpoints.match(host, path)
        if rule is None:
            return None
        settings = get_settings()
        body, capture_error = _request_json(request, settings.capture_max_body_bytes)
        if body is None and capture_error is None:
            return None
        match = endpoints.confirm(rule, host, path, body)
        if match is None:
            return None
        telemetry = get_telemetry()
        end_user, session = current_end_user()
        interaction = Interaction(
            operation=match.wire_format.operation,
            provider=match.provider,
            wire_format=match.wire_format.name,
            feature=current_feature() or settings.feature or telemetry.service_name() or "unknown",
            end_user=end_user,
            session=session,
            request_model=match.deployment,
            retrieval=current_retrieval(),
            capture_error=capture_error,
        )
        if body is not None:
            match.wire_format.parse_request(body, interaction)
        decision = gate.decide(interaction)
        if decision is not None:
            if decision.action == "rolled_back" and decision.model:
                decision = dataclasses.replace(decision, original_model=interaction.request_model)
                interaction.request_model = decision.model
            interaction.containment = decision
        server_address, server_port = _server(url)
        return LLMCall(
            match=match,
            interaction=interaction,
            server_address=server_address,
            server_port=server_port,
            telemetry=telemetry,
            settings=settings,
            listeners=listeners.registered(),
        )
    except Exception:
        _logger.exception("ai-incidents could not start capturing an LLM call")
        return None


def _server(url: Any) -> tuple[str, int | None]:
    """``server.address`` and ``server.port`` of a URL."""
    return url.host, url.port or _DEFAULT_PORTS.get(url.scheme)


def _request_json(request: Any, limit: int) -> tuple[Mapping[str, Any] | None, str | None]:
    """The request's JSON object body, or why it could not be read."""
    try:
        raw = request.content
    except Exception:
        return None, "request_body_unavailable"
    if len(raw) > limit:
        return None, "request_body_too_large"
    try:
        body = _json.loads(raw)
    except ValueError:
        return None, None
    return (body, None) if isinstance(body, Mapping) else (None, None)


def _apply(module: ModuleType, call: LLMCall, args: tuple, kwargs: dict) -> tuple[tuple, dict, Any]:
    """``send``'s arguments with containment applied, and the local response if any."""
    if call.interaction.containment is None:
        return args, kwargs, None
    if args:
        request, local = _contained(module, call, args[0])
        return (request, *args[1:]), kwargs, local
    request, local = _contained(module, call, kwargs.get("request"))
    return args, {**kwargs, "request": request}, local


def _contained(module: ModuleType, call: LLMCall, request: Any) -> tuple[Any, Any]:
    """The request to send (another model, for a rollback), or a local response."""
    decision = call.interaction.containment
    if decision is None:
        return request, None
    try:
        if decision.action in ("feature_disabled", "guardrail_blocked"):
            status, headers, body = local_answer(call.interaction, decision)
            return request, module.Response(status, headers=headers, content=body,
                                            request=request)  # fmt: skip
        if decision.model:
            return _with_model(module, request, decision.model), None
    except Exception:
        _logger.exception("ai-incidents could not apply containment to a call")
    return request, None


def _with_model(module: ModuleType, request: Any, model: str) -> Any:
    body = dict(_json.loads(request.content))
    body["model"] = model
    headers = [(k, v) for k, v in request.headers.raw if k.lower() != b"content-length"]
    content = json.dumps(body).encode()
    return module.Request(
        request.method, request.url, headers=headers, content=content, extensions=request.extensions
    )


def _take_response(call: LLMCall, response: Any, tee_type: type) -> None:
    try:
        if response.history:
            call.answered_by(*_server(response.url))
        find = gate.redactor_for(call.interaction) if response.status_code < 300 else None
        if find is not None and not _is_stream(response, call):
            response.read()
            _take_filtered(call, response, find)
            return
        if call.on_response(response):
            redactor = StreamRedactor(call.interaction.wire_format, find) if find else None
            if redactor is not None:
                call.interaction.redactions = redactor.counts  # counted as the stream goes
            response.stream = tee_type(response.stream, call, redactor)
    except Exception:
        _logger.exception("ai-incidents could not capture an LLM response")
        call.finish()


async def _take_response_async(call: LLMCall, response: Any, tee_type: type) -> None:
    """``_take_response`` for async clients: a filtered JSON answer is read first."""
    try:
        find = gate.redactor_for(call.interaction) if response.status_code < 300 else None
        if find is not None and not _is_stream(response, call):
            await response.aread()
            _take_filtered(call, response, find)
            return
    except Exception:
        _logger.exception("ai-incidents could not capture an LLM response")
        call.finish()
        return
    _take_response(call, response, tee_type)


def _is_stream(response: Any, call: LLMCall) -> bool:
    content_type = response.headers.get("content-type", "").lower()
    return "text/event-stream" in content_type or call.interaction.stream


def _take_filtered(call: LLMCall, response: Any, find: Any) -> None:
    """Capture the read JSON answer as it came, then hand the app its masked rewrite."""
    counts: collections.Counter[str] = collections.Counter()
    rewritten = rewrite_json(call.interaction.wire_format, response.content, find, counts)
    call.interaction.redactions = dict(counts)
    call.on_response(response)
    if rewritten is not None:
        response._content = rewritten
        response.stream = type(response.stream)(rewritten)
        response.headers["content-length"] = str(len(rewritten))
        if "content-encoding" in response.headers:
            del response.headers["content-encoding"]


def _sync_send_wrapper(module: ModuleType, tee_type: type) -> Any:
    def send(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
        call = _start_call(args[0] if args else kwargs.get("request"))
        if call is None:
            return wrapped(*args, **kwargs)
        args, kwargs, local = _apply(module, call, args, kwargs)
        if local is not None:
            _take_response(call, local, tee_type)
            return local
        with call.activated():
            try:
                response = wrapped(*args, **kwargs)
            except BaseException as exc:
                call.fail(exc)
                raise
        _take_response(call, response, tee_type)
        return response

    return send


def _async_send_wrapper(module: ModuleType, tee_type: type) -> Any:
    async def send(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
        call = _start_call(args[0] if args else kwargs.get("request"))
        if call is None:
            return await wrapped(*args, **kwargs)
        args, kwargs, local = _apply(module, call, args, kwargs)
        if local is not None:
            _take_response(call, local, tee_type)
            return local
        with call.activated():
            try:
                response = await wrapped(*args, **kwargs)
            except BaseException as exc:
                call.fail(exc)
                raise
        await _take_response_async(call, response, tee_type)
        return response

    return send
