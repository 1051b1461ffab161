"""How an incident looks in telemetry: the ``ai.incident`` event attributes (all strings,
sanitised: names come from the app or a provider), the ``ai.incident {failure_mode}`` span
for population-level incidents, and the log event."""

from __future__ import annotations

import random
import time

from opentelemetry import _logs, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, TraceFlags

from ai_incidents import semconv
from ai_incidents.export.metrics import IncidentMetrics
from ai_incidents.export.sanitize import sanitized
from ai_incidents.incidents.manager import IncidentChange
from ai_incidents.incidents.model import Incident
from ai_incidents.version import __version__

_SCOPE = InstrumentationScope(semconv.INSTRUMENTATION_SCOPE, __version__)


_MAX_SUMMARY_CHARS = 512


def incident_attributes(incident: Incident) -> dict[str, str]:
    """The contract attributes, every value a string (the collector's count connector reads
    strings only)."""
    attributes = {
        semconv.AI_INCIDENT_ID: incident.id,
        semconv.AI_INCIDENT_SEVERITY: incident.severity,
        semconv.AI_INCIDENT_FAILURE_MODE: incident.failure_mode,
        semconv.AI_INCIDENT_SIGNALS: ",".join(incident.signals),
        semconv.AI_INCIDENT_FEATURE: incident.feature,
        semconv.AI_INCIDENT_ACTION: incident.action,
        semconv.AI_INCIDENT_STATUS: incident.status,
        semconv.GEN_AI_REQUEST_MODEL: incident.model,
        semconv.AI_INCIDENT_COUNT: str(incident.count),
        semconv.AI_INCIDENT_VERSION: str(incident.version),
        semconv.AI_INCIDENT_USERS: str(incident.users),
    }
    evidence = incident.evidence
    if "model_before" in evidence:
        attributes[semconv.AI_INCIDENT_MODEL_BEFORE] = str(evidence["model_before"])
        attributes[semconv.AI_INCIDENT_MODEL_AFTER] = str(evidence.get("model_after"))
    cleaned = {name: sanitized(value) for name, value in attributes.items()}
    if incident.summary:
        cleaned[semconv.AI_INCIDENT_SUMMARY] = sanitized(incident.summary, _MAX_SUMMARY_CHARS)
    return cleaned


def with_incident_events(span: ReadableSpan, incidents: list[Incident]) -> ReadableSpan:
    """A copy of ``span`` with one ``ai.incident`` event per incident added."""
    now = time.time_ns()
    events = [Event(semconv.AI_INCIDENT, incident_attributes(i), now) for i in incidents]
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=span.attributes,
        events=(*span.events, *events),
        links=span.links,
        kind=span.kind,
        status=span.status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


def incident_span(incident: Incident, resource: Resource) -> ReadableSpan:
    """An ``ai.incident {failure_mode}`` span carrying the event, linked to example spans."""
    now = time.time_ns()
    context = SpanContext(
        trace_id=random.getrandbits(128),
        span_id=random.getrandbits(64),
        is_remote=False,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    links = [
        Link(SpanContext(e.trace_id, e.span_id, is_remote=True, trace_flags=TraceFlags(1)))
        for e in incident.examples
    ]
    attributes = incident_attributes(incident)
    return ReadableSpan(
        name=f"{semconv.AI_INCIDENT} {incident.failure_mode}",
        context=context,
        resource=resource,
        attributes=attributes,
        events=(Event(semconv.AI_INCIDENT, attributes, now),),
        links=links,
        kind=SpanKind.INTERNAL,
        start_time=now,
        end_time=now,
        instrumentation_scope=_SCOPE,
    )


class IncidentEvents:
    """The incident manager's sink for telemetry: each stored change of an incident as an
    ``ai.incident`` log event, each detection it grouped counted in ``ai.incidents``."""

    def __init__(
        self, logger_provider: _logs.LoggerProvider | None, metrics: IncidentMetrics | None
    ) -> None:
        self._logger = _logs.get_logger(
            semconv.INSTRUMENTATION_SCOPE, __version__, logger_provider=logger_provider
        )
        self._metrics = metrics

    def __call__(self, change: IncidentChange) -> None:
        emit_incident_log(self._logger, change.incident)
        if self._metrics is not None and change.detections:
            self._metrics.record_incident(change.incident, change.detections)


def emit_incident_log(logger: _logs.Logger, incident: Incident) -> None:
    """The incident as a log-based event, in the context of its first example span."""
    context = None
    if incident.examples:
        first = incident.examples[0]
        span_context = SpanContext(first.trace_id, first.span_id, is_remote=True,
                                   trace_flags=TraceFlags(1))  # fmt: skip
        context = trace.set_span_in_context(NonRecordingSpan(span_context))
    logger.emit(
        event_name=semconv.AI_INCIDENT,
        attributes=incident_attributes(incident),
        context=context,
        severity_number=_SEVERITY_NUMBERS[incident.severity],
    )


_SEVERITY_NUMBERS = {
    "critical": _logs.SeverityNumber.FATAL,
    "high": _logs.SeverityNumber.ERROR,
    "medium": _logs.SeverityNumber.WARN,
    "low": _logs.SeverityNumber.INFO,
}
