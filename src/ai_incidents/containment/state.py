"""Containment state: the actions in force, kept in the incident store (so every process of a
host shares them) and mirrored in memory for the app's path.

Each action is a row: which incident, which feature, what (``feature_disabled``,
``rolled_back``, ``review_mode``, ``monitoring``), for whom (``*`` or one user or session
fingerprint), until when, by whom and why; undoing it sets when it ended. ``refresh`` reads
the rows in force into a snapshot (the incident manager's worker calls it every second, so
a change made by another process or the CLI takes effect here within about a second);
lookups on the app's path read only the snapshot: a dictionary lookup.
"""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence

from ai_incidents.containment.policy import EVERYONE, Plan
from ai_incidents.incidents.store import IncidentStore

_logger = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS containment (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id TEXT NOT NULL,
    feature TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    model TEXT,
    started REAL NOT NULL,
    until REAL,
    ended REAL,
    actor TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS containment_in_force ON containment (ended, feature)
"""


@dataclasses.dataclass(frozen=True)
class Action:
    """One containment action in force (or, with ``ended``, one that was)."""

    id: int
    incident_id: str
    feature: str
    action: str
    subject: str
    model: str | None
    started: float
    until: float | None
    ended: float | None
    actor: str
    reason: str


@dataclasses.dataclass
class FeatureContainment:
    """What is in force for one feature, for lookups on the app's path."""

    disabled: Action | None = None
    blocked: dict[str, Action] = dataclasses.field(default_factory=dict)
    """User or session fingerprint -> the action blocking it."""
    model: Action | None = None
    review: Action | None = None
    monitoring: Action | None = None


class ContainmentState:
    """The actions in force, in the store and as a snapshot (see the module docstring)."""

    def __init__(self, store: IncidentStore) -> None:
        self.store = store
        store.add_schema(SCHEMA)
        self._snapshot: dict[str, FeatureContainment] = {}
        self._signature: tuple = ()
        self._lock = threading.Lock()
        self._listeners: list[Callable[[dict[str, FeatureContainment]], None]] = []

    def on_change(self, listener: Callable[[dict[str, FeatureContainment]], None]) -> None:
        """Call ``listener`` with the snapshot whenever what is in force changes."""
        self._listeners.append(listener)

    def get(self, feature: str) -> FeatureContainment | None:
        """What is in force for ``feature`` (None: nothing): the app's path."""
        return self._snapshot.get(feature)

    def snapshot(self) -> dict[str, FeatureContainment]:
        return self._snapshot

    def apply(
        self, incident_id: str, plans: Sequence[Plan], actor: str, until: float | None = None
    ) -> list[Action]:
        """Put ``plans`` in force (those not in force already for this incident)."""
        now = time.time()

        def write(db: sqlite3.Connection) -> list[int]:
            added = []
            for plan in plans:
                found = db.execute(
                    "SELECT id FROM containment WHERE incident_id=? AND action=? AND subject=?"
                    " AND ended IS NULL AND (until IS NULL OR until > ?)",
                    (incident_id, plan.action, plan.subject, now),
                ).fetchone()
                if found is None:
                    cursor = db.execute(
                        "INSERT INTO containment (incident_id, feature, action, subject, model,"
                        " started, until, actor, reason) VALUES (?,?,?,?,?,?,?,?,?)",
                        (incident_id, plan.feature, plan.action, plan.subject, plan.model, now,
                         until if plan.action == "monitoring" else None, actor, plan.reason),
                    )  # fmt: skip
                    added.append(cursor.lastrowid)
            return added

        added = self.store.write(write)
        self.refresh()
        return [a for a in self.history(incident_id) if a.id in added]

    def end(self, incident_id: str, actor: str, note: str = "") -> list[Action]:
        """Undo every action in force for ``incident_id``; the actions undone."""
        in_force = [a for a in self.history(incident_id) if a.ended is None]
        now = time.time()

        def write(db: sqlite3.Connection) -> None:
            db.executemany(
                "UPDATE containment SET ended=?, reason=reason || ? WHERE id=?",
                [(now, f"; undone by {actor}{': ' + note if note else ''}", a.id)
                 for a in in_force],
            )  # fmt: skip

        if in_force:
            self.store.write(write)
            self.refresh()
        return in_force

    def history(self, incident_id: str) -> list[Action]:
        """Every action taken for ``incident_id``, oldest first."""
        rows = self.store.read(lambda db: db.execute(
            "SELECT * FROM containment WHERE incident_id=? ORDER BY id", (incident_id,)
        ).fetchall())  # fmt: skip
        return [_action(row) for row in rows]

    def in_force(self) -> list[Action]:
        now = time.time()
        rows = self.store.read(lambda db: db.execute(
            "SELECT * FROM containment WHERE ended IS NULL AND (until IS NULL OR until > ?)"
            " ORDER BY id", (now,)
        ).fetchall())  # fmt: skip
        return [_action(row) for row in rows]

    def refresh(self) -> bool:
        """Read what is in force into the snapshot; True when it changed."""
        try:
            actions = self.in_force()
        except Exception:
            _logger.debug("ai-incidents could not read containment state", exc_info=True)
            return False
        signature = tuple(a.id for a in actions)
        with self._lock:
            if signature == self._signature:
                return False
            self._signature = signature
            snapshot: dict[str, FeatureContainment] = {}
            for action in actions:
                _add(snapshot.setdefault(action.feature, FeatureContainment()), action)
            self._snapshot = snapshot
        for listener in self._listeners:
            try:
                listener(snapshot)
            except Exception:
                _logger.exception("ai-incidents containment listener %r failed", listener)
        return True


def _add(feature: FeatureContainment, action: Action) -> None:
    if action.action == "feature_disabled":
        if action.subject == EVERYONE:
            feature.disabled = feature.disabled or action
        else:
            feature.blocked.setdefault(action.subject, action)
    elif action.action == "rolled_back":
        feature.model = action
    elif action.action == "review_mode":
        feature.review = feature.review or action
    elif action.action == "monitoring":
        feature.monitoring = feature.monitoring or action


def _action(row: sqlite3.Row) -> Action:
    return Action(**{field.name: row[field.name] for field in dataclasses.fields(Action)})
