"""``Notifier``: the incident manager's sink for a notification channel.

It decides which changes are worth a notification (a new incident, a higher severity, a new
status), queues them (bounded, drops counted), and sends each from one daemon thread with
exponential backoff (``retries`` attempts), with instrumentation suppressed so that its own
HTTP calls are never traced. Secrets (URLs with tokens, signing keys, routing keys) come from
settings read from the environment, never from the store or telemetry.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
import urllib.error
import urllib.request
import weakref
from collections.abc import Callable

from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY, attach, detach, set_value

from ai_incidents.incidents.manager import IncidentChange
from ai_incidents.incidents.model import Incident

_logger = logging.getLogger(__name__)
_MAX_QUEUE = 1000
_MAX_TRACKED = 10_000

Request = tuple[str, bytes, dict[str, str]]
"""URL, body and headers of one notification."""


class Notifier:
    """Sends ``build(incident, what)`` for each change worth notifying (``what`` is
    ``triggered``, ``escalated``, ``acknowledged``, ``contained``, ``resolved`` or
    ``reopened``)."""

    def __init__(
        self,
        name: str,
        build: Callable[[Incident, str], Request | None],
        retries: int = 5,
        backoff_s: float = 0.5,
        timeout_s: float = 10.0,
    ) -> None:
        self.name = name
        self.build = build
        self.retries = retries
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        self._seen: collections.OrderedDict[str, tuple[str, str]] = collections.OrderedDict()
        self._init_threading()
        weak_reinit = weakref.WeakMethod(self._init_threading)
        os.register_at_fork(after_in_child=lambda: (weak_reinit() or (lambda: None))())

    def _init_threading(self) -> None:
        self._queue: collections.deque[tuple[Incident, str]] = collections.deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._idle = threading.Condition()
        self._busy = 0
        self._worker: threading.Thread | None = None

    def __call__(self, change: IncidentChange) -> None:
        what = self._what(change.incident)
        if what is None:
            return
        with self._lock:
            if len(self._queue) >= _MAX_QUEUE:
                self._queue.popleft()
                self.dropped += 1
            self._queue.append((change.incident, what))
            if self._worker is None:
                self._worker = threading.Thread(target=self._run, daemon=True,
                                                name=f"ai-incidents-{self.name}")  # fmt: skip
                self._worker.start()
        with self._idle:
            self._busy += 1
        self._wake.set()

    def _what(self, incident: Incident) -> str | None:
        """Why this change is worth a notification, if it is."""
        before = self._seen.get(incident.id)
        self._seen[incident.id] = (incident.severity, incident.status)
        self._seen.move_to_end(incident.id)
        while len(self._seen) > _MAX_TRACKED:
            self._seen.popitem(last=False)
        if before is None:
            return "triggered" if incident.version == 1 or incident.status == "open" else (
                incident.status)  # fmt: skip
        severity, status = before
        if status != incident.status:
            return "reopened" if incident.status == "open" else incident.status
        if severity != incident.severity:
            return "escalated"
        return None

    def _run(self) -> None:
        token = attach(set_value(_SUPPRESS_INSTRUMENTATION_KEY, True))
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                while True:
                    with self._lock:
                        if not self._queue:
                            break
                        incident, what = self._queue.popleft()
                    self._send(incident, what)
                    with self._idle:
                        self._busy -= 1
                        self._idle.notify_all()
        finally:
            detach(token)

    def _send(self, incident: Incident, what: str) -> None:
        try:
            request = self.build(incident, what)
        except Exception:
            _logger.exception("ai-incidents could not build a %s notification", self.name)
            self.failed += 1
            return
        if request is None:
            return
        url, body, headers = request
        for attempt in range(self.retries):
            try:
                message = urllib.request.Request(url, data=body, headers=headers, method="POST")
                with urllib.request.urlopen(message, timeout=self.timeout_s) as response:
                    response.read()
                self.sent += 1
                return
            except urllib.error.HTTPError as error:
                if 400 <= error.code < 500 and error.code != 429:
                    break
            except OSError:
                pass
            time.sleep(self.backoff_s * 2**attempt)
        self.failed += 1
        _logger.warning("ai-incidents: %s notification of %s failed after retries", self.name,
                        incident.id)  # fmt: skip

    def wait_idle(self, timeout_s: float = 30.0) -> bool:
        """Block until everything queued was sent or given up (tests, shutdown)."""
        deadline = time.monotonic() + timeout_s
        with self._idle:
            while self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True
