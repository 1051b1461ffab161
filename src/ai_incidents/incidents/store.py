"""The durable incident store: SQLite, shared safely by the processes that use one file.

Grouping happens here, inside one write transaction: a candidate joins the open incident of
its group (feature, failure mode, cause) when that was seen within the cooldown, raising its
severity if needed and adding examples; a resolved incident that recurs is reopened;
otherwise a new incident starts. Every change of status is kept in the history. Incidents
not yet delivered to a destination (each wrapped exporter is one) wait in ``deliveries``
with the version they were written at, and are found again after a restart; a delivery
only clears the version it carried, so a change made meanwhile is delivered too.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ai_incidents.config import Settings
from ai_incidents.incidents.model import (
    ACTION_BY_SEVERITY,
    SEVERITIES,
    Candidate,
    Incident,
    SpanRef,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS incidents (
    id TEXT PRIMARY KEY,
    group_key TEXT NOT NULL,
    failure_mode TEXT NOT NULL,
    severity TEXT NOT NULL,
    signals TEXT NOT NULL,
    feature TEXT NOT NULL,
    model TEXT NOT NULL,
    action TEXT NOT NULL,
    status TEXT NOT NULL,
    first_seen REAL NOT NULL,
    last_seen REAL NOT NULL,
    count INTEGER NOT NULL,
    evidence TEXT NOT NULL,
    examples TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS incidents_group ON incidents (group_key, last_seen);
CREATE TABLE IF NOT EXISTS deliveries (
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    destination TEXT NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (incident_id, destination)
);
CREATE TABLE IF NOT EXISTS status_history (
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    at REAL NOT NULL,
    status TEXT NOT NULL,
    note TEXT NOT NULL
);
"""
_SCHEMA_VERSION = 1
_MAX_EXAMPLES = 10


def _use_wal(db: sqlite3.Connection, attempts: int = 50) -> None:
    """Switch to write-ahead logging. Processes opening a new file at the same moment can
    find it locked (SQLite does not wait for this pragma), so it is retried."""
    for attempt in range(attempts):
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == attempts - 1:
                raise
            time.sleep(0.01 * (attempt + 1))


