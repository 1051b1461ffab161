"""What an incident is: its failure mode, severity, signals, evidence and status."""

from __future__ import annotations

import dataclasses
from typing import Literal

FailureMode = Literal[
    "quality_degradation", "model_regression", "context_issues", "prompt_injection"
]
Severity = Literal["critical", "high", "medium", "low"]
Status = Literal["open", "acknowledged", "contained", "resolved"]

SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low")


def capped(severity: Severity, ceiling: Severity) -> Severity:
    """``severity``, not above ``ceiling``."""
    return severity if SEVERITIES.index(severity) >= SEVERITIES.index(ceiling) else ceiling


ACTION_BY_SEVERITY = {
    "critical": "feature_disabled",
    "high": "rolled_back",
    "medium": "review_mode",
    "low": "monitoring",
}


@dataclasses.dataclass(frozen=True)
class SpanRef:
    """An example span of an incident."""

    trace_id: int
    span_id: int

    def hex(self) -> tuple[str, str]:
        return f"{self.trace_id:032x}", f"{self.span_id:016x}"


@dataclasses.dataclass
class Candidate:
    """A detection decision, before grouping: one offending span, or a population.

    ``cause`` distinguishes causes within a failure mode (a safety category, a drifting
    metric, a model pair): repeats of one (feature, failure mode, cause) group together.
    """

    failure_mode: FailureMode
    severity: Severity
    signals: tuple[str, ...]
    feature: str
    model: str
    cause: str
    evidence: dict[str, object]
    examples: tuple[SpanRef, ...] = ()
    population: bool = False
    detected_at: float = 0.0
    user: str | None = None
    """A fingerprint of the end user or session of the request (never the raw id)."""
    ceiling: Severity = "critical"
    """The highest severity its incident may escalate to (an attempt that leaked nothing
    stays at most ``medium``)."""
    span_exported: bool = True
    """Its example span reaches the span exporters (sampled): events can travel on it."""

    @property
    def group_key(self) -> str:
        return f"{self.feature}|{self.failure_mode}|{self.cause}"


@dataclasses.dataclass
class Incident:
    """An incident as stored: the grouped result of one or more candidates."""

    id: str
    group_key: str
    failure_mode: FailureMode
    severity: Severity
    signals: tuple[str, ...]
    feature: str
    model: str
    action: str
    status: Status
    first_seen: float
    last_seen: float
    count: int
    evidence: dict[str, object]
    examples: tuple[SpanRef, ...]
    version: int = 1
    """Grows with every change; deliveries are tracked per version."""
    users: int = 0
    """Distinct end users or sessions affected (counted by fingerprint, up to 1,000)."""
    summary: str = ""
    """One line for the person on call, with the numbers that matter and no content."""
    history: list[tuple[float, str, str]] = dataclasses.field(default_factory=list)
    """(time, status, note) entries, oldest first."""
