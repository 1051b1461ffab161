"""Anthropic Messages (``/v1/messages``), plain and streamed."""

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
    "max_tokens": semconv.GEN_AI_REQUEST_MAX_TOKENS,
    "temperature": semconv.GEN_AI_REQUEST_TEMPERATURE,
    "top_p": semconv.GEN_AI_REQUEST_TOP_P,
    "stop_sequences": semconv.GEN_AI_REQUEST_STOP_SEQUENCES,
}


def _parse_usage(usage: Any, interaction: Interaction) -> None:
    """Anthropic counts cached input apart; the conventions' input tokens include it."""
    if not isinstance(usage, Mapping):
        return
    uncached = as_int(usage.get("input_tokens"))
    cache_read = as_int(usage.get("cache_read_input_tokens"))
    cache_creation = as_int(usage.get("cache_creation_input_tokens"))
    if uncached is not None:
        interaction.input_tokens = uncached + (cache_read or 0) + (cache_creation or 0)
    if cache_read is not None:
        interaction.cache_read_input_tokens = cache_read
    if cache_creation is not None:
        interaction.cache_creation_input_tokens = cache_creation
    output = as_int(usage.get("output_tokens"))
    if output is not None:
        interaction.output_tokens = output


def _answer_text(content: Any) -> str:
    """The answer: the ``text`` blocks as one text, the way the provider wrote them (thinking,
    compaction summaries, tool use and tool results are not the answer)."""
    if isinstance(content, str):
        return content
    return "".join(
        block["text"]
        for block in as_list(content)
        if isinstance(block, Mapping)
        and block.get("type") == "text"
        and isinstance(block.get("text"), str)
    )


class AnthropicMessages(WireFormat):
    name = "anthropic.messages"
    operation = semconv.OPERATION_CHAT
    default_provider = "anthropic"

    def accepts(self, body: Mapping[str, Any]) -> bool:
        return isinstance(body.get("messages"), list)

    def parse_request(self, body: Mapping[str, Any], interaction: Interaction) -> None:
        interaction.request_model = as_str(body.get("model")) or interaction.request_model
        interaction.stream = body.get("stream") is True
        system = text_of(body.get("system"))
        if system:
            interaction.system_instructions.append(system)
        for message in as_list(body.get("messages")):
            if isinstance(message, Mapping):
                add_message(interaction, message.get("role"), message.get("content"))
        set_params(interaction, body, _PARAMS)

    def parse_response(self, body: Mapping[str, Any], interaction: Interaction) -> None:
        interaction.response_id = as_str(body.get("id"))
        interaction.response_model = as_str(body.get("model"))
        reason = as_str(body.get("stop_reason"))
        interaction.output_messages.append(
            Message(
                role=as_str(body.get("role")) or "assistant",
                content=_answer_text(body.get("content")),
                finish_reason=reason,
            )
        )
        add_finish_reason(interaction, reason)
        _parse_usage(body.get("usage"), interaction)

    def stream_accumulator(self, interaction: Interaction, max_chars: int) -> StreamAccumulator:
        return _MessagesStream(interaction, max_chars)


class _MessagesStream(StreamAccumulator):
    def __init__(self, interaction: Interaction, max_chars: int) -> None:
        super().__init__(interaction, max_chars)
        self._texts: list[str] = []
        self._used = 0
        self._reason: str | None = None
        self._started = False

    def on_event(self, event: str | None, data: Any) -> None:
        if not isinstance(data, Mapping):
            return
        kind = as_str(data.get("type")) or event
        if kind == "message_start":
            message = data.get("message")
            if isinstance(message, Mapping):
                self._started = True
                self.interaction.response_id = as_str(message.get("id"))
                self.interaction.response_model = as_str(message.get("model"))
                _parse_usage(message.get("usage"), self.interaction)
        elif kind == "content_block_start":
            block = data.get("content_block")
            self._used = self.append(self._texts, _answer_text([block]), self._used)
        elif kind == "content_block_delta":
            delta = data.get("delta")
            if (
                isinstance(delta, Mapping)
                and delta.get("type") == "text_delta"
                and isinstance(delta.get("text"), str)
            ):
                self._used = self.append(self._texts, delta["text"], self._used)
        elif kind == "message_delta":
            delta = data.get("delta")
            if isinstance(delta, Mapping) and as_str(delta.get("stop_reason")):
                self._reason = delta["stop_reason"]
            _parse_usage(data.get("usage"), self.interaction)
        elif kind == "message_stop":
            self.complete = True
        elif kind == "error":
            # The stream ends here, in error: the SDK raises and reads no further.
            self.interaction.error_type = provider_error_type(data) or "stream_error"
            self.complete = True

    def finish(self) -> None:
        if self._started or self._texts:
            self.interaction.output_messages.append(
                Message(role="assistant", content="".join(self._texts), finish_reason=self._reason)
            )
        add_finish_reason(self.interaction, self._reason)
