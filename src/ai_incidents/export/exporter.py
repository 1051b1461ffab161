"""``IncidentExporter``: wraps any ``SpanExporter`` and adds the incidents before spans leave.

It is one destination of the incident manager, named by where it sends (its endpoint) and
for which service. For each batch: a span's own incidents become its ``ai.incident``
events; the rest of what the destination has still to receive (population incidents,
incidents whose span was dropped, not sampled or lost in an outage, and what an earlier run
left) travels as ``ai.incident {failure_mode}`` spans linked to their example spans. Only a
successful export marks incidents as delivered. After an outage the backlog is drained in
chunks right after the first successful export. The store is never touched here.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Sequence

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from ai_incidents.export.events import incident_span, with_incident_events
from ai_incidents.incidents.manager import IncidentManager
from ai_incidents.incidents.model import Incident

_logger = logging.getLogger(__name__)
_CHUNK = 500
"""Incident spans per export request (about 1 KB each: well under a collector's 4 MiB)."""
_DRAIN_S = 1.0


def destination_of(exporter: SpanExporter, service: str) -> str:
    """``service@endpoint`` for exporters that send somewhere, else ``service@ClassName``."""
    endpoint = getattr(exporter, "_endpoint", None)
    return f"{service}@{endpoint if isinstance(endpoint, str) else type(exporter).__name__}"


class IncidentExporter(SpanExporter):
    """Adds the incidents ``manager`` holds for this destination to what ``exporter`` sends."""

    def __init__(
        self,
        exporter: SpanExporter,
        manager: IncidentManager,
        destination: str | None = None,
    ) -> None:
        self.exporter = exporter
        self.manager = manager
        self.destination = destination or destination_of(exporter, "unknown_service")
        """The key of this destination's outbox in the store."""
        manager.register(self.destination)
        self._init_lock()
        weak_reinit = weakref.WeakMethod(self._init_lock)
        os.register_at_fork(after_in_child=lambda: (weak_reinit() or (lambda: None))())

    def _init_lock(self) -> None:
        """A fresh lock (at start, and in a forked child, where a thread of the parent may
        have held it)."""
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with self._lock:
            resource = spans[0].resource if spans else Resource.get_empty()
            try:
                self.manager.process_pending()
                batch, on_spans, standalone = self._with_incidents(spans, resource)
            except Exception:
                _logger.exception("ai-incidents could not add incidents; exporting spans as is")
                return self.exporter.export(spans)
            result = self.exporter.export(batch)
            if result is SpanExportResult.SUCCESS:
                self.manager.delivered(self.destination, [*on_spans, *standalone])
                self._drain_backlog(resource)
            else:
                self.manager.not_delivered(on_spans)
            return result

    def _with_incidents(
        self, spans: Sequence[ReadableSpan], resource: Resource
    ) -> tuple[list[ReadableSpan], list[Incident], list[Incident]]:
        batch: list[ReadableSpan] = []
        on_spans: list[Incident] = []
        for span in spans:
            incidents = self.manager.incidents_for_span(span.context.span_id)
            batch.append(with_incident_events(span, incidents) if incidents else span)
            on_spans += incidents
        carried = {incident.id for incident in on_spans}
        standalone = self.manager.standalone(self.destination, carried, limit=_CHUNK)
        batch += [incident_span(incident, resource) for incident in standalone]
        return batch, on_spans, standalone

    def _drain_backlog(self, resource: Resource) -> None:
        """After a successful export, send the backlog in chunks, for at most about a
        second (the rest goes with the next exports)."""
        deadline = time.monotonic() + _DRAIN_S
        while time.monotonic() < deadline:
            backlog = self.manager.standalone(self.destination, set(), limit=_CHUNK)
            if not backlog:
                return
            result = self.exporter.export([incident_span(i, resource) for i in backlog])
            if result is not SpanExportResult.SUCCESS:
                return
            self.manager.delivered(self.destination, backlog)

    def shutdown(self) -> None:
        """Send what this destination still has to receive (an app that ends no more spans
        gets no more exports), shut the exporter, and release the claims on what is left
        for the next run."""
        if self.manager.standalone(self.destination, set(), limit=1):
            self.export([])
        self.exporter.shutdown()
        self.manager.release()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.exporter.force_flush(timeout_millis)
