"""Incident and score metrics: the ``ai.incidents`` counter, score histograms, drift gauges."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

from ai_incidents import semconv
from ai_incidents.detection.detector import Detector
from ai_incidents.export.sanitize import sanitized
from ai_incidents.incidents.model import Incident
from ai_incidents.version import __version__

_SCORE_BUCKETS = tuple(round(0.05 * i, 2) for i in range(1, 20))
_DRIFT_GAUGES = {
    semconv.AI_DRIFT_PSI_METRIC: ("psi", "Population stability index, current vs reference."),
    semconv.AI_DRIFT_KS_METRIC: ("ks", "Kolmogorov-Smirnov statistic, current vs reference."),
    semconv.AI_DRIFT_JS_METRIC: ("js_distance", "Jensen-Shannon distance (base 2)."),
    semconv.AI_DRIFT_WASSERSTEIN_METRIC: ("wasserstein", "Wasserstein-1 distance."),
}


class IncidentMetrics:
    """``gaps`` reports, by reason, the running totals of what ai-incidents could not use
    (evicted detection keys, dropped candidates, failed detections, store fallbacks,
    evaluator demotions); ``demoted`` the evaluators off the request path now."""

    def __init__(
        self,
        detector: Detector,
        meter_provider: metrics.MeterProvider | None = None,
        gaps: Callable[[], Mapping[str, int]] | None = None,
        demoted: Callable[[], Iterable[str]] | None = None,
    ):
        meter = metrics.get_meter(semconv.INSTRUMENTATION_SCOPE, __version__, meter_provider)
        self._detector = detector
        self._gaps = gaps or dict
        self._demoted = demoted or tuple
        meter.create_observable_counter(
            semconv.AI_INCIDENTS_GAPS_METRIC,
            callbacks=[self._observe_gaps],
            unit="{event}",
            description="What ai-incidents could not use, by reason: where it is blind.",
        )
        meter.create_observable_gauge(
            semconv.AI_EVALUATOR_DEMOTED_METRIC,
            callbacks=[self._observe_demoted],
            unit="{evaluator}",
            description="Fast evaluators moved off the request path for now (1 each).",
        )
        self.incidents = meter.create_counter(
            semconv.AI_INCIDENTS_METRIC,
            unit="{incident}",
            description="AI incidents raised (each occurrence, grouped or new).",
        )
        self.scores = meter.create_histogram(
            semconv.AI_EVALUATION_SCORE_METRIC,
            unit="{score}",
            description="Composite scores of LLM calls (quality: 1 is good; safety: 1 is risky).",
            explicit_bucket_boundaries_advisory=_SCORE_BUCKETS,
        )
        for name, (field, description) in _DRIFT_GAUGES.items():
            meter.create_observable_gauge(
                name,
                callbacks=[self._drift_callback(field)],
                unit="{statistic}",
                description=description,
            )

    def _observe_gaps(self, options: CallbackOptions) -> Iterable[Observation]:
        for reason, total in self._gaps().items():
            yield Observation(total, {semconv.AI_INCIDENTS_GAP_REASON: reason})

    def _observe_demoted(self, options: CallbackOptions) -> Iterable[Observation]:
        for name in self._demoted():
            yield Observation(1, {semconv.AI_EVALUATOR_NAME: name})

    def record_incident(self, incident: Incident, occurrences: int = 1) -> None:
        self.incidents.add(
            occurrences,
            {
                semconv.AI_INCIDENT_SEVERITY: incident.severity,
                semconv.AI_INCIDENT_FAILURE_MODE: incident.failure_mode,
                semconv.AI_INCIDENT_FEATURE: sanitized(incident.feature),
                semconv.GEN_AI_REQUEST_MODEL: sanitized(incident.model),
            },
        )

    def record_scores(self, attributes: Mapping[str, Any]) -> None:
        for aspect, name in (("quality", semconv.AI_QUALITY_SCORE),
                             ("safety", semconv.AI_SAFETY_SCORE)):  # fmt: skip
            value = attributes.get(name)
            if isinstance(value, (int, float)):
                self.scores.record(
                    value,
                    {
                        semconv.AI_EVALUATION_ASPECT: aspect,
                        semconv.AI_FEATURE_NAME: sanitized(
                            attributes.get(semconv.AI_FEATURE_NAME, "")
                        ),
                        semconv.GEN_AI_REQUEST_MODEL: sanitized(
                            attributes.get(semconv.GEN_AI_REQUEST_MODEL, "")
                        ),
                    },
                )

    def _drift_callback(self, field: str):
        def observe(options: CallbackOptions) -> Iterable[Observation]:
            for (feature, model), state in self._detector.states():
                for metric, monitor in state.drift.items():
                    if monitor.statistics is not None:
                        yield Observation(
                            getattr(monitor.statistics, field),
                            {
                                semconv.AI_DRIFT_METRIC_NAME: metric,
                                semconv.AI_FEATURE_NAME: sanitized(feature),
                                semconv.GEN_AI_RESPONSE_MODEL: sanitized(model),
                            },
                        )

        return observe
