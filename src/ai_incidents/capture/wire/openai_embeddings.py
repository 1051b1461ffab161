"""OpenAI embeddings (``/v1/embeddings``)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from ai_incidents import semconv
from ai_incidents.capture.interaction import Interaction, Message
from ai_incidents.capture.wire._base import StreamAccumulator, WireFormat, as_int, as_str
from ai_incidents.capture.wire.openai_chat import parse_openai_usage


class OpenAIEmbeddings(WireFormat):
    name = "openai.embeddings"
    operation = semconv.OPERATION_EMBEDDINGS
    default_provider = "openai"

    def accepts(self, body: Mapping[str, Any]) -> bool:
        return "input" in body

    def parse_request(self, body: Mapping[str, Any], interaction: Interaction) -> None:
        interaction.request_model = as_str(body.get("model")) or interaction.request_model
        inputs = body.get("input")
        texts = inputs if isinstance(inputs, list) else [inputs]
        for text in texts:
            if isinstance(text, str):
                interaction.input_messages.append(Message(role="user", content=text))
        dimensions = as_int(body.get("dimensions"))
        if dimensions:
            interaction.embedding_dimensions = dimensions

    def parse_response(self, body: Mapping[str, Any], interaction: Interaction) -> None:
        interaction.response_model = as_str(body.get("model"))
        data = body.get("data")
        if isinstance(data, list) and data and isinstance(data[0], Mapping):
            interaction.embedding_dimensions = _dimensions(data[0].get("embedding"))
        parse_openai_usage(body.get("usage"), interaction)

    def stream_accumulator(self, interaction: Interaction, max_chars: int) -> StreamAccumulator:
        raise NotImplementedError("embeddings are not streamed")


def _dimensions(embedding: Any) -> int | None:
    if isinstance(embedding, list):
        return len(embedding)
    if isinstance(embedding, str):
        try:
            return len(base64.b64decode(embedding, validate=True)) // 4
        except (binascii.Error, ValueError):
            return None
    return None
