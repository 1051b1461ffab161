"""Backtesting: recorded spans run through the same detection offline.

Spans are read from OTLP JSON lines or the SDK's span JSON (``otlp_json``), fed to an
``IncidentSpanProcessor`` that judges each at its own end time, and the candidates grouped
by an incident store: a temporary one, unless the caller passes a store. With
``reevaluate``, LLM spans that carry message content are judged again by the evaluators in
force (thresholds and evaluators as configured now) before detection sees them.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan

from ai_incidents import semconv
from ai_incidents.config import Settings, get_settings
from ai_incidents.detection.detector import DetectionConfig, Detector
from ai_incidents.detection.processor import CollectedCandidates, IncidentSpanProcessor
from ai_incidents.evaluation.runner import evaluators, span_attributes
from ai_incidents.incidents.model import Candidate, Incident, SpanRef
from ai_incidents.incidents.store import IncidentStore
from ai_incidents.investigation.content import interaction_from_content
from ai_incidents.investigation.otlp_json import read_spans, with_attributes
from ai_incidents.investigation.scoring import Labelled, ModeScore, score

_LLM_OPERATIONS = frozenset({semconv.OPERATION_CHAT, semconv.OPERATION_TEXT_COMPLETION})
_RECORD_BATCH = 1000


@dataclasses.dataclass
class ReplayResult:
    spans: int = 0
    llm_spans: int = 0
    reevaluated: int = 0
    seconds: float = 0.0
    candidates: list[Candidate] = dataclasses.field(default_factory=list)
    incidents: list[Incident] = dataclasses.field(default_factory=list)
    scores: dict[str, ModeScore] = dataclasses.field(default_factory=dict)
    """Per failure mode, when the spans carry ``ai.label.failure_mode``."""

    @property
    def llm_spans_per_s(self) -> float:
        return self.llm_spans / self.seconds if self.seconds else 0.0


def replay(
    path: str | Path,
    *,
    reevaluate: bool = False,
    store: IncidentStore | None = None,
    progress: Callable[[int], None] | None = None,
    settings: Settings | None = None,
) -> ReplayResult:
    """Detection over the spans of ``path``; incidents grouped in ``store`` (default: a
    temporary store, removed afterwards)."""
    settings = settings or get_settings()
    sink = CollectedCandidates()
    processor = IncidentSpanProcessor(
        Detector(DetectionConfig.from_settings(settings)), sink, at_span_time=True
    )
    result = ReplayResult()
    labelled: list[Labelled] = []
    started = time.perf_counter()
    with open(path, "rb") as lines:
        for span in read_spans(lines, progress):
            result.spans += 1
            attributes = span.attributes
            if attributes.get(semconv.GEN_AI_OPERATION_NAME) in _LLM_OPERATIONS:
                result.llm_spans += 1
                judged = _reevaluated(attributes) if reevaluate else None
                if judged is not None:
                    span, attributes = with_attributes(span, judged), judged
                    result.reevaluated += 1
                label = attributes.get(semconv.AI_LABEL_FAILURE_MODE)
                if isinstance(label, str):
                    labelled.append(_labelled(span, attributes, label))
            processor.on_end(span)
    result.candidates = sink.candidates
    result.incidents = _grouped(sink.candidates, store, settings)
    result.seconds = time.perf_counter() - started
    if labelled:
        result.scores = score(labelled, result.candidates, settings.incident_cooldown_s)
    return result


def _reevaluated(attributes: Mapping[str, Any]) -> dict[str, Any] | None:
    """The span's attributes with its recorded content judged again (new scores replace the
    recorded ones); None without content."""
    interaction = interaction_from_content(
        attributes,
        str(attributes.get(semconv.AI_FEATURE_NAME, "unknown")),
        attributes.get(semconv.GEN_AI_RESPONSE_MODEL),
    )
    if interaction is None:
        return None
    reasons = attributes.get(semconv.GEN_AI_RESPONSE_FINISH_REASONS) or ()
    interaction.finish_reasons = [r for r in reasons if isinstance(r, str)]
    interaction.stream_abandoned = bool(attributes.get(semconv.AI_CAPTURE_STREAM_ABANDONED))
    return {**attributes, **span_attributes(interaction, evaluators.run(interaction))}


def _labelled(span: ReadableSpan, attributes: Mapping[str, Any], label: str) -> Labelled:
    return Labelled(
        SpanRef(span.context.trace_id, span.context.span_id),
        str(attributes.get(semconv.AI_FEATURE_NAME, "unknown")),
        (span.end_time or 0) / 1e9,
        label,
    )


def _grouped(
    candidates: list[Candidate], store: IncidentStore | None, settings: Settings
) -> list[Incident]:
    """The incidents the candidates make, grouped as the live store groups them."""
    if store is not None:
        return _record(candidates, store)
    with tempfile.TemporaryDirectory(prefix="ai-incidents-replay-") as folder:
        temporary = IncidentStore(
            Path(folder) / "replay.sqlite3", settings.incident_cooldown_s, fall_back=False
        )
        try:
            return _record(candidates, temporary)
        finally:
            temporary.close()


def _record(candidates: list[Candidate], store: IncidentStore) -> list[Incident]:
    latest: dict[str, Incident] = {}
    for start in range(0, len(candidates), _RECORD_BATCH):
        for incident in store.record_many(candidates[start : start + _RECORD_BATCH]):
            latest[incident.id] = incident
    return sorted(latest.values(), key=lambda i: i.first_seen)
