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
import logging
import os
import socket
import sqlite3
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from ai_incidents.config import Settings
from ai_incidents.incidents.model import ACTION_BY_SEVERITY, Candidate, Incident, SpanRef, capped
from ai_incidents.incidents.severity import assess
from ai_incidents.incidents.summary import summarize

_T = TypeVar("_T")

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
CREATE TABLE IF NOT EXISTS destinations (
    name TEXT PRIMARY KEY,
    seen REAL NOT NULL
);
"""
_SCHEMA_VERSION = 4
STATUSES = ("open", "acknowledged", "contained", "resolved")
_ADDED_COLUMNS = {
    "version": "INTEGER NOT NULL DEFAULT 1",
    "users": "TEXT NOT NULL DEFAULT '[]'",
    "summary": "TEXT NOT NULL DEFAULT ''",
    "announced": "INTEGER NOT NULL DEFAULT 0",
}
_ADDED_DELIVERY_COLUMNS = {"owner": "TEXT", "lease": "REAL NOT NULL DEFAULT 0"}
LEASE_S = 60.0
"""A process's claim on the deliveries it owns lapses after this long without renewal:
another process (or the next run) then delivers them."""
_DESTINATION_TTL_S = 7 * 86400.0
"""A destination not seen for this long no longer gets status changes made elsewhere."""
_MAX_EXAMPLES = 10
_MAX_USERS = 1000
_DEFAULT_BUSY_TIMEOUT_S = 2.0
_RETRY_FILE_AFTER_S = 30.0
_STORE_ERRORS = (sqlite3.Error, OSError)

_logger = logging.getLogger(__name__)


class StoreUnavailable(Exception):
    """The store file cannot be read (missing, not a database, locked)."""


def _use_wal(db: sqlite3.Connection, timeout_s: float) -> None:
    """Switch to write-ahead logging. Processes opening a new file at the same moment can
    find it locked (SQLite does not always wait for this pragma), so it is retried until
    ``timeout_s`` has passed."""
    deadline = time.monotonic() + timeout_s
    attempt = 0
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() >= deadline:
                raise
            attempt += 1
            time.sleep(min(0.01 * attempt, 0.1))


class IncidentStore:
    """Incidents in the SQLite file at ``path``.

    The file is opened on first use (with its folder, unless ``create`` is false). When it
    cannot be used (read-only, a directory, corrupt, locked past ``busy_timeout_s``), a store
    that may ``fall_back`` keeps working in memory and logs the problem once; ``retry_file``
    tries the file again (at most every 30 s) and moves what was kept in memory into it. One
    that may not fall back raises ``StoreUnavailable``. One connection per process, reopened
    after a fork.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        cooldown_s: float = Settings.incident_cooldown_s,
        *,
        create: bool = True,
        fall_back: bool = True,
        busy_timeout_s: float = _DEFAULT_BUSY_TIMEOUT_S,
    ):
        self.path = Path(path)
        self.cooldown_s = cooldown_s
        self.create = create
        self.fall_back = fall_back
        self.busy_timeout_s = busy_timeout_s
        self.destinations: set[str] = set()
        """Where new incidents are to be delivered (keys of this process's outboxes)."""
        self.owner = _new_owner()
        """This process's name on the deliveries it claims (new in a forked child)."""
        self.schemas: list[str] = []
        """More tables, created with the store's own on every connection (containment)."""
        self.problem: str | None = None
        """Why the file is not in use right now (None while it is)."""
        self.fallbacks = 0
        """How many times the store fell back to memory."""
        self._lock = threading.RLock()
        self._opening = threading.Lock()
        """Held while a file is opened outside ``_lock`` (``retry_file``)."""
        before = weakref.WeakMethod(self._before_fork)
        parent = weakref.WeakMethod(self._after_fork_in_parent)
        child = weakref.WeakMethod(self._after_fork)
        os.register_at_fork(
            before=lambda: (before() or (lambda: None))(),
            after_in_parent=lambda: (parent() or (lambda: None))(),
            after_in_child=lambda: (child() or (lambda: None))(),
        )
        self._db: sqlite3.Connection | None = None
        self._inode: tuple[int, int] | None = None
        self._pid = 0
        self._in_memory = False
        self._retry_at = 0.0

    def _before_fork(self) -> None:
        """No thread may be inside SQLite when the process forks: a child would find the
        library's own mutexes held by a thread it does not have, and hang. Every SQLite
        call of the store runs under these locks, so holding them across the fork is enough."""
        self._opening.acquire()
        self._lock.acquire()

    def _after_fork_in_parent(self) -> None:
        self._lock.release()
        self._opening.release()

    def _after_fork(self) -> None:
        """In a forked child: fresh locks; the connection is reopened on first use (it
        belongs to the parent)."""
        self._lock = threading.RLock()
        self._opening = threading.Lock()
        self.owner = _new_owner()

    @property
    def in_memory(self) -> bool:
        return self._in_memory

    def _run(self, operation: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run ``operation`` on the connection; on a store error, fall back and run it again."""
        with self._lock:
            db = self._connection()
            try:
                return operation(db)
            except _STORE_ERRORS as error:
                if self._in_memory or not self.fall_back:
                    raise
                self._use_memory(error)
                return operation(self._connection())

    def _connection(self) -> sqlite3.Connection:
        if self._db is not None and self._pid == os.getpid():
            return self._db
        self._pid = os.getpid()
        self._db = None
        try:
            self._db = self._open_file()
            self._in_memory = False
            self._inode = _inode(self.path)
        except _STORE_ERRORS as error:
            if not self.fall_back:
                raise StoreUnavailable(f"{self.path}: {error}") from error
            self._use_memory(error)
        assert self._db is not None
        return self._db

    def _open_file(self) -> sqlite3.Connection:
        if self.create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif not self.path.is_file():
            raise FileNotFoundError(f"no incident store at {self.path}")
        db = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None,
                             check_same_thread=False)  # fmt: skip
        try:
            db.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_s * 1000)}")
            db.row_factory = sqlite3.Row
            if self.create:
                _use_wal(db, self.busy_timeout_s)
            else:
                db.execute("SELECT count(*) FROM incidents").fetchone()
            _create_or_upgrade(db, self.schemas)
        except BaseException:
            db.close()
            raise
        return db

    def _use_memory(self, error: BaseException) -> None:
        if self._db is not None and not self._in_memory:
            self._db.close()
        if not self._in_memory or self._db is None:
            db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
            db.row_factory = sqlite3.Row
            _create_or_upgrade(db, self.schemas)
            self._db = db
        self._in_memory = True
        self.fallbacks += 1
        self._retry_at = time.monotonic() + _RETRY_FILE_AFTER_S
        if self.problem is None:
            _logger.warning(
                "ai-incidents: the incident store %s cannot be used (%s); incidents are kept"
                " in memory and the file is tried again every %.0f s",
                self.path, error, _RETRY_FILE_AFTER_S,
            )  # fmt: skip
        self.problem = f"{type(error).__name__}: {error}"

    def retry_file(self) -> None:
        """The incident manager's worker calls this about every second: if the store fell
        back to memory and a retry is due, try the file again; if the file was removed or
        replaced under the open connection, make a new one. The file is opened without
        holding the store's lock, so writes go on (to memory) while it waits."""
        if self._pid != os.getpid() or self._db is None or not self.fall_back:
            return
        if self._in_memory:
            if time.monotonic() < self._retry_at:
                return
            self._retry_at = time.monotonic() + _RETRY_FILE_AFTER_S
        elif self._inode is None or self._inode == _inode(self.path):
            return
        else:
            _logger.warning("ai-incidents: the incident store %s was removed or replaced;"
                            " writing a new one", self.path)  # fmt: skip
        try:
            with self._opening:
                db = self._open_file()
        except _STORE_ERRORS:
            return
        with self._lock:
            old = self._db
            try:
                moved = _copy_into(old, db) if old is not None else 0
            except _STORE_ERRORS:
                db.close()
                return
            if old is not None:
                old.close()
            self._db, self._in_memory, self.problem = db, False, None
            self._inode = _inode(self.path)
        _logger.warning("ai-incidents: the incident store %s is in use (%d incidents moved"
                        " into it)", self.path, moved)  # fmt: skip

    def add_schema(self, schema: str) -> None:
        """Tables of another stage kept in this store (``CREATE ... IF NOT EXISTS``)."""
        with self._lock:
            self.schemas.append(schema)
            if self._db is not None:
                _create_or_upgrade(self._db, [schema])

    def write(self, operation: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run ``operation`` in one write transaction (falling back to memory as the store
        does)."""

        def in_transaction(db: sqlite3.Connection) -> _T:
            with self._transaction(db):
                return operation(db)

        return self._run(in_transaction)

    def read(self, operation: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run ``operation`` on the store's connection, outside a write transaction."""
        return self._run(operation)

    @contextmanager
    def _transaction(self, db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def record(self, candidate: Candidate) -> Incident:
        """Group ``candidate`` into an incident, write it, and return the incident."""
        return self.record_many([candidate])[0]

    def record_many(self, candidates: Sequence[Candidate]) -> list[Incident]:
        """Group each candidate into an incident, all in one transaction; the incidents in
        the candidates' order (one per candidate, repeats of a group share an id)."""

        if not candidates:
            return []
        return self.write(lambda db: [self._record(db, candidate) for candidate in candidates])

    def _record(self, db: sqlite3.Connection, candidate: Candidate) -> Incident:
        now = candidate.detected_at or time.time()
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
            severity=capped(candidate.severity, candidate.ceiling),
            signals=candidate.signals,
            feature=candidate.feature,
            model=candidate.model,
            action="",
            status="open",
            first_seen=now,
            last_seen=now,
            count=1,
            evidence=candidate.evidence,
            examples=candidate.examples[:_MAX_EXAMPLES],
            version=1,
            users=1 if candidate.user else 0,
        )
        incident.action = ACTION_BY_SEVERITY[incident.severity]
        incident.summary = summarize(incident)
        users = [candidate.user] if candidate.user else []
        db.execute(
            "INSERT INTO incidents (id, group_key, failure_mode, severity, signals, feature,"
            " model, action, status, first_seen, last_seen, count, evidence, examples, version,"
            " users, summary, announced) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,1,?,?,1)",
            (
                incident.id, incident.group_key, incident.failure_mode, incident.severity,
                ",".join(incident.signals), incident.feature, incident.model, incident.action,
                incident.status, now, now, 1, _json(incident.evidence),
                _examples_json(incident.examples), json.dumps(users), incident.summary,
            ),
        )  # fmt: skip
        note = f"detected: {incident.severity}"
        self._history(db, incident.id, now, "open", note)
        self._to_deliver(db, incident.id, 1)
        incident.history = [(now, "open", note)]
        return incident

    def _update(
        self,
        db: sqlite3.Connection,
        incident: Incident,
        candidate: Candidate,
        now: float,
        reopen: bool = False,
    ) -> Incident:
        users = json.loads(db.execute("SELECT users FROM incidents WHERE id=?",
                                      (incident.id,)).fetchone()[0])  # fmt: skip
        if candidate.user and candidate.user not in users and len(users) < _MAX_USERS:
            users.append(candidate.user)
        incident.users = len(users)
        incident.count += 1
        incident.last_seen = max(incident.last_seen, now)
        severity, why = assess(
            incident.severity,
            candidate.severity,
            candidate.ceiling,
            candidate.population,
            incident.count,
            incident.users,
            incident.last_seen - incident.first_seen,
        )
        if reopen:
            incident.status = "open"
            self._history(db, incident.id, now, "open", "recurred after resolution")
        if severity != incident.severity:
            note = f"escalated {incident.severity} -> {severity}: {why}"
            self._history(db, incident.id, now, incident.status, note)
            incident.severity = severity
            incident.action = ACTION_BY_SEVERITY[severity]
        incident.signals = tuple(dict.fromkeys((*incident.signals, *candidate.signals)))
        incident.examples = tuple(dict.fromkeys((*candidate.examples, *incident.examples)))[
            :_MAX_EXAMPLES
        ]
        incident.model = candidate.model
        incident.evidence = candidate.evidence
        incident.version += 1
        incident.summary = summarize(incident)
        db.execute(
            "UPDATE incidents SET severity=?, action=?, signals=?, status=?, last_seen=?, count=?,"
            " evidence=?, examples=?, version=?, model=?, users=?, summary=?, announced=?"
            " WHERE id=?",
            (
                incident.severity, incident.action, ",".join(incident.signals), incident.status,
                incident.last_seen, incident.count, _json(incident.evidence),
                _examples_json(incident.examples), incident.version, incident.model,
                json.dumps(users), incident.summary, incident.version, incident.id,
            ),
        )  # fmt: skip
        self._to_deliver(db, incident.id, incident.version)
        return incident

    def _to_deliver(
        self, db: sqlite3.Connection, incident_id: str, version: int, also: set[str] = frozenset()
    ) -> None:
        """Deliveries of this version: this process's destinations owned by it, the others
        (a status change made here for every known destination) by whoever claims them."""
        now = time.time()
        rows = [(incident_id, d, version, self.owner, now) for d in self.destinations]
        rows += [(incident_id, d, version, None, 0.0) for d in also - self.destinations]
        db.executemany(
            "INSERT INTO deliveries (incident_id, destination, version, owner, lease)"
            " VALUES (?,?,?,?,?) ON CONFLICT (incident_id, destination)"
            " DO UPDATE SET version=excluded.version, owner=excluded.owner, lease=excluded.lease",
            rows,
        )

    def claim_deliveries(self, destination: str) -> list[Incident]:
        """The incidents ``destination`` has still to receive that this process owns now:
        its own, and those nobody owns or whose owner's lease lapsed (claimed here)."""
        now = time.time()

        def claim(db: sqlite3.Connection) -> list[sqlite3.Row]:
            owners = [row[0] for row in db.execute(
                "SELECT DISTINCT owner FROM deliveries WHERE destination=? AND owner IS NOT NULL"
                " AND owner != ?", (destination, self.owner),
            )]  # fmt: skip
            gone = [owner for owner in owners if not _alive(owner)]
            db.executemany(
                "UPDATE deliveries SET owner=?, lease=? WHERE destination=? AND owner=?",
                [(self.owner, now, destination, owner) for owner in gone],
            )
            db.execute(
                "UPDATE deliveries SET owner=?, lease=? WHERE destination=? AND"
                " (owner IS NULL OR owner=? OR lease < ?)",
                (self.owner, now, destination, self.owner, now - LEASE_S),
            )
            return db.execute(
                "SELECT incidents.* FROM incidents JOIN deliveries ON deliveries.incident_id = id"
                " WHERE destination=? AND owner=? ORDER BY last_seen",
                (destination, self.owner),
            ).fetchall()

        return [_incident(row) for row in self.write(claim)]

    def release_leases(self) -> None:
        """Give up this process's claims (at shutdown: the next run takes them at once)."""
        self.write(lambda db: db.execute(
            "UPDATE deliveries SET owner=NULL, lease=0 WHERE owner=?", (self.owner,)
        ))  # fmt: skip

    def renew_leases(self) -> None:
        """Keep this process's claim on the deliveries it owns."""
        self.write(lambda db: db.execute(
            "UPDATE deliveries SET lease=? WHERE owner=?", (time.time(), self.owner)
        ))  # fmt: skip

    def claim_announcements(self) -> list[Incident]:
        """Changes no process has handed to its sinks yet (a status set by the CLI, or by
        containment), claimed by this process: each is announced once, by one process."""

        unannounced = "SELECT * FROM incidents WHERE version > announced"
        if not self._run(lambda db: db.execute(unannounced + " LIMIT 1").fetchone()):
            return []  # the common case, on every export: a read, no write transaction

        def claim(db: sqlite3.Connection) -> list[sqlite3.Row]:
            rows = db.execute(unannounced).fetchall()
            db.executemany(
                "UPDATE incidents SET announced=? WHERE id=? AND announced < ?",
                [(row["version"], row["id"], row["version"]) for row in rows],
            )
            return rows

        return [_incident(row) for row in self.write(claim)]

    def set_status(
        self, incident_id: str, status: str, note: str = "", action: str | None = None
    ) -> Incident:
        """Move an incident (its id, or a unique prefix) to one of ``STATUSES``, with a note
        in its history (and a new ``action``, if given); every destination any process
        delivers to receives the change."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}; one of {', '.join(STATUSES)}")
        found = self.get(incident_id)

        def write(db: sqlite3.Connection) -> None:
            row = db.execute("SELECT version FROM incidents WHERE id=?", (found.id,)).fetchone()
            version = row["version"] + 1
            db.execute(
                "UPDATE incidents SET status=?, action=?, version=? WHERE id=?",
                (status, action or found.action, version, found.id),
            )
            self._history(db, found.id, time.time(), status, note)
            known = {r["name"] for r in db.execute(
                "SELECT name FROM destinations WHERE seen >= ?",
                (time.time() - _DESTINATION_TTL_S,),
            )}  # fmt: skip
            self._to_deliver(db, found.id, version, known)

        self.write(write)
        return self.get(found.id)

    def register_destination(self, name: str) -> None:
        """``name`` is delivered to (status changes made by other processes reach it too)."""
        self.destinations.add(name)
        self.write(lambda db: db.execute(
            "INSERT INTO destinations (name, seen) VALUES (?, ?)"
            " ON CONFLICT (name) DO UPDATE SET seen=excluded.seen", (name, time.time())
        ))  # fmt: skip

    def mark_delivered(self, destination: str, incidents: Sequence[Incident]) -> None:
        """``destination`` received these incidents (at the versions they carry)."""

        if incidents:
            self.write(lambda db: db.executemany(
                "DELETE FROM deliveries WHERE incident_id=? AND destination=? AND version<=?",
                [(i.id, destination, i.version) for i in incidents],
            ))  # fmt: skip

    def pending_delivery(self, destination: str, limit: int = 10_000) -> list[Incident]:
        """Incidents whose latest state has not reached ``destination`` yet, oldest first."""
        rows = self._run(lambda db: db.execute(
            "SELECT incidents.* FROM incidents JOIN deliveries ON deliveries.incident_id = id"
            " WHERE destination=? ORDER BY last_seen LIMIT ?",
            (destination, limit),
        ).fetchall())  # fmt: skip
        return [_incident(row) for row in rows]

    def get(self, incident_id: str) -> Incident:
        """The incident with this id, or the only one whose id starts with it."""

        def read(db: sqlite3.Connection) -> tuple[sqlite3.Row, list[sqlite3.Row]]:
            rows = db.execute("SELECT * FROM incidents WHERE id=?", (incident_id,)).fetchall()
            if not rows:
                prefix = incident_id.replace("\\", "").replace("%", "").replace("_", "\\_")
                rows = db.execute(
                    "SELECT * FROM incidents WHERE id LIKE ? ESCAPE '\\' LIMIT 2",
                    (prefix + "%",),
                ).fetchall()
            if len(rows) != 1:
                raise KeyError(incident_id)
            history = db.execute(
                "SELECT * FROM status_history WHERE incident_id=? ORDER BY rowid",
                (rows[0]["id"],),
            ).fetchall()
            return rows[0], history

        row, history = self._run(read)
        incident = _incident(row)
        incident.history = [(h["at"], h["status"], h["note"]) for h in history]
        return incident

    def list(self, status: str | None = None, limit: int = 100) -> list[Incident]:
        query = "SELECT * FROM incidents"
        params: tuple = ()
        if status:
            query += " WHERE status=?"
            params = (status,)
        query += " ORDER BY last_seen DESC LIMIT ?"
        rows = self._run(lambda db: db.execute(query, (*params, limit)).fetchall())
        return [_incident(row) for row in rows]

    def close(self) -> None:
        with self._lock:
            if self._db is not None and self._pid == os.getpid():
                self._db.close()
            self._db = None

    @staticmethod
    def _history(db: sqlite3.Connection, incident_id: str, at: float, status: str, note: str):
        db.execute("INSERT INTO status_history VALUES (?,?,?,?)", (incident_id, at, status, note))


def _create_or_upgrade(db: sqlite3.Connection, schemas: Sequence[str] = ()) -> None:
    """Create the tables, or bring a store written by an earlier version up to date
    (``PRAGMA user_version`` says which); then the tables of ``schemas``."""
    db.execute("BEGIN IMMEDIATE")
    try:
        for schema in schemas:
            for statement in schema.split(";"):
                if statement.strip():
                    db.execute(statement)
        if db.execute("PRAGMA user_version").fetchone()[0] < _SCHEMA_VERSION:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            columns = {row[1] for row in db.execute("PRAGMA table_info(incidents)")}
            for name, definition in _ADDED_COLUMNS.items():
                if name not in columns:
                    db.execute(f"ALTER TABLE incidents ADD COLUMN {name} {definition}")
            columns = {row[1] for row in db.execute("PRAGMA table_info(deliveries)")}
            for name, definition in _ADDED_DELIVERY_COLUMNS.items():
                if name not in columns:
                    db.execute(f"ALTER TABLE deliveries ADD COLUMN {name} {definition}")
            db.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _new_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _alive(owner: str) -> bool:
    """Whether the process named by ``owner`` may still run (unknown hosts: yes)."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return True
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _inode(path: Path) -> tuple[int, int] | None:
    try:
        found = path.stat()
    except OSError:
        return None
    return found.st_dev, found.st_ino


def _copy_into(memory: sqlite3.Connection, db: sqlite3.Connection) -> int:
    """Copy every row of ``memory`` (another connection) into ``db``, table by table (the
    tables of other stages too); the number of incidents copied."""
    tables = [row[0] for row in memory.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
    )]  # fmt: skip
    db.execute("BEGIN IMMEDIATE")
    try:
        for table in tables:
            rows = memory.execute(f"SELECT * FROM {table}").fetchall()
            if rows:
                names = ", ".join(rows[0].keys())
                marks = ", ".join("?" * len(rows[0].keys()))
                verb = "INSERT" if table == "status_history" else "INSERT OR IGNORE"
                db.executemany(f"{verb} INTO {table} ({names}) VALUES ({marks})",
                               [tuple(row) for row in rows])  # fmt: skip
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return memory.execute("SELECT count(*) FROM incidents").fetchone()[0]


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
        users=len(json.loads(row["users"])),
        summary=row["summary"],
    )
