"""Answers given without calling the provider, in its wire format, while containment holds:
a provider-style error the SDKs do not retry (``x-should-retry: false``), or a configured
fallback answer as a normal completion (streamed when the request asked for a stream)."""

from __future__ import annotations

import json
import time
import uuid

from ai_incidents.capture.gate import Decision
from ai_incidents.capture.interaction import Interaction

_ERROR_STATUS = 503
_ERROR_TYPES = {"guardrail_blocked": "guardrail_blocked"}


def local_answer(interaction: Interaction, decision: Decision) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body to answer ``interaction`` with."""
    anthropic = interaction.wire_format.startswith("anthropic")
    if decision.fallback is not None and interaction.wire_format in _FALLBACKS:
        build = _FALLBACKS[interaction.wire_format]
        content_type, body = build(interaction, decision.fallback)
        return (
            200,
            {"content-type": content_type, "x-ai-incidents-contained": decision.incident_id},
            body,
        )
    if decision.action == "guardrail_blocked":
        message = (
            f"ai-incidents: the input guardrail blocked this request (injection risk"
            f" {decision.score or 0.0:.2f}); do not retry"
        )
    else:
        message = (
            f"ai-incidents: {interaction.feature!r} is disabled"
            f"{' for this user' if decision.scope == 'user' else ''} while incident"
            f" {decision.incident_id} is contained; do not retry"
        )
    kind = _ERROR_TYPES.get(decision.action, "feature_disabled")
    if anthropic:
        payload: dict = {"type": "error", "error": {"type": kind, "message": message}}
    else:
        payload = {"error": {"message": message, "type": kind, "code": "ai_incidents_contained"}}
    headers = {
        "content-type": "application/json",
        "x-should-retry": "false",
        "x-ai-incidents-contained": decision.incident_id,
    }
    return _ERROR_STATUS, headers, json.dumps(payload).encode()


def _model(interaction: Interaction) -> str:
    return interaction.request_model or "unknown"


def _openai_chat(interaction: Interaction, text: str) -> tuple[str, bytes]:
    completion_id = f"chatcmpl-contained-{uuid.uuid4().hex[:12]}"
    created = int(time.time())
    if not interaction.stream:
        body = {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": _model(interaction),
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        }  # fmt: skip
        return "application/json", json.dumps(body).encode()
    chunks = [
        {"delta": {"role": "assistant", "content": text}, "finish_reason": None},
        {"delta": {}, "finish_reason": "stop"},
    ]
    events = [
        {"id": completion_id, "object": "chat.completion.chunk", "created": created,
         "model": _model(interaction), "choices": [{"index": 0, **chunk}]}
        for chunk in chunks
    ]  # fmt: skip
    data = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)
    return "text/event-stream", data + b"data: [DONE]\n\n"


def _anthropic_messages(interaction: Interaction, text: str) -> tuple[str, bytes]:
    message_id = f"msg_contained_{uuid.uuid4().hex[:12]}"
    usage = {"input_tokens": 0, "output_tokens": 0}
    if not interaction.stream:
        body = {
            "id": message_id, "type": "message", "role": "assistant", "model": _model(interaction),
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
            "stop_sequence": None, "usage": usage,
        }  # fmt: skip
        return "application/json", json.dumps(body).encode()
    events = [
        ("message_start", {"type": "message_start", "message": {
            "id": message_id, "type": "message", "role": "assistant", "content": [],
            "model": _model(interaction), "stop_reason": None, "stop_sequence": None,
            "usage": usage}}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "text_delta", "text": text}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn",
                           "stop_sequence": None}, "usage": {"output_tokens": 0}}),
        ("message_stop", {"type": "message_stop"}),
    ]  # fmt: skip
    data = b"".join(
        f"event: {name}\ndata: {json.dumps(payload)}\n\n".encode() for name, payload in events
    )
    return "text/event-stream", data


_FALLBACKS = {
    "openai.chat_completions": _openai_chat,
    "anthropic.messages": _anthropic_messages,
}
