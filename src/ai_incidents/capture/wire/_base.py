"""What every provider wire format provides, and helpers they share."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any

from ai_incidents.capture._exportable import fits_int64
from ai_incidents.capture.interaction import Interaction, Message


class StreamAccumulator(abc.ABC):
    """Folds the server-sent events of one streamed response into an ``Interaction``."""

    def __init__(self, interaction: Interaction, max_chars: int) -> None:
        self.interaction = interaction
        self.max_chars = max_chars
        self.dropped_chars = 0
        self.complete = False
        """Whether the stream's closing event arrived: closing it after that is no abandon."""

    @abc.abstractmethod
    def on_event(self, event: str | None, data: Any) -> None:
        """Take one event: its ``event:`` name (if any) and its ``data:`` (JSON, else text)."""

    def finish(self) -> None:
        """The stream ended (fully read or not): complete the interaction from what was seen."""

    def append(self, parts: list[str], text: str, used: int) -> int:
        """Append ``text`` to ``parts`` within ``max_chars``; return the new length used."""
        room = self.max_chars - used
        if len(text) > room:
            self.dropped_chars += len(text) - max(room, 0)
            text = text[: max(room, 0)]
        if text:
            parts.append(text)
        return used + len(text)


class WireFormat(abc.ABC):
    """One provider API's request, response and stream formats."""

    name: str
    operation: str
    default_provider: str

    @abc.abstractmethod
    def accepts(self, body: Mapping[str, Any]) -> bool:
        """Whether a JSON request body sent to a matching path is this API's."""

    @abc.abstractmethod
    def parse_request(self, body: Mapping[str, Any], interaction: Interaction) -> None:
        """Fill the request side of ``interaction``."""

    @abc.abstractmethod
    def parse_response(self, body: Mapping[str, Any], interaction: Interaction) -> None:
        """Fill the response side of ``interaction`` from a complete JSON body."""

    @abc.abstractmethod
    def stream_accumulator(self, interaction: Interaction, max_chars: int) -> StreamAccumulator:
        """A fresh accumulator for one streamed response."""


def provider_error_type(body: Any) -> str | None:
    """The provider's error type in an error body, such as ``rate_limit_error``, else its
    code (OpenAI-compatible hosts send a number, such as ``400``)."""
    error = body.get("error") if isinstance(body, Mapping) else None
    if isinstance(error, Mapping):
        for key in ("type", "code"):
            value = error.get(key)
            if isinstance(value, str) and value:
                return value
        code = as_int(error.get("code"))
        if code is not None:
            return str(code)
    return None


def text_of(content: Any) -> str:
    """The text of a message's content: a string, or a list of typed parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, Mapping):
                text = part.get("text")
                if isinstance(text, str):
                    texts.append(text)
                elif isinstance(part.get("content"), (str, list)):
                    texts.append(text_of(part["content"]))
        return "\n".join(t for t in texts if t)
    return ""


def as_int(value: Any) -> int | None:
    """An integer OTLP can carry (a count past 64 bits is no count)."""
    if isinstance(value, int) and not isinstance(value, bool) and fits_int64(value):
        return value
    return None


def as_float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def set_params(interaction: Interaction, body: Mapping[str, Any], names: Mapping[str, str]) -> None:
    """Copy sampling parameters present in ``body`` (``body key -> semconv name``)."""
    for key, attribute in names.items():
        value = body.get(key)
        if isinstance(value, (int, float, str)) and not isinstance(value, bool):
            interaction.request_params[attribute] = value
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            interaction.request_params[attribute] = list(value)


def add_message(interaction: Interaction, role: Any, content: Any) -> None:
    role = role if isinstance(role, str) else "user"
    text = text_of(content)
    if role in ("system", "developer"):
        if text:
            interaction.system_instructions.append(text)
    else:
        interaction.input_messages.append(Message(role=role, content=text))


def add_finish_reason(interaction: Interaction, reason: Any) -> None:
    if isinstance(reason, str) and reason:
        interaction.finish_reasons.append(reason)
