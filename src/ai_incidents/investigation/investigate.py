"""``ai-incidents investigate ID``: what the recorded calls say about one incident.

Affected requests per minute (count and share of the feature's calls), model and prompt
changes around the onset, retrieval before and during, the signals and their evidence,
example traces as links, the status and containment timeline, and a conclusion computed
from all of it. No content: names, numbers and fingerprints only.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Sequence

from ai_incidents.config import Settings, get_settings
from ai_incidents.containment.state import Action, ContainmentState
from ai_incidents.incidents.model import Incident
from ai_incidents.incidents.recorder import CallRecord
from ai_incidents.incidents.store import IncidentStore
from ai_incidents.investigation.calls import Window, read_window
from ai_incidents.investigation.changes import (
    Change,
    RetrievalComparison,
    changes,
    compare_retrieval,
    percent,
)

SIGNAL_NAMES = {
    "low_quality": "weak answers",
    "context_issue": "retrieval problems",
    "safety_violation": "unsafe requests or answers",
}


@dataclasses.dataclass(frozen=True)
class Minute:
    """One minute of the feature's calls: how many, how many affected, their share."""

    start: float
    calls: int
    affected: int

    @property
    def share(self) -> float:
        return self.affected / self.calls if self.calls else 0.0


@dataclasses.dataclass(frozen=True)
class Event:
    """One entry of the incident's timeline: a status change or a containment action."""

    at: float
    what: str
    note: str


@dataclasses.dataclass(frozen=True)
class Example:
    trace_id: str
    span_id: str
    url: str | None


@dataclasses.dataclass(frozen=True)
class Investigation:
    """Everything ``investigate`` found about one incident."""

    incident: Incident
    window: Window
    minutes: list[Minute]
    changes: list[Change]
    retrieval: RetrievalComparison | None
    examples: list[Example]
    timeline: list[Event]
    containment: list[Action]
    rate_before: float | None
    rate_during: float | None
    conclusion: str

    @property
    def what(self) -> str:
        """The affected requests, in words (``weak answers``)."""
        return " or ".join(SIGNAL_NAMES[s] for s in self.window.signals)

    def as_json(self) -> dict:
        incident = self.incident
        return {
            "id": incident.id,
            "failure_mode": incident.failure_mode,
            "severity": incident.severity,
            "status": incident.status,
            "feature": incident.feature,
            "model": incident.model,
            "summary": incident.summary,
            "conclusion": self.conclusion,
            "onset": iso(self.window.onset),
            "first_seen": iso(incident.first_seen),
            "last_seen": iso(incident.last_seen),
            "calls_before": len(self.window.before),
            "calls_during": len(self.window.during),
            "affected_signals": list(self.window.signals),
            "rate_before": self.rate_before,
            "rate_during": self.rate_during,
            "per_minute": [
                {
                    "minute": iso(m.start),
                    "calls": m.calls,
                    "affected": m.affected,
                    "share": round(m.share, 3),
                }
                for m in self.minutes
            ],
            "changes": [{**dataclasses.asdict(c), "at": iso(c.at)} for c in self.changes],
            "retrieval": dataclasses.asdict(self.retrieval) if self.retrieval else None,
            "signals": list(incident.signals),
            "evidence": incident.evidence,
            "examples": [dataclasses.asdict(e) for e in self.examples],
            "timeline": [{**dataclasses.asdict(e), "at": iso(e.at)} for e in self.timeline],
        }


