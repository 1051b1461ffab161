"""``IncidentManager``: from detection's candidates to stored incidents and their deliveries,
off the app's thread.

Shaped like the OpenTelemetry SDK's batch processor: a bounded ``deque`` filled on the
caller's thread (``submit``: never blocks; the oldest candidate is dropped and counted when
it is full) and one daemon worker that wakes when work arrives, waits ``schedule_delay_s``
to batch, then groups the batch into incidents in one store transaction. So an incident is
stored within about ``schedule_delay_s`` of its detection, whatever happens to its span.

Each stored change is handed to the sinks (log events, metrics, later containment and
notifications) and put in the outbox of every destination (a span exporter, keyed by its
endpoint). The outboxes are mirrored from the store's ``deliveries`` table, so what a crash
or an outage kept from a destination is delivered after it. An exporter takes a span's own
incidents (``incidents_for_span``) to attach as events; the rest (population incidents,
incidents whose span was dropped or not sampled, backlogs) it takes as ``standalone``.
Exporters never touch the store: delivery receipts go through the queue too.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Sequence

from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY, attach, detach, set_value

from ai_incidents.incidents.model import Candidate, Incident
from ai_incidents.incidents.store import IncidentStore

_logger = logging.getLogger(__name__)

_DEFAULT_MAX_QUEUE = 10_000
_DEFAULT_SCHEDULE_DELAY_S = 0.2
_SPAN_WAIT_S = 30.0
"""How long an incident waits for its span to be exported before it travels on its own."""
_MAX_WAITING_SPANS = 10_000
_POLL_S = 1.0
"""The worker wakes at least this often: changes other processes (the CLI) made to the
store reach this process's sinks and outboxes within about that long."""
_MAX_KNOWN_VERSIONS = 10_000
_CLAIM_EVERY_S = 10.0
"""How often leases on deliveries are renewed, and lapsed ones claimed."""


@dataclasses.dataclass(frozen=True)
class IncidentChange:
    """One stored change of an incident, as the sinks receive it."""

    incident: Incident
    detections: int = 0
    """How many detections this change grouped (0: a change made elsewhere, e.g. a status)."""
    users: tuple[str, ...] = ()
    """Fingerprints of the end users or sessions of those detections."""
    population: bool = False
    """Whether the evidence is population-level (a share of calls), not single requests."""


IncidentSink = Callable[[IncidentChange], None]
Ticker = Callable[[], None]
"""Called by the worker about every second (containment refreshes its snapshot)."""


class _Receipt:
    """A delivery, to be written to the store by the worker."""

    __slots__ = ("destination", "incidents")

    def __init__(self, destination: str, incidents: Sequence[Incident]) -> None:
        self.destination = destination
        self.incidents = incidents


