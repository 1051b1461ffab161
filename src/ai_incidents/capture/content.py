"""Message content in telemetry, only where the user opted in (GenAI content conventions)."""

from __future__ import annotations

import json
from typing import Any

from opentelemetry import _logs, trace
from opentelemetry.trace import Span

from ai_incidents import semconv
from ai_incidents.capture import _exportable
from ai_incidents.capture.interaction import Interaction, Message


def telemetry_json(value: Any) -> str:
    """``value`` as JSON for a telemetry attribute: text as it is, but escaped when it holds a
    lone surrogate, which UTF-8 (and so OTLP) cannot carry: one such message would otherwise
    make the exporter drop its whole batch of spans."""
    text = json.dumps(value, ensure_ascii=False)
    if text.isascii():
        return text
    try:
        text.encode()
    except UnicodeEncodeError:
        return json.dumps(value)
    return text


def _message(message: Message) -> dict[str, Any]:
    item: dict[str, Any] = {
        "role": message.role,
        "parts": [{"type": "text", "content": message.content}],
    }
    if message.finish_reason is not None:
        item["finish_reason"] = message.finish_reason
    return item


def content_attributes(interaction: Interaction) -> dict[str, str]:
    """``gen_ai.input.messages``, ``gen_ai.output.messages`` and system instructions as JSON."""
    attributes = {
        semconv.GEN_AI_INPUT_MESSAGES: telemetry_json(
            [_message(m) for m in interaction.input_messages]
        ),
        semconv.GEN_AI_OUTPUT_MESSAGES: telemetry_json(
            [_message(m) for m in interaction.output_messages]
        ),
    }
    if interaction.system_instructions:
        attributes[semconv.GEN_AI_SYSTEM_INSTRUCTIONS] = telemetry_json(
            [{"type": "text", "content": text} for text in interaction.system_instructions]
        )
    return attributes


def emit_event(logger: _logs.Logger, interaction: Interaction, span: Span) -> None:
    """The ``gen_ai.client.inference.operation.details`` event, in the span's context."""
    attributes: dict[str, Any] = {
        semconv.GEN_AI_OPERATION_NAME: interaction.operation,
        semconv.GEN_AI_PROVIDER_NAME: interaction.provider,
        semconv.GEN_AI_REQUEST_MODEL: interaction.request_model,
        **content_attributes(interaction),
    }
    logger.emit(
        event_name=semconv.GEN_AI_CLIENT_INFERENCE_OPERATION_DETAILS,
        attributes=_exportable.attributes(attributes),
        context=trace.set_span_in_context(span),
    )