def investigate(
    store: IncidentStore, incident_id: str, settings: Settings | None = None
) -> Investigation:
    """Investigate the incident ``incident_id`` (an id or its unique prefix)."""
    settings = settings or get_settings()
    incident = store.get(incident_id)
    containment = ContainmentState(store).history(incident.id)
    # Once a rollback or a disabled feature took effect (enforced: the incident was contained),
    # traffic is no longer the incident's.
    enforced = any(status == "contained" for _, status, _ in incident.history)
    changed = [a.started for a in containment if enforced and a.subject == "*"
               and a.action in ("rolled_back", "feature_disabled")]  # fmt: skip
    window = read_window(store, incident, settings, min(changed) if changed else None)
    found = changes(window)
    retrieval = compare_retrieval(window)
    rate_before, rate_during = _rate(window, window.before), _rate(window, window.during)
    return Investigation(
        incident=incident,
        window=window,
        minutes=per_minute(window),
        changes=found,
        retrieval=retrieval,
        examples=[_example(e.hex(), settings.trace_url) for e in incident.examples],
        timeline=timeline(incident, containment),
        containment=containment,
        rate_before=rate_before,
        rate_during=rate_during,
        conclusion=conclude(incident, window, found, retrieval, rate_before, rate_during),
    )


def per_minute(window: Window) -> list[Minute]:
    """The minutes of the window that had calls, oldest first."""
    minutes: dict[float, list[CallRecord]] = {}
    for call in window.calls:
        minutes.setdefault(call.at // 60 * 60, []).append(call)
    return [
        Minute(start, len(calls), sum(window.affected(c) for c in calls))
        for start, calls in sorted(minutes.items())
    ]


def timeline(incident: Incident, containment: Sequence[Action]) -> list[Event]:
    """Status changes and containment actions (taken and undone), oldest first."""
    events = [Event(at, status, note) for at, status, note in incident.history]
    for a in containment:
        whom = "the feature" if a.subject == "*" else "one user or session"
        model = f" to {a.model}" if a.model else ""
        events.append(
            Event(a.started, f"containment: {a.action}", f"for {whom}{model}, by {a.actor}")
        )
        if a.ended is not None:
            events.append(Event(a.ended, f"containment ended: {a.action}", a.reason))
    return sorted(events, key=lambda e: e.at)


def conclude(
    incident: Incident,
    window: Window,
    found: Sequence[Change],
    retrieval: RetrievalComparison | None,
    rate_before: float | None,
    rate_during: float | None,
) -> str:
    """One sentence: the change the affected requests followed, else what rose."""
    what = " or ".join(SIGNAL_NAMES[s] for s in window.signals)
    rates = _rates(rate_before, rate_during)
    clauses = []
    for change in found:
        when = (
            "with the first call"
            if change.calls_to_onset == 0
            else f"{change.calls_to_onset} calls"
            if change.calls_to_onset is not None
            else "after"
        )
        if change.what == "response model":
            clauses.append(
                f"{what} started {when} after the response model changed from"
                f" {change.before} to {change.after}{rates}"
            )
        else:
            clauses.append(
                f"{what} started {when} after the {change.what} changed"
                f" (fingerprint {change.before} -> {change.after}){rates}"
            )
        rates = ""
    if retrieval is not None and retrieval.findings:
        clauses.append(" while ".join(retrieval.findings[:2]))
    if clauses:
        return "; ".join(clauses)
    categories = incident.evidence.get("safety_categories")
    if isinstance(categories, list) and categories:
        scope = f"{incident.count} request{'s' if incident.count != 1 else ''}"
        if incident.users:
            scope += f" from {incident.users} user{'s' if incident.users != 1 else ''} or session"
        return f"{', '.join(map(str, categories))} on {scope}; no model, prompt or retrieval change"
    if rate_before is None:
        during = f" was {percent(rate_during)}" if rate_during is not None else " is unknown"
        return f"no calls recorded before the onset: the rate of {what}{during}"
    return f"no model or prompt change: the rate of {what} rose{rates}"


def _rates(before: float | None, during: float | None) -> str:
    if before is None or during is None:
        return ""
    return f" ({percent(before)} -> {percent(during)})" if before != during else ""


def _rate(window: Window, calls: Sequence[CallRecord]) -> float | None:
    return round(sum(window.affected(c) for c in calls) / len(calls), 3) if calls else None


def _example(ids: tuple[str, str], trace_url: str | None) -> Example:
    trace_id, span_id = ids
    url = trace_url.replace("{trace_id}", trace_id) if trace_url else None
    return Example(trace_id, span_id, url)


def iso(timestamp: float) -> str:
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc)
    return moment.isoformat(timespec="seconds")
