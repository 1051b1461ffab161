"""OpenAI Responses API (``/v1/responses``), plain and streamed as typed events."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ai_incidents import semconv
from ai_incidents.capture.interaction import Interaction, Message
from ai_incidents.capture.wire._base import (
    StreamAccumulator,
    WireFormat,
    add_finish_reason,
    add_message,
    as_int,
    as_list,
    as_str,
    provider_error_type,
    set_params,
    text_of,
)

_PARAMS = {
    "max_output_tokens": semconv.GEN_AI_REQUEST_MAX_TOKENS,
    "temperature": semconv.GEN_AI_REQUEST_TEMPERATURE,
    "top_p": semconv.GEN_AI_REQUEST_TOP_P,
}
_INCOMPLETE_REASONS = {"max_output_tokens": "length", "content_filter": "content_filter"}


class OpenAIResponses(WireFormat):
    name = "openai.responses"
    operation = semconv.OPERATION_CHAT
    default_provider = "openai"

    def accepts(self, body: Mapping[str, Any]) -> bool:
        return "input" in body or "previous_response_id" in body or "prompt" in body

    def parse_request(self, body: Mapping[str, Any], interaction: Interaction) -> None:
        interaction.request_model = as_str(body.get("model")) or interaction.request_model
        interaction.stream = body.get("stream") is True
        instructions = body.get("instructions")
        if isinstance(instructions, str) and instructions:
            interaction.system_instructions.append(instructions)
        items = body.get("input")
        if isinstance(items, str):
            add_message(interaction, "user", items)
        elif isinstance(items, list):
            for item in items:
                if isinstance(item, str):
                    add_message(interaction, "user", item)
                elif isinstance(item, Mapping) and item.get("type", "message") == "message":
                    add_message(interaction, item.get("role"), item.get("content"))
        set_params(interaction, body, _PARAMS)
        text = body.get("text")
        fmt = text.get("format") if isinstance(text, Mapping) else None
        if isinstance(fmt, Mapping) and fmt.get("type") in ("json_object", "json_schema"):
            interaction.request_params[semconv.GEN_AI_OUTPUT_TYPE] = "json"

    def parse_response(self, body: Mapping[str, Any], interaction: Interaction) -> None:
        interaction.response_id = as_str(body.get("id"))
        interaction.response_model = as_str(body.get("model"))
        interaction.output_messages.clear()
        interaction.finish_reasons.clear()
        reason = _finish_reason(body)
        for item in as_list(body.get("output")):
            if isinstance(item, Mapping) and item.get("type") == "message":
                interaction.output_messages.append(
                    Message(
                        role=as_str(item.get("role")) or "assistant",
                        content=text_of(item.get("content")),
                        finish_reason=reason,
                    )
                )
        add_finish_reason(interaction, reason)
        usage = body.get("usage")
        if isinstance(usage, Mapping):
            interaction.input_tokens = as_int(usage.get("input_tokens"))
            interaction.output_tokens = as_int(usage.get("output_tokens"))
            details = usage.get("input_tokens_details")
            if isinstance(details, Mapping):
                interaction.cache_read_input_tokens = as_int(details.get("cached_tokens"))
        if body.get("status") == "failed":
            interaction.error_type = provider_error_type(body) or "response_failed"

    def stream_accumulator(self, interaction: Interaction, max_chars: int) -> StreamAccumulator:
        return _ResponsesStream(self, interaction, max_chars)


def _finish_reason(body: Mapping[str, Any]) -> str | None:
    status = body.get("status")
    if status == "completed":
        has_call = any(
            isinstance(item, Mapping) and item.get("type") == "function_call"
            for item in as_list(body.get("output"))
        )
        return "tool_calls" if has_call else "stop"
    if status == "incomplete":
        details = body.get("incomplete_details")
        reason = details.get("reason") if isinstance(details, Mapping) else None
        return _INCOMPLETE_REASONS.get(reason, reason) if isinstance(reason, str) else "incomplete"
    if status == "failed":
        return "error"
    return as_str(status)


class _ResponsesStream(StreamAccumulator):
    """Deltas build the text as it streams; the final ``response.*`` event's output replaces
    them."""

    _FINAL_EVENTS = ("response.completed", "response.incomplete", "response.failed")

    def __init__(self, wire: OpenAIResponses, interaction: Interaction, max_chars: int) -> None:
        super().__init__(interaction, max_chars)
        self._wire = wire
        self._texts: list[str] = []
        self._used = 0
        self._final = False

    def on_event(self, event: str | None, data: Any) -> None:
        if not isinstance(data, Mapping):
            return
        kind = as_str(data.get("type")) or event
        if kind == "error":
            self.interaction.error_type = (
                as_str(data.get("code")) or provider_error_type(data) or "stream_error"
            )
            self.complete = True
            return
        response = data.get("response")
        if kind in self._FINAL_EVENTS and isinstance(response, Mapping):
            self._wire.parse_response(response, self.interaction)
            self.complete = True
            # As in the SDK, the streamed text stands for an output the final event leaves out.
            self._final = isinstance(response.get("output"), list)
        elif kind == "response.created" and isinstance(response, Mapping):
            self.interaction.response_id = as_str(response.get("id"))
            self.interaction.response_model = as_str(response.get("model"))
        elif kind == "response.output_text.delta":
            delta = data.get("delta")
            if isinstance(delta, str):
                self._used = self.append(self._texts, delta, self._used)

    def finish(self) -> None:
        if not self._final and self._texts:
            self.interaction.output_messages.append(
                Message(role="assistant", content="".join(self._texts))
            )
