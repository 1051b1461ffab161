"""OpenAI legacy Completions (``/v1/completions``): a prompt in, text choices out, which the
GenAI conventions call ``text_completion``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ai_incidents import semconv
from ai_incidents.capture.interaction import Interaction, Message
from ai_incidents.capture.wire._base import as_str
from ai_incidents.capture.wire.openai_chat import OpenAIChat


class OpenAICompletions(OpenAIChat):
    """Chat Completions' responses and chunks, with ``text`` where chat has a message."""

    name = "openai.completions"
    operation = semconv.OPERATION_TEXT_COMPLETION

    def accepts(self, body: Mapping[str, Any]) -> bool:
        return "prompt" in body

    def parse_request(self, body: Mapping[str, Any], interaction: Interaction) -> None:
        prompt = body.get("prompt")
        for text in prompt if isinstance(prompt, list) else [prompt]:
            if isinstance(text, str):
                interaction.input_messages.append(Message(role="user", content=text))
        self._parse_params(body, interaction)

    def choice_text(self, choice: Mapping[str, Any]) -> tuple[str | None, str]:
        return None, as_str(choice.get("text")) or ""

    def delta_text(self, choice: Mapping[str, Any]) -> tuple[str | None, str | None]:
        return None, as_str(choice.get("text"))
