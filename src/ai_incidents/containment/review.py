"""Human review mode: while it is in force for a feature, its answers wait in a review queue
in the store; a reviewer approves or rejects each (``ai-incidents review``), and each
verdict is fed back as the user feedback of that answer (a rejection is a
``negative_feedback`` signal for detection).

The queue keeps what a reviewer needs, the question and the answer (each cut to a few KB),
on this host only, never in telemetry; secrets and personal data that the evaluators find
are masked before they are written. Capture's listener only queues in memory; the incident
manager's worker writes the queue and feeds verdicts back, so the app's thread does no I/O.
"""

from __future__ import annotations

import collections
import dataclasses
import sqlite3
import threading
import time
from collections.abc import Callable

from opentelemetry.trace import Span

from ai_incidents import semconv
from ai_incidents.capture.interaction import Interaction
from ai_incidents.containment.state import Action
from ai_incidents.evaluation.pii import mask_findings
from ai_incidents.incidents.store import IncidentStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS reviews (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id TEXT NOT NULL,
    feature TEXT NOT NULL,
    response_id TEXT,
    trace_id TEXT,
    span_id TEXT,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    created REAL NOT NULL,
    verdict TEXT,
    decided REAL,
    note TEXT NOT NULL DEFAULT '',
    fed_back INTEGER NOT NULL DEFAULT 0
)
"""
VERDICTS = ("approved", "rejected")
GUARDRAIL_REVIEW = "guardrail:input"
"""The incident id of answers the input guardrail queued (no incident stands behind them)."""
_MAX_CHARS = 4000
_MAX_WAITING = 1000


@dataclasses.dataclass(frozen=True)
class Review:
    id: int
    incident_id: str
    feature: str
    response_id: str | None
    trace_id: str | None
    span_id: str | None
    question: str
    answer: str
    created: float
    verdict: str | None
    note: str


class ReviewQueue:
    """Answers waiting for a reviewer, and their verdicts."""

    def __init__(self, store: IncidentStore) -> None:
        self.store = store
        store.add_schema(SCHEMA)
        self._waiting: collections.deque[tuple] = collections.deque(maxlen=_MAX_WAITING)
        self.dropped = 0
        self._lock = threading.Lock()

    def listener(self, in_review: Callable[[str], Action | None]) -> Callable:
        """The capture listener that queues the answers of features in review."""

        def queue_for_review(interaction: Interaction, span: Span) -> None:
            action = in_review(interaction.feature)
            incident_id = action.incident_id if action is not None else GUARDRAIL_REVIEW
            if interaction.guardrail_review is None and action is None:
                return
            if interaction.response_unread:
                return
            context = span.get_span_context()
            with self._lock:
                if len(self._waiting) == self._waiting.maxlen:
                    self.dropped += 1
                self._waiting.append((
                    incident_id, interaction.feature, interaction.response_id,
                    f"{context.trace_id:032x}", f"{context.span_id:016x}",
                    mask_findings(interaction.last_user_text[:_MAX_CHARS]),
                    mask_findings(interaction.output_text[:_MAX_CHARS]), time.time(),
                ))  # fmt: skip
            span.set_attribute(semconv.AI_CONTAINMENT_REVIEW, True)

        return queue_for_review

    def flush(self) -> None:
        """Write what was queued in memory (the manager's worker)."""
        with self._lock:
            rows, self._waiting = list(self._waiting), collections.deque(maxlen=_MAX_WAITING)
        if rows:
            self.store.write(lambda db: db.executemany(
                "INSERT INTO reviews (incident_id, feature, response_id, trace_id, span_id,"
                " question, answer, created) VALUES (?,?,?,?,?,?,?,?)", rows,
            ))  # fmt: skip

    def list(self, pending_only: bool = True, limit: int = 100) -> list[Review]:
        where = "WHERE verdict IS NULL" if pending_only else ""
        rows = self.store.read(lambda db: db.execute(
            f"SELECT * FROM reviews {where} ORDER BY id DESC LIMIT ?", (limit,)
        ).fetchall())  # fmt: skip
        return [_review(row) for row in rows]

    def decide(self, review_id: int, verdict: str, note: str = "") -> Review:
        """Record a reviewer's verdict on one queued answer."""
        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}")

        def write(db: sqlite3.Connection) -> sqlite3.Row:
            found = db.execute("SELECT * FROM reviews WHERE id=?", (review_id,)).fetchone()
            if found is None:
                raise KeyError(review_id)
            db.execute("UPDATE reviews SET verdict=?, decided=?, note=?, fed_back=0 WHERE id=?",
                       (verdict, time.time(), note, review_id))  # fmt: skip
            return db.execute("SELECT * FROM reviews WHERE id=?", (review_id,)).fetchone()

        return _review(self.store.write(write))

    def feed_back(self, record: Callable[[Review], None]) -> int:
        """Hand each verdict not yet fed back to ``record`` (as user feedback), once."""
        rows = self.store.read(lambda db: db.execute(
            "SELECT * FROM reviews WHERE verdict IS NOT NULL AND fed_back=0 ORDER BY id"
        ).fetchall())  # fmt: skip
        for row in rows:
            record(_review(row))
        if rows:
            self.store.write(lambda db: db.executemany(
                "UPDATE reviews SET fed_back=1 WHERE id=?", [(row["id"],) for row in rows]
            ))  # fmt: skip
        return len(rows)


def _review(row: sqlite3.Row) -> Review:
    return Review(**{field.name: row[field.name] for field in dataclasses.fields(Review)})
