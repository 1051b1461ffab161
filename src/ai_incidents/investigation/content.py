"""Recorded message content (the GenAI conventions' JSON attributes) as an ``Interaction``
the evaluators can judge again."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ai_incidents import semconv
from ai_incidents.capture.interaction import Interaction, Message


def interaction_from_content(
    content: Mapping[str, Any], feature: str = "unknown", model: str | None = None
) -> Interaction | None:
    """An interaction from ``gen_ai.system_instructions``, ``gen_ai.input.messages`` and
    ``gen_ai.output.messages`` (JSON strings, as exported); None without input messages."""
    inputs = messages(content.get(semconv.GEN_AI_INPUT_MESSAGES))
    if not inputs:
        return None
    return Interaction(
        operation=semconv.OPERATION_CHAT,
        provider="recorded",
        wire_format="recorded",
        feature=feature,
        request_model=model,
        response_model=model,
        system_instructions=system_instructions(content.get(semconv.GEN_AI_SYSTEM_INSTRUCTIONS)),
        input_messages=inputs,
        output_messages=messages(content.get(semconv.GEN_AI_OUTPUT_MESSAGES)),
    )


def answer(text: str, finish_reason: str | None = None) -> Message:
    return Message("assistant", text, finish_reason)


def messages(value: Any) -> list[Message]:
    """Messages of a ``gen_ai.*.messages`` value: the text parts of each, joined."""
    items = _parsed(value)
    found = []
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, dict) or not isinstance(item.get("role"), str):
            continue
        reason = item.get("finish_reason")
        found.append(
            Message(
                item["role"], _text(item.get("parts")), reason if isinstance(reason, str) else None
            )
        )
    return found


def system_instructions(value: Any) -> list[str]:
    parts = _parsed(value)
    text = _text(parts)
    return [text] if text else []


def message_dicts(items: list[Message]) -> list[dict[str, Any]]:
    """Messages in the GenAI conventions' shape (what ``messages`` reads back)."""
    return [{"role": m.role, "parts": [{"type": "text", "content": m.content}]} for m in items]


def _parsed(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _text(parts: Any) -> str:
    if not isinstance(parts, list):
        return ""
    return "".join(
        p["content"]
        for p in parts
        if isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("content"), str)
    )
