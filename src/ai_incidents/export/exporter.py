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
import threading
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
_MAX_BACKLOG_CHUNKS = 20


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
        for _ in range(_MAX_BACKLOG_CHUNKS):
            backlog = self.manager.standalone(self.destination, set(), limit=_CHUNK)
            if not backlog:
                return
            result = self.exporter.export([incident_span(i, resource) for i in backlog])
            if result is not SpanExportResult.SUCCESS:
                return
            self.manager.delivered(self.destination, backlog)

    def shutdown(self) -> None:
        self.exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.exporter.force_flush(timeout_millis)
