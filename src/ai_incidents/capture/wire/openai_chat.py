"""OpenAI Chat Completions (``/v1/chat/completions``), spoken by most OpenAI-compatible servers."""

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
    "max_completion_tokens": semconv.GEN_AI_REQUEST_MAX_TOKENS,
    "temperature": semconv.GEN_AI_REQUEST_TEMPERATURE,
    "top_p": semconv.GEN_AI_REQUEST_TOP_P,
    "seed": semconv.GEN_AI_REQUEST_SEED,
}


def parse_openai_usage(usage: Any, interaction: Interaction) -> None:
    """Usage as Chat Completions and embeddings report it (``prompt_tokens`` ...)."""
    if not isinstance(usage, Mapping):
        return
    interaction.input_tokens = as_int(usage.get("prompt_tokens"))
    interaction.output_tokens = as_int(usage.get("completion_tokens"))
    details = usage.get("prompt_tokens_details")
    if isinstance(details, Mapping):
        interaction.cache_read_input_tokens = as_int(details.get("cached_tokens"))


def set_choice_count(interaction: Interaction, body: Mapping[str, Any]) -> None:
    """``n``, which the conventions record only when it is not 1."""
    count = as_int(body.get("n"))
    if count is not None and count != 1:
        interaction.request_params[semconv.GEN_AI_REQUEST_CHOICE_COUNT] = count


def response_format_type(body: Mapping[str, Any]) -> str | None:
    fmt = body.get("response_format")
    if isinstance(fmt, Mapping) and fmt.get("type") in ("json_object", "json_schema"):
        return "json"
    if isinstance(fmt, Mapping) and fmt.get("type") == "text":
        return "text"
    return None


class OpenAIChat(WireFormat):
    name = "openai.chat_completions"
    operation = semconv.OPERATION_CHAT
    default_provider = "openai"

    def accepts(self, body: Mapping[str, Any]) -> bool:
        return isinstance(body.get("messages"), list)

    def parse_request(self, body: Mapping[str, Any], interaction: Interaction) -> None:
        for message in as_list(body.get("messages")):
            if isinstance(message, Mapping):
                add_message(interaction, message.get("role"), message.get("content"))
        self._parse_params(body, interaction)
        output_type = response_format_type(body)
        if output_type:
            interaction.request_params[semconv.GEN_AI_OUTPUT_TYPE] = output_type

    def _parse_params(self, body: Mapping[str, Any], interaction: Interaction) -> None:
        """Model, stream flag and sampling parameters."""
        interaction.request_model = as_str(body.get("model")) or interaction.request_model
        interaction.stream = body.get("stream") is True
        set_params(interaction, body, _PARAMS)
        set_choice_count(interaction, body)
        stop = body.get("stop")
        if isinstance(stop, str):
            stop = [stop]
        set_params(interaction, {"stop": stop}, {"stop": semconv.GEN_AI_REQUEST_STOP_SEQUENCES})

    def choice_text(self, choice: Mapping[str, Any]) -> tuple[str | None, str]:
        """The role and text of one choice of a complete response."""
        message = choice.get("message")
        message = message if isinstance(message, Mapping) else {}
        return as_str(message.get("role")), text_of(message.get("content"))

    def delta_text(self, choice: Mapping[str, Any]) -> tuple[str | None, str | None]:
        """The role and text one streamed choice adds, if any."""
        delta = choice.get("delta")
        if not isinstance(delta, Mapping):
            return None, None
        return as_str(delta.get("role")), as_str(delta.get("content"))

    def parse_response(self, body: Mapping[str, Any], interaction: Interaction) -> None:
        interaction.response_id = as_str(body.get("id"))
        interaction.response_model = as_str(body.get("model"))
        for choice in as_list(body.get("choices")):
            if not isinstance(choice, Mapping):
                continue
            role, text = self.choice_text(choice)
            reason = as_str(choice.get("finish_reason"))
            interaction.output_messages.append(
                Message(role=role or "assistant", content=text, finish_reason=reason)
            )
            add_finish_reason(interaction, reason)
        parse_openai_usage(body.get("usage"), interaction)

    def stream_accumulator(self, interaction: Interaction, max_chars: int) -> StreamAccumulator:
        return _ChatStream(self, interaction, max_chars)


class _ChatStream(StreamAccumulator):
    def __init__(self, wire: OpenAIChat, interaction: Interaction, max_chars: int) -> None:
        super().__init__(interaction, max_chars)
        self._wire = wire
        self._texts: dict[int, list[str]] = {}
        self._roles: dict[int, str] = {}
        self._reasons: dict[int, str] = {}
        self._used = 0

    def on_event(self, event: str | None, data: Any) -> None:
        if data == "[DONE]":
            self.complete = True
            return
        if not isinstance(data, Mapping):
            return
        interaction = self.interaction
        if data.get("error"):
            # The SDKs raise here and read no further: the stream ended, in error.
            interaction.error_type = provider_error_type(data) or "stream_error"
            self.complete = True
        interaction.response_id = interaction.response_id or as_str(data.get("id"))
        interaction.response_model = interaction.response_model or as_str(data.get("model"))
        if data.get("usage"):
            parse_openai_usage(data["usage"], interaction)
        for choice in as_list(data.get("choices")):
            if not isinstance(choice, Mapping):
                continue
            index = as_int(choice.get("index")) or 0
            role, content = self._wire.delta_text(choice)
            if role:
                self._roles[index] = role
            if content:
                parts = self._texts.setdefault(index, [])
                self._used = self.append(parts, content, self._used)
            reason = as_str(choice.get("finish_reason"))
            if reason:
                self._reasons[index] = reason

    def finish(self) -> None:
        indexes = sorted(set(self._texts) | set(self._roles) | set(self._reasons))
        for index in indexes:
            reason = self._reasons.get(index)
            self.interaction.output_messages.append(
                Message(
                    role=self._roles.get(index, "assistant"),
                    content="".join(self._texts.get(index, ())),
                    finish_reason=reason,
                )
            )
            add_finish_reason(self.interaction, reason)
