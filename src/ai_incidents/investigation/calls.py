"""The recorded calls around an incident: which window, and what each call signals.

The window runs from an hour before the incident's onset to its resolution (or now), at most
an hour past its last sighting. The onset is where the evidence says the problem began: the
start of a rate's rise, the first call of a regressed model, else the first detection.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time

from ai_incidents.config import Settings
from ai_incidents.incidents.model import Incident
from ai_incidents.incidents.recorder import CallRecord, FlightRecorder
from ai_incidents.incidents.store import IncidentStore

LOOKBACK_S = 3600.0
"""How far before the onset calls are read, as the baseline."""
AFTER_S = 3600.0
"""How far past the incident's last sighting calls are read, at most."""
_SIGNAL_OF = {
    "low_quality": "low_quality",
    "model_regression": "low_quality",
    "negative_feedback": "low_quality",
    "context_issue": "context_issue",
    "safety_violation": "safety_violation",
}
_SIGNAL_OF_METRIC = {
    "quality_score": "low_quality",
    "retrieval_relevance": "context_issue",
    "safety_score": "safety_violation",
}
CALL_SIGNALS = ("low_quality", "context_issue", "safety_violation")


@dataclasses.dataclass(frozen=True)
class Window:
    """One incident's recorded calls: the baseline before its onset, and those since."""

    onset: float
    end: float
    before: list[CallRecord]
    during: list[CallRecord]
    signals: tuple[str, ...]
    """The per-call signals that make a call one of the incident's affected requests."""
    threshold: float

    @property
    def calls(self) -> list[CallRecord]:
        return self.before + self.during

    def affected(self, call: CallRecord) -> bool:
        return bool(set(signals_of(call, self.threshold)) & set(self.signals))


def signals_of(call: CallRecord, threshold: float) -> tuple[str, ...]:
    """A call's own signals, as the detector derives them from its scores and flags."""
    found = []
    if call.quality_flags or (call.quality is not None and call.quality < threshold):
        found.append("low_quality")
    if call.retrieval_flags:
        found.append("context_issue")
    if call.safety_categories:
        found.append("safety_violation")
    return tuple(found)


def affected_signals(incident: Incident) -> tuple[str, ...]:
    """The per-call signals this incident is about (weak answers when nothing more precise)."""
    found = {_SIGNAL_OF[s] for s in incident.signals if s in _SIGNAL_OF}
    metric = incident.evidence.get("metric")
    if metric in _SIGNAL_OF_METRIC:
        found.add(_SIGNAL_OF_METRIC[str(metric)])
    if incident.failure_mode == "context_issues":
        found.add("context_issue")
    if incident.failure_mode == "prompt_injection":
        found.add("safety_violation")
    return tuple(s for s in CALL_SIGNALS if s in found) or ("low_quality",)


def resolved_at(incident: Incident) -> float | None:
    """When the incident was last resolved, if it is resolved now."""
    if incident.status != "resolved":
        return None
    return max((at for at, status, _ in incident.history if status == "resolved"), default=None)


def read_window(
    store: IncidentStore, incident: Incident, settings: Settings, changed_at: float | None = None
) -> Window:
    """The incident's calls from the flight recorder (read only: nothing is pruned). From
    ``changed_at`` (a rollback or a disabled feature) traffic is no longer the incident's:
    the window ends there."""
    recorder = FlightRecorder(store, max_rows=sys.maxsize, max_age_s=math.inf)
    end = min(resolved_at(incident) or time.time(), incident.last_seen + AFTER_S)
    end = max(end, incident.last_seen)
    if changed_at is not None:
        end = min(end, changed_at)
    since = incident.evidence.get("since")
    onset = min(incident.first_seen, float(since)) if isinstance(since, (int, float)) else None
    calls = recorder.calls(incident.feature, (onset or incident.first_seen) - LOOKBACK_S, end)
    if onset is None:
        onset = _first_call_of(calls, incident.evidence.get("model_after"), incident.first_seen)
    else:
        onset = _call_at(calls, onset)
    return Window(
        onset=onset,
        end=end,
        before=[c for c in calls if c.at < onset],
        during=[c for c in calls if c.at >= onset],
        signals=affected_signals(incident),
        threshold=settings.low_quality_threshold,
    )


def _first_call_of(calls: list[CallRecord], model: object, default: float) -> float:
    """When ``model`` first answered (the onset of a regression), else ``default``."""
    if not isinstance(model, str):
        return default
    return next((c.at for c in calls if c.response_model == model and c.at <= default), default)


def _call_at(calls: list[CallRecord], moment: float) -> float:
    """The time of the call a detector saw at ``moment`` (it sees a call after its span
    ended: the last call that ended by then)."""
    return max((c.at for c in calls if c.at <= moment), default=moment)
