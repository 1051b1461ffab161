"""Record a RAG retrieval step: a ``retrieval`` span, and documents for the next LLM call."""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace

from ai_incidents import semconv
from ai_incidents.capture._telemetry import get_telemetry
from ai_incidents.capture.content import telemetry_json
from ai_incidents.capture.context import current_feature, set_current_retrieval
from ai_incidents.capture.interaction import Retrieval, RetrievedDocument
from ai_incidents.config import get_settings

DocumentLike = RetrievedDocument | Mapping[str, Any] | str


class RetrievalStep:
    """A retrieval in progress; set ``documents`` before the block ends."""

    def __init__(self, query: str, data_source_id: str | None) -> None:
        self.query = query
        self.data_source_id = data_source_id
        self.documents: list[DocumentLike] = []

    def add(self, *documents: DocumentLike) -> None:
        self.documents.extend(documents)


@contextmanager
def retrieval(query: str, *, data_source_id: str | None = None) -> Iterator[RetrievalStep]:
    """Time a retrieval step as a ``retrieval`` span; its documents reach the next LLM call.

    >>> with retrieval("refund policy", data_source_id="kb") as step:  # doctest: +SKIP
    ...     step.documents = search("refund policy")
    """
    step = RetrievalStep(query, data_source_id)
    telemetry = get_telemetry()
    name = _span_name(data_source_id)
    with telemetry.tracer.start_as_current_span(name, kind=trace.SpanKind.CLIENT) as span:
        yield step
        _finish(span, step.query, step.documents, step.data_source_id)


def record_retrieval(
    query: str,
    documents: Iterable[DocumentLike],
    *,
    data_source_id: str | None = None,
) -> Retrieval:
    """Record a retrieval that already happened; its documents reach the next LLM call."""
    telemetry = get_telemetry()
    with telemetry.tracer.start_as_current_span(
        _span_name(data_source_id), kind=trace.SpanKind.CLIENT
    ) as span:
        return _finish(span, query, list(documents), data_source_id)


def _span_name(data_source_id: str | None) -> str:
    op = semconv.OPERATION_RETRIEVAL
    return f"{op} {data_source_id}" if data_source_id else op


def _finish(
    span: trace.Span, query: str, documents: list[DocumentLike], data_source_id: str | None
) -> Retrieval:
    now = time.time()
    record = Retrieval(
        query=query if isinstance(query, str) else str(query),
        documents=[to_document(d, now) for d in documents],
        data_source_id=data_source_id,
        performed_at=now,
    )
    set_current_retrieval(record)
    if not span.is_recording():
        return record
    span.set_attribute(semconv.GEN_AI_OPERATION_NAME, semconv.OPERATION_RETRIEVAL)
    span.set_attribute(semconv.AI_RETRIEVAL_DOCUMENT_COUNT, len(record.documents))
    feature = current_feature() or get_settings().feature
    if feature:
        span.set_attribute(semconv.AI_FEATURE_NAME, feature)
    if data_source_id:
        span.set_attribute(semconv.GEN_AI_DATA_SOURCE_ID, data_source_id)
    max_age = record.max_age_s(now)
    if max_age is not None:
        span.set_attribute(semconv.AI_RETRIEVAL_MAX_AGE_S, max_age)
    if get_settings().capture_content.on_span:
        span.set_attribute(semconv.GEN_AI_RETRIEVAL_QUERY_TEXT, record.query)
        span.set_attribute(
            semconv.GEN_AI_RETRIEVAL_DOCUMENTS,
            telemetry_json(
                [{"id": d.id, "score": d.score, "content": d.text} for d in record.documents]
            ),
        )
    return record


def to_document(value: DocumentLike, now: float | None = None) -> RetrievedDocument:
    """A ``RetrievedDocument`` from one, from a mapping, or from plain text.

    Mappings may name the text ``text``, ``content`` or ``page_content``, and the time
    ``timestamp`` (Unix seconds, ISO 8601 text or ``datetime``) or ``age_s``.
    """
    if isinstance(value, RetrievedDocument):
        return value
    if isinstance(value, str):
        return RetrievedDocument(text=value)
    if not isinstance(value, Mapping):
        raise TypeError(f"a document is a RetrievedDocument, a mapping or text, not {value!r}")
    text = next(
        (value[k] for k in ("text", "content", "page_content") if isinstance(value.get(k), str)),
        "",
    )
    metadata = value.get("metadata")
    metadata = metadata if isinstance(metadata, Mapping) else {}
    timestamp = _timestamp(value.get("timestamp", metadata.get("timestamp")))
    age = value.get("age_s")
    if timestamp is None and isinstance(age, (int, float)):
        timestamp = (time.time() if now is None else now) - float(age)
    score = value.get("score")
    doc_id = value.get("id", metadata.get("id"))
    source = value.get("source", metadata.get("source"))
    return RetrievedDocument(
        id=None if doc_id is None else str(doc_id),
        text=text,
        score=float(score) if isinstance(score, (int, float)) else None,
        source=None if source is None else str(source),
        timestamp=timestamp,
    )


def _timestamp(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value.timestamp()
    if isinstance(value, str):
        try:
            return _timestamp(datetime.datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return None
    return None
