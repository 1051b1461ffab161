"""The record of one LLM call that evaluators read in-process."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

from opentelemetry.trace import SpanContext

if TYPE_CHECKING:
    from ai_incidents.capture.gate import Decision


@dataclasses.dataclass
class Message:
    """One message: a role and its text (non-text parts are summarised by type)."""

    role: str
    content: str
    finish_reason: str | None = None


@dataclasses.dataclass(frozen=True)
class RetrievedDocument:
    """A document a retrieval step returned."""

    id: str | None = None
    text: str = ""
    score: float | None = None
    source: str | None = None
    timestamp: float | None = None
    """Unix time the document was written or last updated, when known."""


@dataclasses.dataclass
class Retrieval:
    """One retrieval step: its query and documents, and when it ran."""

    query: str
    documents: Sequence[RetrievedDocument]
    data_source_id: str | None = None
    performed_at: float = 0.0

    def max_age_s(self, now: float) -> float | None:
        """Age of the oldest document with a timestamp, in seconds, at ``now``."""
        ages = [now - d.timestamp for d in self.documents if d.timestamp is not None]
        return max(ages) if ages else None


@dataclasses.dataclass
class Interaction:
    """Everything captured about one LLM call: request, response, context and timing."""

    operation: str
    provider: str
    wire_format: str
    feature: str
    end_user: str | None = None
    session: str | None = None
    request_model: str | None = None
    stream: bool = False
    system_instructions: list[str] = dataclasses.field(default_factory=list)
    input_messages: list[Message] = dataclasses.field(default_factory=list)
    output_messages: list[Message] = dataclasses.field(default_factory=list)
    request_params: dict[str, object] = dataclasses.field(default_factory=dict)
    response_id: str | None = None
    response_model: str | None = None
    finish_reasons: list[str] = dataclasses.field(default_factory=list)
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    embedding_dimensions: int | None = None
    retrieval: Retrieval | None = None
    http_status: int | None = None
    error_type: str | None = None
    capture_error: str | None = None
    duration_s: float | None = None
    time_to_first_chunk_s: float | None = None
    stream_abandoned: bool = False
    response_unread: bool = False
    """The response body could not be read (undecodable or unparseable): what the answer
    was is unknown, so nothing judges it."""
    span_context: SpanContext | None = None
    containment: Decision | None = None
    """What containment did to this call (answered locally, or another model), if anything."""
    guardrail_review: float | None = None
    """The input guardrail's risk when it sent the call but queued its answer for review."""
    redactions: dict[str, int] = dataclasses.field(default_factory=dict)
    """What the output guardrail masked in the answer the app received, by kind."""

    @property
    def output_text(self) -> str:
        """The answer's text (all output messages joined)."""
        return "\n".join(m.content for m in self.output_messages if m.content)

    @property
    def last_user_text(self) -> str:
        """The text of the last user message: the question being answered."""
        for message in reversed(self.input_messages):
            if message.role == "user":
                return message.content
        return ""