class IncidentManager:
    """Groups, stores and routes incidents; see the module docstring."""

    def __init__(
        self,
        store: IncidentStore,
        max_queue: int = _DEFAULT_MAX_QUEUE,
        schedule_delay_s: float = _DEFAULT_SCHEDULE_DELAY_S,
        span_wait_s: float = _SPAN_WAIT_S,
    ) -> None:
        self.store = store
        self.max_queue = max_queue
        self.schedule_delay_s = schedule_delay_s
        self.span_wait_s = span_wait_s
        self.dropped = 0
        """Candidates dropped because the queue was full."""
        self.store_errors = 0
        """Batches the store could not write (not even in memory); they are retried."""
        self.rejected = 0
        """Candidates the store refused on their own (dropped, logged once)."""
        self._sinks: list[IncidentSink] = []
        self._tickers: list[Ticker] = []
        self._outboxes: dict[str, collections.OrderedDict[str, Incident]] = {}
        self._unloaded: set[str] = set()
        self._by_span: collections.OrderedDict[int, list[Incident]] = collections.OrderedDict()
        self._waiting: dict[str, float] = {}
        """Incident id -> until when it waits for its span to carry it."""
        self._known: collections.OrderedDict[str, Incident] = collections.OrderedDict()
        """The latest version of each incident handed to the sinks."""
        self._claim_at = 0.0
        self._init_threading()
        weak_reinit = weakref.WeakMethod(self._init_threading)
        os.register_at_fork(after_in_child=lambda: (weak_reinit() or (lambda: None))())

    def _init_threading(self) -> None:
        """Fresh locks, queues and worker (at start, and in a forked child, which also
        forgets the parent's outboxes: the parent delivers them)."""
        self._queue: collections.deque[Candidate] = collections.deque()
        self._receipts: collections.deque[_Receipt] = collections.deque()
        for outbox in getattr(self, "_outboxes", {}).values():
            outbox.clear()
        self._by_span = collections.OrderedDict()
        self._waiting = {}
        self._lock = threading.Lock()
        self._work_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self._shut_down = False

    def add_sink(self, sink: IncidentSink) -> None:
        self._sinks.append(sink)

    def add_ticker(self, ticker: Ticker) -> None:
        self._tickers.append(ticker)
        self._start()

    def register(self, destination: str) -> None:
        """A destination to deliver to; what the store still holds for it is loaded."""
        with self._lock:
            if destination in self._outboxes:
                return
            self._outboxes[destination] = collections.OrderedDict()
            self._unloaded.add(destination)
        self.store.destinations.add(destination)
        self._start()
        self._wake.set()

    def submit(self, candidate: Candidate) -> None:
        """Queue a candidate (the app's thread: no I/O, never blocks). After ``shutdown`` it
        is stored at once."""
        queue = self._queue
        if len(queue) >= self.max_queue:
            queue.pop()
            self.dropped += 1
        queue.appendleft(candidate)
        if self._shut_down:
            self.process_pending()
            return
        if self._worker is None:
            self._start()
        self._wake.set()

    def _start(self) -> None:
        with self._lock:
            if self._worker is not None or self._shut_down:
                return
            self._worker = threading.Thread(
                target=self._run, name="ai-incidents-manager", daemon=True
            )
            self._worker.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._wake.wait(_POLL_S):
                self._stop.wait(self.schedule_delay_s)
            self._wake.clear()
            self.store.retry_file()
            self.process_pending()
            for ticker in self._tickers:
                try:
                    ticker()
                except Exception:
                    _logger.exception("ai-incidents ticker %r failed", ticker)

    def _take_changes(self) -> None:
        """Hand over what changed in the store besides detections: status changes by the
        CLI or another process, containment recorded by the sinks (each claimed by one
        process); and now and then claim deliveries whose owner went away."""
        try:
            fresh = self.store.claim_announcements()
            due = time.monotonic() >= self._claim_at
            if fresh or due:
                self._load_outboxes(reload=True)
            if due:
                self.store.renew_leases()
                self._claim_at = time.monotonic() + _CLAIM_EVERY_S
        except Exception:
            _logger.debug("ai-incidents could not poll the store", exc_info=True)
            return
        if fresh:
            self._hand_over([IncidentChange(incident) for incident in fresh])

    def process_pending(self) -> None:
        """Store what is queued and route it, now, on the calling thread."""
        with self._work_lock:
            token = attach(set_value(_SUPPRESS_INSTRUMENTATION_KEY, True))
            try:
                self._load_outboxes()
                self._process_queue()
                self._take_changes()
            finally:
                detach(token)

    def _process_queue(self) -> None:
        candidates: list[Candidate] = []
        receipts: list[_Receipt] = []
        while self._queue:
            candidates.append(self._queue.pop())
        while self._receipts:
            receipts.append(self._receipts.pop())
        for receipt in receipts:
            try:
                self.store.mark_delivered(receipt.destination, receipt.incidents)
            except Exception:
                _logger.exception("ai-incidents could not record a delivery")
        if not candidates:
            return
        try:
            incidents = self.store.record_many(candidates)
        except Exception:
            candidates, incidents = self._record_one_by_one(candidates)
        self._route(candidates, incidents)

    def _record_one_by_one(self, candidates: list[Candidate]) -> tuple[list, list]:
        """After a batch failed: each candidate alone; one the store refuses is dropped, so
        it cannot hold back the others; if the store fails them all, they wait."""
        stored: list[Candidate] = []
        incidents: list[Incident] = []
        failures = 0
        for candidate in candidates:
            try:
                incidents.append(self.store.record(candidate))
                stored.append(candidate)
            except Exception:
                failures += 1
                self.rejected += 1
                if self.rejected == 1:
                    _logger.exception("ai-incidents: the store refused an incident; dropped")
        if failures == len(candidates):
            self.rejected -= failures
            self.store_errors += 1
            _logger.warning("ai-incidents could not store %d incidents; will retry", failures)
            self._queue.extend(reversed(candidates[-self.max_queue :]))
        return stored, incidents

    def _route(self, candidates: list[Candidate], incidents: list[Incident]) -> None:
        latest: dict[str, Incident] = {}
        occurrences: collections.Counter[str] = collections.Counter()
        users: dict[str, dict[str, None]] = collections.defaultdict(dict)
        population: set[str] = set()
        deadline = time.monotonic() + self.span_wait_s
        with self._lock:
            for candidate, incident in zip(candidates, incidents, strict=True):
                latest[incident.id] = incident
                occurrences[incident.id] += 1
                if candidate.user:
                    users[incident.id][candidate.user] = None
                if candidate.population:
                    population.add(incident.id)
                if not candidate.population and candidate.span_exported and candidate.examples:
                    self._by_span.setdefault(candidate.examples[0].span_id, []).append(incident)
                    self._waiting[incident.id] = deadline
            while len(self._by_span) > _MAX_WAITING_SPANS:
                self._by_span.popitem(last=False)
            for outbox in self._outboxes.values():
                for incident in latest.values():
                    outbox[incident.id] = incident
                    outbox.move_to_end(incident.id)
        self._hand_over([
            IncidentChange(i, occurrences[i.id], tuple(users[i.id]), i.id in population)
            for i in latest.values()
        ])  # fmt: skip

    def _hand_over(self, changes: list[IncidentChange]) -> None:
        for change in changes:
            incident = change.incident
            with self._lock:
                self._known[incident.id] = incident
                self._known.move_to_end(incident.id)
            for sink in self._sinks:
                try:
                    sink(change)
                except Exception:
                    _logger.exception("ai-incidents incident sink %r failed", sink)
        while len(self._known) > _MAX_KNOWN_VERSIONS:
            self._known.popitem(last=False)

    def _load_outboxes(self, reload: bool = False) -> None:
        """Fill outboxes from the store: of new destinations (and all, to ``reload``)."""
        with self._lock:
            destinations = set(self._outboxes) if reload else self._unloaded
            new, self._unloaded = self._unloaded, set()
        for destination in destinations:
            try:
                if destination in new:
                    self.store.register_destination(destination)
                pending = self.store.claim_deliveries(destination)
            except Exception:
                _logger.exception("ai-incidents could not read pending deliveries")
                with self._lock:
                    self._unloaded.add(destination)
                continue
            with self._lock:
                outbox = self._outboxes[destination]
                for incident in pending:
                    kept = outbox.get(incident.id)
                    if kept is None or kept.version < incident.version:
                        outbox[incident.id] = incident

    def incidents_for_span(self, span_id: int) -> list[Incident]:
        """The incidents raised on this span (latest version of each), for its events."""
        with self._lock:
            found = self._by_span.get(span_id)
            if not found:
                return []
            latest = {i.id: self._known.get(i.id, i) for i in found}
            return list(latest.values())

    def standalone(self, destination: str, exclude: set[str], limit: int = 1000) -> list[Incident]:
        """Incidents ``destination`` has still to receive that no span of theirs will carry."""
        now = time.monotonic()
        with self._lock:
            outbox = self._outboxes.get(destination)
            if not outbox:
                return []
            for incident_id in [i for i, until in self._waiting.items() if until <= now]:
                del self._waiting[incident_id]
            taken = []
            for incident in outbox.values():
                if incident.id not in exclude and incident.id not in self._waiting:
                    taken.append(incident)
                    if len(taken) >= limit:
                        break
            return taken

    def pending(self, destination: str) -> int:
        """How many incidents ``destination`` has still to receive."""
        with self._lock:
            return len(self._outboxes.get(destination, ()))

    def delivered(self, destination: str, incidents: Sequence[Incident]) -> None:
        """``destination`` received these incidents: out of its outbox, and of the store's
        (by the worker)."""
        if not incidents:
            return
        with self._lock:
            outbox = self._outboxes.get(destination)
            for incident in incidents:
                kept = outbox.get(incident.id) if outbox is not None else None
                if kept is not None and kept.version <= incident.version:
                    del outbox[incident.id]
        self._receipts.appendleft(_Receipt(destination, incidents))
        if self._shut_down:
            self.process_pending()
        else:
            self._wake.set()

    def not_delivered(self, incidents: Sequence[Incident]) -> None:
        """An export carrying these incidents on their spans failed: they travel on their own."""
        with self._lock:
            for incident in incidents:
                self._waiting.pop(incident.id, None)

    def force_flush(self) -> None:
        self.process_pending()

    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Store and route everything pending; the worker stops."""
        if self._shut_down:
            return
        self._shut_down = True
        self._stop.set()
        self._wake.set()
        worker = self._worker
        if worker is not None and worker is not threading.current_thread():
            worker.join(timeout_s)
        self.process_pending()

    def release(self) -> None:
        """Give up this process's claims on undelivered incidents (after the last export:
        the next run, or another process, delivers them at once)."""
        try:
            self.store.release_leases()
        except Exception:
            _logger.debug("ai-incidents could not release its deliveries", exc_info=True)
