"""The flight recorder: one bounded row per LLM call in the store, for investigation and
postmortems.

A row holds what the span says about the call (time, feature, requested and response
model, fingerprints of the system instructions and prompt template, scores, flags,
retrieval statistics, tokens, latency, error type, trace and span ids, the end user's or
session's fingerprint); message content only when the app opted in to exporting it
(``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``). Rows are queued on the app's
thread (bounded, drops counted) and written in batches by the incident manager's worker;
rows older than ``max_age_s`` or beyond ``max_rows`` are deleted as it goes.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import sqlite3
import threading
import time
from collections.abc import Mapping
from typing import Any

from ai_incidents import semconv
from ai_incidents.detection.observation import as_count, as_number
from ai_incidents.incidents.store import IncidentStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    at REAL NOT NULL,
    feature TEXT NOT NULL,
    request_model TEXT NOT NULL,
    response_model TEXT NOT NULL,
    system_hash TEXT,
    context_hash TEXT,
    quality REAL,
    safety REAL,
    quality_flags TEXT NOT NULL,
    safety_categories TEXT NOT NULL,
    retrieval_flags TEXT NOT NULL,
    relevance REAL,
    documents INTEGER,
    data_source TEXT,
    max_age_s REAL,
    input_tokens INTEGER,
    output_tokens INTEGER,
    latency_s REAL NOT NULL,
    error TEXT,
    trace_id TEXT NOT NULL,
    span_id TEXT NOT NULL,
    user TEXT,
    response_id TEXT,
    content TEXT
);
CREATE INDEX IF NOT EXISTS calls_by_feature ON calls (feature, at);
CREATE INDEX IF NOT EXISTS calls_by_span ON calls (span_id)
"""
_MAX_QUEUE = 50_000
_PRUNE_EVERY_S = 60.0
_MAX_CONTENT_CHARS = 65_536
"""Content longer than this (as JSON) is not kept."""


@dataclasses.dataclass(frozen=True, slots=True)
class CallRecord:
    at: float
    feature: str
    request_model: str
    response_model: str
    system_hash: str | None
    context_hash: str | None
    quality: float | None
    safety: float | None
    quality_flags: tuple[str, ...]
    safety_categories: tuple[str, ...]
    retrieval_flags: tuple[str, ...]
    relevance: float | None
    documents: int | None
    data_source: str | None
    max_age_s: float | None
    input_tokens: int | None
    output_tokens: int | None
    latency_s: float
    error: str | None
    trace_id: str
    span_id: str
    user: str | None
    response_id: str | None
    content: str | None

    @classmethod
    def from_span(cls, observation: Any, attributes: Mapping[str, Any], at: float) -> CallRecord:
        """A row from a span's ``Observation`` and attributes (content only if exported)."""
        trace_id, span_id = observation.span.hex()
        return cls(
            at=at,
            feature=observation.feature,
            request_model=observation.requested_model,
            response_model=observation.model,
            system_hash=_text(attributes.get(semconv.AI_PROMPT_SYSTEM_HASH)),
            context_hash=_text(attributes.get(semconv.AI_PROMPT_CONTEXT_HASH)),
            quality=observation.quality_score,
            safety=observation.safety_score,
            quality_flags=observation.quality_flags,
            safety_categories=observation.safety_categories,
            retrieval_flags=observation.retrieval_flags,
            relevance=observation.retrieval_relevance,
            documents=as_count(attributes.get(semconv.AI_RETRIEVAL_DOCUMENT_COUNT)),
            data_source=_text(attributes.get(semconv.GEN_AI_DATA_SOURCE_ID)),
            max_age_s=as_number(attributes.get(semconv.AI_RETRIEVAL_MAX_AGE_S)),
            input_tokens=observation.input_tokens,
            output_tokens=observation.output_tokens,
            latency_s=observation.latency_s,
            error=_text(attributes.get(semconv.ERROR_TYPE)),
            trace_id=trace_id,
            span_id=span_id,
            user=observation.user,
            response_id=_text(observation.response_id),
            content=_content(attributes),
        )


class FlightRecorder:
    """Queues call rows (``add``, any thread) and writes them (``flush``, the worker)."""

    def __init__(self, store: IncidentStore, max_rows: int, max_age_s: float) -> None:
        self.store = store
        self.max_rows = max_rows
        self.max_age_s = max_age_s
        store.add_schema(SCHEMA)
        self.dropped = 0
        self._queue: collections.deque[CallRecord] = collections.deque()
        self._lock = threading.Lock()
        self._pruned_at = 0.0

    def add(self, record: CallRecord) -> None:
        if len(self._queue) >= _MAX_QUEUE:
            self.dropped += 1
            return
        self._queue.append(record)

    def flush(self) -> None:
        """Write what is queued, and now and then delete what is past the bounds."""
        with self._lock:
            self._write_queued()
            if time.monotonic() - self._pruned_at >= _PRUNE_EVERY_S:
                self._pruned_at = time.monotonic()
                self.store.write(self._prune)

    def _write_queued(self) -> None:
        rows = []
        while self._queue:
            rows.append(dataclasses.astuple(_as_row(self._queue.popleft())))
        if rows:
            marks = ",".join("?" * len(rows[0]))
            self.store.write(lambda db: db.executemany(f"INSERT INTO calls VALUES ({marks})", rows))

    def _prune(self, db: sqlite3.Connection) -> None:
        db.execute("DELETE FROM calls WHERE at < ?", (time.time() - self.max_age_s,))
        excess = db.execute("SELECT count(*) FROM calls").fetchone()[0] - self.max_rows
        if excess > 0:
            db.execute(
                "DELETE FROM calls WHERE rowid IN (SELECT rowid FROM calls ORDER BY at LIMIT ?)",
                (excess,),
            )

    def calls(self, feature: str, start: float, end: float) -> list[CallRecord]:
        """The recorded calls of ``feature`` between ``start`` and ``end``, oldest first
        (what this process queued is written first; nothing is pruned by reading)."""
        with self._lock:
            self._write_queued()
        rows = self.store.read(lambda db: db.execute(
            "SELECT * FROM calls WHERE feature=? AND at BETWEEN ? AND ? ORDER BY at",
            (feature, start, end),
        ).fetchall())  # fmt: skip
        return [_record(row) for row in rows]


def _as_row(record: CallRecord) -> CallRecord:
    return dataclasses.replace(
        record,
        quality_flags=json.dumps(record.quality_flags),  # type: ignore[arg-type]
        safety_categories=json.dumps(record.safety_categories),  # type: ignore[arg-type]
        retrieval_flags=json.dumps(record.retrieval_flags),  # type: ignore[arg-type]
    )


def _record(row: sqlite3.Row) -> CallRecord:
    values = dict(row)
    for name in ("quality_flags", "safety_categories", "retrieval_flags"):
        values[name] = tuple(json.loads(values[name]))
    return CallRecord(**values)


def _content(attributes: Mapping[str, Any]) -> str | None:
    parts = {
        name: attributes[name]
        for name in (semconv.GEN_AI_SYSTEM_INSTRUCTIONS, semconv.GEN_AI_INPUT_MESSAGES,
                     semconv.GEN_AI_OUTPUT_MESSAGES)
        if isinstance(attributes.get(name), str)
    }  # fmt: skip
    text = json.dumps(parts) if parts else None
    return text if text is not None and len(text) <= _MAX_CONTENT_CHARS else None


def _text(value: Any) -> str | None:
    return str(value) if value is not None and value != "" else None
