"""One LLM call in flight: its GenAI span, from the request until the response is read."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from ai_incidents import semconv
from ai_incidents.capture import _exportable, content
from ai_incidents.capture._telemetry import Telemetry
from ai_incidents.capture.body import ResponseBody
from ai_incidents.capture.endpoints import EndpointMatch
from ai_incidents.capture.feedback import responses
from ai_incidents.capture.fingerprints import prompt_fingerprints
from ai_incidents.capture.interaction import Interaction
from ai_incidents.config import Settings

_logger = logging.getLogger(__name__)
_STREAMABLE = frozenset({semconv.OPERATION_CHAT, semconv.OPERATION_TEXT_COMPLETION})

InteractionListener = Callable[[Interaction, Span], None]
"""Called with each finished interaction while its span is still open (evaluators)."""


class LLMCall:
    """Owns one GenAI span: opened before the request is sent, ended once the body is read,
    the stream is closed or abandoned, or the request fails."""

    def __init__(
        self,
        *,
        match: EndpointMatch,
        interaction: Interaction,
        server_address: str,
        server_port: int | None,
        telemetry: Telemetry,
        settings: Settings,
        listeners: tuple[InteractionListener, ...],
    ) -> None:
        self.match = match
        self.interaction = interaction
        self.settings = settings
        self.telemetry = telemetry
        self._listeners = listeners
        self._lock = threading.Lock()
        self._finished = False
        self._body: ResponseBody | None = None
        self._chunks = 0
        self._first_chunk_s: float | None = None
        self._last_chunk_ns: int | None = None
        self._started = time.perf_counter()
        self._server_address = server_address
        self._server_port = server_port
        self.span = telemetry.tracer.start_span(
            _span_name(interaction),
            kind=SpanKind.CLIENT,
            attributes=self._request_attributes(),
        )
        interaction.span_context = self.span.get_span_context()
        if interaction.capture_error:
            telemetry.capture_errors.add(1, {semconv.AI_CAPTURE_ERROR: interaction.capture_error})

    def _call_attributes(self) -> dict[str, Any]:
        """What spans and metrics both carry: operation, provider, server, request model."""
        attributes: dict[str, Any] = {
            semconv.GEN_AI_OPERATION_NAME: self.interaction.operation,
            semconv.GEN_AI_PROVIDER_NAME: self.interaction.provider,
            semconv.SERVER_ADDRESS: self._server_address,
        }
        if self._server_port is not None:
            attributes[semconv.SERVER_PORT] = self._server_port
        if self.interaction.request_model:
            attributes[semconv.GEN_AI_REQUEST_MODEL] = self.interaction.request_model
        return attributes

    def _request_attributes(self) -> dict[str, Any]:
        interaction = self.interaction
        attributes = self._call_attributes()
        attributes[semconv.AI_FEATURE_NAME] = interaction.feature
        if interaction.end_user:
            attributes[semconv.ENDUSER_ID] = interaction.end_user
        if interaction.session:
            attributes[semconv.SESSION_ID] = interaction.session
        attributes.update(prompt_fingerprints(interaction))
        decision = interaction.containment
        if interaction.guardrail_review is not None:
            attributes[semconv.AI_GUARDRAIL_DECISION] = "review"
            attributes[semconv.AI_GUARDRAIL_SCORE] = interaction.guardrail_review
        if decision is not None and decision.action == "guardrail_blocked":
            attributes[semconv.AI_GUARDRAIL_DECISION] = "blocked"
            attributes[semconv.AI_GUARDRAIL_SCORE] = decision.score or 0.0
        elif decision is not None:
            attributes[semconv.AI_CONTAINMENT_ACTION] = decision.action
            attributes[semconv.AI_CONTAINMENT_INCIDENT_ID] = decision.incident_id
            attributes[semconv.AI_CONTAINMENT_SCOPE] = decision.scope
            if decision.model:
                attributes[semconv.AI_CONTAINMENT_MODEL_FROM] = decision.original_model or ""
                attributes[semconv.AI_CONTAINMENT_MODEL_TO] = decision.model
        if interaction.operation in _STREAMABLE:
            attributes[semconv.GEN_AI_REQUEST_STREAM] = interaction.stream
        attributes.update(interaction.request_params)
        if interaction.capture_error:
            attributes[semconv.AI_CAPTURE_ERROR] = interaction.capture_error
        return _exportable.attributes(attributes)

    def activated(self) -> AbstractContextManager[Span]:
        """Make the GenAI span current while the request is sent (HTTP spans nest under it)."""
        return trace.use_span(
            self.span, end_on_exit=False, record_exception=False, set_status_on_exception=False
        )

    def answered_by(self, server_address: str, server_port: int | None) -> None:
        """The request was redirected: the server that answered is this one."""
        self._server_address, self._server_port = server_address, server_port
        self.span.set_attribute(semconv.SERVER_ADDRESS, server_address)
        if server_port is not None:
            self.span.set_attribute(semconv.SERVER_PORT, server_port)

    def on_response(self, response: Any) -> bool:
        """Take the response ``send`` returned; True if its body is still to be streamed."""
        self.interaction.http_status = response.status_code
        headers = response.headers
        content_type = headers.get("content-type", "").lower()
        if response.is_stream_consumed:
            self._body = self._response_body(content_type, "")  # already decoded
            self._body.feed(response.content)
            self._body.complete = True
            self.finish()
            return False
        encoding = headers.get("content-encoding", "").strip().lower()
        self._body = self._response_body(content_type, encoding)
        return True

    def _response_body(self, content_type: str, content_encoding: str) -> ResponseBody:
        return ResponseBody(
            self.interaction,
            self.match.wire_format,
            self.settings.capture_max_body_bytes,
            content_type,
            content_encoding,
        )

    def feed(self, chunk: bytes) -> None:
        """A chunk of the streamed body passed to the app; never raises."""
        try:
            self._chunks += 1
            self._last_chunk_ns = time.time_ns()
            if self._chunks == 1:
                self._first_chunk_s = time.perf_counter() - self._started
            if self._body is not None:
                self._body.feed(chunk)
        except Exception:
            _logger.debug("could not parse a response chunk", exc_info=True)
            if self._body is not None:
                self._body.error = "malformed_stream"

    def end_of_body(self) -> None:
        """The app read the body to its end."""
        if self._body is not None:
            self._body.complete = True
        self.finish()

    def fail(self, exc: BaseException) -> None:
        """The request or the body read raised ``exc`` (which the app receives unchanged)."""
        with self._lock:
            if not self._finished:
                self.interaction.error_type = type(exc).__qualname__
                self.span.record_exception(exc)
        self.finish()

    def finish(self, abandoned: bool = False) -> None:
        """End the span with what was seen; the first call wins, later ones do nothing."""
        with self._lock:
            if self._finished:
                return
            self._finished = True
        abandoned_at = self._last_chunk_ns if abandoned else None
        try:
            self._complete(abandoned)
            if not self.interaction.stream_abandoned:
                abandoned_at = None
        except Exception:
            _logger.exception("ai-incidents could not complete the span of an LLM call")
        finally:
            # An abandoned stream may be collected much later: it ended with its last chunk.
            self.span.end(end_time=abandoned_at)
            self._body = None

    def _complete(self, abandoned: bool) -> None:
        interaction = self.interaction
        interaction.duration_s = time.perf_counter() - self._started
        body = self._body
        if body is not None:
            body.finish()
            if body.streamed:
                interaction.time_to_first_chunk_s = self._first_chunk_s
            ok = interaction.http_status is None or interaction.http_status < 300
            interaction.stream_abandoned = (
                abandoned and ok and not body.complete and body.error is None
            )
            if body.error:
                self._capture_error(body.error)
                interaction.response_unread = True
            elif body.truncated:
                self._capture_error("response_body_too_large")
            if body.dropped_bytes:
                self.span.set_attribute(semconv.AI_CAPTURE_DROPPED_BYTES, body.dropped_bytes)
        status = interaction.http_status
        if status is not None and 300 <= status < 400:
            interaction.response_unread = True  # a redirect the client did not follow
        if interaction.error_type is None and status is not None and status >= 300:
            interaction.error_type = str(status)
        self._set_response_attributes()
        if self.settings.capture_content.on_span:
            self.span.set_attributes(content.content_attributes(interaction))
        for listener in self._listeners:
            try:
                listener(interaction, self.span)
            except Exception:
                _logger.exception("interaction listener %r failed", listener)
        if interaction.response_id:
            responses.remember(
                interaction.response_id, self.span.get_span_context(), interaction.feature
            )
        self._record_metrics()
        if self.settings.capture_content.on_event:
            content.emit_event(self.telemetry.logger, interaction, self.span)

    def _set_response_attributes(self) -> None:
        i = self.interaction
        span = self.span
        values = {
            semconv.GEN_AI_RESPONSE_ID: i.response_id,
            semconv.GEN_AI_RESPONSE_MODEL: i.response_model,
            semconv.GEN_AI_USAGE_INPUT_TOKENS: i.input_tokens,
            semconv.GEN_AI_USAGE_OUTPUT_TOKENS: i.output_tokens,
            semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: i.cache_read_input_tokens,
            semconv.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: i.cache_creation_input_tokens,
            semconv.GEN_AI_EMBEDDINGS_DIMENSION_COUNT: i.embedding_dimensions,
            semconv.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: i.time_to_first_chunk_s,
            semconv.AI_CAPTURE_CHUNKS: self._chunks or None,
            semconv.ERROR_TYPE: i.error_type,
            semconv.GEN_AI_RESPONSE_FINISH_REASONS: i.finish_reasons,
        }
        span.set_attributes(_exportable.attributes(values))
        if i.stream_abandoned:
            span.set_attribute(semconv.AI_CAPTURE_STREAM_ABANDONED, True)
        guarded = i.containment is not None and i.containment.action == "guardrail_blocked"
        if guarded or i.guardrail_review is not None:
            decision = "blocked" if guarded else "review"
            self.telemetry.guardrail_decisions.add(1, {semconv.AI_GUARDRAIL_DECISION: decision})
        if i.redactions:
            span.set_attribute(semconv.AI_GUARDRAIL_REDACTIONS, sum(i.redactions.values()))
            span.set_attribute(semconv.AI_GUARDRAIL_REDACTED, sorted(i.redactions))
            for kind, count in i.redactions.items():
                self.telemetry.guardrail_decisions.add(
                    count,
                    {semconv.AI_GUARDRAIL_DECISION: "redacted", semconv.AI_GUARDRAIL_KIND: kind},
                )
        if i.retrieval is not None:
            span.set_attribute(semconv.AI_RETRIEVAL_DOCUMENT_COUNT, len(i.retrieval.documents))
            if i.retrieval.data_source_id:
                span.set_attribute(semconv.GEN_AI_DATA_SOURCE_ID, i.retrieval.data_source_id)
        if i.error_type is not None:
            span.set_status(Status(StatusCode.ERROR))

    def _capture_error(self, kind: str) -> None:
        """Count a capture error; the span keeps the first one (the request's, if any)."""
        if self.interaction.capture_error is None:
            self.interaction.capture_error = kind
            self.span.set_attribute(semconv.AI_CAPTURE_ERROR, kind)
        self.telemetry.capture_errors.add(1, {semconv.AI_CAPTURE_ERROR: kind})

    def _record_metrics(self) -> None:
        i = self.interaction
        attributes = self._call_attributes()
        if i.response_model:
            attributes[semconv.GEN_AI_RESPONSE_MODEL] = i.response_model
        attributes = _exportable.attributes(attributes)
        duration_attributes = dict(attributes)
        if i.error_type:
            duration_attributes[semconv.ERROR_TYPE] = _exportable.text(i.error_type)
        context = trace.set_span_in_context(self.span)
        self.telemetry.operation_duration.record(i.duration_s or 0.0, duration_attributes, context)
        if i.time_to_first_chunk_s is not None and i.stream:
            self.telemetry.time_to_first_chunk.record(i.time_to_first_chunk_s, attributes, context)
        for token_type, count in (("input", i.input_tokens), ("output", i.output_tokens)):
            if count is not None:
                self.telemetry.token_usage.record(
                    count, {**attributes, semconv.GEN_AI_TOKEN_TYPE: token_type}, context
                )


def _span_name(interaction: Interaction) -> str:
    if interaction.request_model:
        return _exportable.text(f"{interaction.operation} {interaction.request_model}")
    return interaction.operation
