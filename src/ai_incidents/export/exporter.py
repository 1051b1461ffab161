"""``IncidentExporter``: wraps any ``SpanExporter`` and adds the incidents before spans leave.

For each batch: candidates raised on a span are grouped and written to the incident store
(before anything is exported), and the span is rebuilt with its ``ai.incident`` events;
population-level incidents, and incidents still pending from an earlier failed export or an
earlier run, travel as ``ai.incident {failure_mode}`` spans linked to their example spans.
Each incident is also a log event and counted in metrics. Only a successful export marks
incidents as delivered; until then they are sent again with later batches.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from opentelemetry import _logs
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from ai_incidents import semconv
from ai_incidents.detection.processor import IncidentSpanProcessor
from ai_incidents.export.events import emit_incident_log, incident_span, with_incident_events
from ai_incidents.export.metrics import IncidentMetrics
from ai_incidents.incidents.model import Incident
from ai_incidents.incidents.store import IncidentStore
from ai_incidents.version import __version__

_logger = logging.getLogger(__name__)
_RESEND_AFTER_S = 5.0
_MAX_RESEND = 100


class IncidentExporter(SpanExporter):
    """Adds incidents from ``processor`` to the spans ``exporter`` sends."""

    def __init__(
        self,
        exporter: SpanExporter,
        processor: IncidentSpanProcessor,
        store: IncidentStore,
        metrics: IncidentMetrics | None = None,
        logger_provider: _logs.LoggerProvider | None = None,
        resend_after_s: float = _RESEND_AFTER_S,
        destination: str | None = None,
    ) -> None:
        self.exporter = exporter
        self.destination = destination or type(exporter).__name__
        """The name deliveries to this exporter are tracked by in the store."""
        store.destinations.add(self.destination)
        self.processor = processor
        self.store = store
        self.metrics = metrics
        self.resend_after_s = resend_after_s
        self._logger = _logs.get_logger(
            semconv.INSTRUMENTATION_SCOPE, __version__, logger_provider=logger_provider
        )
        self._lock = threading.Lock()
        self._failed_before = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with self._lock:
            try:
                batch, delivered = self._with_incidents(spans)
            except Exception:
                _logger.exception("ai-incidents could not add incidents; exporting spans as is")
                return self.exporter.export(spans)
            result = self.exporter.export(batch)
            self._failed_before = result is not SpanExportResult.SUCCESS
            if not self._failed_before and delivered:
                self.store.mark_delivered(self.destination, delivered)
            return result

    def _with_incidents(
        self, spans: Sequence[ReadableSpan]
    ) -> tuple[list[ReadableSpan], list[Incident]]:
        batch: list[ReadableSpan] = []
        delivered: list[Incident] = []
        resource = spans[0].resource if spans else Resource.get_empty()
        for span in spans:
            if self.metrics is not None and span.attributes:
                self.metrics.record_scores(span.attributes)
            candidates = self.processor.take_for_span(span.context.span_id)
            incidents = self._raise_all(candidates)
            batch.append(with_incident_events(span, incidents) if incidents else span)
            delivered += incidents
        for incident in self._raise_all(self.processor.take_population()):
            batch.append(incident_span(incident, resource))
            delivered.append(incident)
        for incident in self._pending(exclude={i.id for i in delivered}):
            batch.append(incident_span(incident, resource))
            emit_incident_log(self._logger, incident)
            delivered.append(incident)
        return batch, delivered

    def _raise_all(self, candidates: list) -> list[Incident]:
        """Store the candidates as incidents; if the store fails, they wait for next time."""
        incidents = []
        for index, candidate in enumerate(candidates):
            try:
                incidents.append(self._raise(candidate))
            except Exception:
                _logger.exception("ai-incidents could not write an incident; will retry")
                self.processor.put_back(candidates[index:])
                break
        return incidents

    def _raise(self, candidate) -> Incident:
        incident = self.store.record(candidate)
        emit_incident_log(self._logger, incident)
        if self.metrics is not None:
            self.metrics.record_incident(incident)
        return incident

    def _pending(self, exclude: set[str]) -> list[Incident]:
        """Incidents written earlier whose delivery did not succeed (or not yet)."""
        cutoff = time.time() - self.resend_after_s
        return [
            incident
            for incident in self.store.pending_delivery(self.destination, limit=_MAX_RESEND)
            if incident.id not in exclude and (self._failed_before or incident.last_seen < cutoff)
        ]

    def shutdown(self) -> None:
        self.exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.exporter.force_flush(timeout_millis)
