"""Provider wire formats: how each LLM API's requests, responses and streams look."""

from ai_incidents.capture.wire._base import StreamAccumulator, WireFormat, provider_error_type
from ai_incidents.capture.wire.anthropic_messages import AnthropicMessages
from ai_incidents.capture.wire.openai_chat import OpenAIChat
from ai_incidents.capture.wire.openai_completions import OpenAICompletions
from ai_incidents.capture.wire.openai_embeddings import OpenAIEmbeddings
from ai_incidents.capture.wire.openai_responses import OpenAIResponses

OPENAI_CHAT = OpenAIChat()
OPENAI_COMPLETIONS = OpenAICompletions()
OPENAI_RESPONSES = OpenAIResponses()
OPENAI_EMBEDDINGS = OpenAIEmbeddings()
ANTHROPIC_MESSAGES = AnthropicMessages()

WIRE_FORMATS: dict[str, WireFormat] = {
    wire.name: wire
    for wire in (
        OPENAI_CHAT,
        OPENAI_COMPLETIONS,
        OPENAI_RESPONSES,
        OPENAI_EMBEDDINGS,
        ANTHROPIC_MESSAGES,
    )
}

__all__ = [
    "ANTHROPIC_MESSAGES",
    "OPENAI_CHAT",
    "OPENAI_COMPLETIONS",
    "OPENAI_EMBEDDINGS",
    "OPENAI_RESPONSES",
    "WIRE_FORMATS",
    "StreamAccumulator",
    "WireFormat",
    "provider_error_type",
]