class IncidentStore:
    """Incidents in the SQLite file at ``path`` (created with its folder if needed)."""

    def __init__(
        self, path: str | os.PathLike[str], cooldown_s: float = Settings.incident_cooldown_s
    ):
        self.path = Path(path)
        self.cooldown_s = cooldown_s
        self.destinations: set[str] = set()
        """Where incidents are delivered (names of the wrapped exporters)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._create_or_upgrade()

    def _create_or_upgrade(self) -> None:
        """Create the tables, or bring a store written by an earlier version up to date
        (``PRAGMA user_version`` says which)."""
        with self._transaction() as db:
            if db.execute("PRAGMA user_version").fetchone()[0] >= _SCHEMA_VERSION:
                return
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            columns = {row["name"] for row in db.execute("PRAGMA table_info(incidents)")}
            if "version" not in columns:
                db.execute("ALTER TABLE incidents ADD COLUMN version INTEGER NOT NULL DEFAULT 1")
            db.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")

    def _connection(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.execute("PRAGMA busy_timeout=30000")
            _use_wal(db)
            db.row_factory = sqlite3.Row
            self._local.db = db
        return db

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def record(self, candidate: Candidate) -> Incident:
        """Group ``candidate`` into an incident, write it, and return the incident."""
        now = candidate.detected_at or time.time()
        with self._transaction() as db:
            row = db.execute(
                "SELECT * FROM incidents WHERE group_key = ? ORDER BY last_seen DESC LIMIT 1",
                (candidate.group_key,),
            ).fetchone()
            if row is not None and row["status"] == "resolved":
                return self._update(db, _incident(row), candidate, now, reopen=True)
            if row is not None and now - row["last_seen"] <= self.cooldown_s:
                return self._update(db, _incident(row), candidate, now)
            return self._insert(db, candidate, now)

    def _insert(self, db: sqlite3.Connection, candidate: Candidate, now: float) -> Incident:
        incident = Incident(
            id=f"inc-{uuid.uuid4().hex[:12]}",
            group_key=candidate.group_key,
            failure_mode=candidate.failure_mode,
            severity=candidate.severity,
            signals=candidate.signals,
            feature=candidate.feature,
            model=candidate.model,
            action=ACTION_BY_SEVERITY[candidate.severity],
            status="open",
            first_seen=now,
            last_seen=now,
            count=1,
            evidence=candidate.evidence,
            examples=candidate.examples[:_MAX_EXAMPLES],
            version=1,
        )
        db.execute(
            "INSERT INTO incidents (id, group_key, failure_mode, severity, signals, feature,"
            " model, action, status, first_seen, last_seen, count, evidence, examples, version)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,1)",
            (
                incident.id, incident.group_key, incident.failure_mode, incident.severity,
                ",".join(incident.signals), incident.feature, incident.model, incident.action,
                incident.status, now, now, 1, _json(incident.evidence),
                _examples_json(incident.examples),
            ),
        )  # fmt: skip
        self._history(db, incident.id, now, "open", "detected")
        self._to_deliver(db, incident.id, 1)
        incident.history = [(now, "open", "detected")]
        return incident

    def _update(
        self,
        db: sqlite3.Connection,
        incident: Incident,
        candidate: Candidate,
        now: float,
        reopen: bool = False,
    ) -> Incident:
        if SEVERITIES.index(candidate.severity) < SEVERITIES.index(incident.severity):
            incident.severity = candidate.severity
            incident.action = ACTION_BY_SEVERITY[candidate.severity]
        incident.signals = tuple(dict.fromkeys((*incident.signals, *candidate.signals)))
        incident.examples = tuple(dict.fromkeys((*candidate.examples, *incident.examples)))[
            :_MAX_EXAMPLES
        ]
        incident.evidence = candidate.evidence
        incident.count += 1
        incident.last_seen = max(incident.last_seen, now)
        incident.version += 1
        if reopen:
            incident.status = "open"
            self._history(db, incident.id, now, "open", "recurred after resolution")
        db.execute(
            "UPDATE incidents SET severity=?, action=?, signals=?, status=?, last_seen=?, count=?,"
            " evidence=?, examples=?, version=? WHERE id=?",
            (
                incident.severity, incident.action, ",".join(incident.signals), incident.status,
                incident.last_seen, incident.count, _json(incident.evidence),
                _examples_json(incident.examples), incident.version, incident.id,
            ),
        )  # fmt: skip
        self._to_deliver(db, incident.id, incident.version)
        return incident

    def _to_deliver(self, db: sqlite3.Connection, incident_id: str, version: int) -> None:
        db.executemany(
            "INSERT INTO deliveries (incident_id, destination, version) VALUES (?,?,?)"
            " ON CONFLICT (incident_id, destination)"
            " DO UPDATE SET version=excluded.version",
            [(incident_id, destination, version) for destination in self.destinations],
        )

    def set_status(self, incident_id: str, status: str, note: str = "") -> Incident:
        """Move an incident to ``open``, ``contained`` or ``resolved``."""
        if status not in ("open", "contained", "resolved"):
            raise ValueError(f"unknown status {status!r}")
        now = time.time()
        with self._transaction() as db:
            row = db.execute("SELECT version FROM incidents WHERE id=?", (incident_id,)).fetchone()
            if row is None:
                raise KeyError(incident_id)
            version = row["version"] + 1
            db.execute(
                "UPDATE incidents SET status=?, version=? WHERE id=?",
                (status, version, incident_id),
            )
            self._history(db, incident_id, now, status, note)
            self._to_deliver(db, incident_id, version)
        return self.get(incident_id)

    def mark_delivered(self, destination: str, incidents: list[Incident]) -> None:
        """``destination`` received these incidents (at the versions they carry)."""
        with self._transaction() as db:
            db.executemany(
                "DELETE FROM deliveries WHERE incident_id=? AND destination=? AND version<=?",
                [(i.id, destination, i.version) for i in incidents],
            )

    def pending_delivery(self, destination: str, limit: int = 100) -> list[Incident]:
        """Incidents whose latest state has not reached ``destination`` yet."""
        rows = self._connection().execute(
            "SELECT incidents.* FROM incidents JOIN deliveries ON deliveries.incident_id = id"
            " WHERE destination=? ORDER BY last_seen LIMIT ?",
            (destination, limit),
        )
        return [_incident(row) for row in rows]

    def get(self, incident_id: str) -> Incident:
        db = self._connection()
        row = db.execute("SELECT * FROM incidents WHERE id=?", (incident_id,)).fetchone()
        if row is None:
            raise KeyError(incident_id)
        incident = _incident(row)
        incident.history = [
            (h["at"], h["status"], h["note"])
            for h in db.execute(
                "SELECT * FROM status_history WHERE incident_id=? ORDER BY rowid", (incident_id,)
            )
        ]
        return incident

    def list(self, status: str | None = None, limit: int = 100) -> list[Incident]:
        query = "SELECT * FROM incidents"
        params: tuple = ()
        if status:
            query += " WHERE status=?"
            params = (status,)
        query += " ORDER BY last_seen DESC LIMIT ?"
        rows = self._connection().execute(query, (*params, limit))
        return [_incident(row) for row in rows]

    @staticmethod
    def _history(db: sqlite3.Connection, incident_id: str, at: float, status: str, note: str):
        db.execute("INSERT INTO status_history VALUES (?,?,?,?)", (incident_id, at, status, note))


def _json(value: object) -> str:
    return json.dumps(value, default=str, sort_keys=True)


def _examples_json(examples: tuple[SpanRef, ...]) -> str:
    return json.dumps([[e.trace_id, e.span_id] for e in examples])


def _incident(row: sqlite3.Row) -> Incident:
    return Incident(
        id=row["id"],
        group_key=row["group_key"],
        failure_mode=row["failure_mode"],
        severity=row["severity"],
        signals=tuple(s for s in row["signals"].split(",") if s),
        feature=row["feature"],
        model=row["model"],
        action=row["action"],
        status=row["status"],
        first_seen=row["first_seen"],
        last_seen=row["last_seen"],
        count=row["count"],
        evidence=json.loads(row["evidence"]),
        examples=tuple(SpanRef(t, s) for t, s in json.loads(row["examples"])),
        version=row["version"],
    )
