"""The one-line summary of an incident for the person on call: who, what, the numbers that
matter, since when. Built from the evidence's numbers and category names only: never
content, never a value a detector found."""

from __future__ import annotations

import datetime

from ai_incidents.incidents.model import Incident

_SIGNAL_NAMES = {
    "low_quality": "weak answers",
    "context_issue": "retrieval problems",
    "safety_violation": "unsafe requests or answers",
    "anomaly_detected": "anomalous calls",
}
_CATEGORY_NAMES = {
    "system_prompt_leak": "the system prompt leaked in an answer",
    "secret": "a secret in an answer",
    "pii": "personal data in an answer",
    "prompt_injection": "prompt injection attempt",
    "indirect_prompt_injection": "instructions planted in retrieved content",
    "jailbreak": "jailbreak attempt",
    "toxicity": "toxic language",
}


def summarize(incident: Incident) -> str:
    """``support-bot on gpt-4o: weak answers 4 % -> 61 % over 38 calls since 14:02``."""
    evidence = incident.evidence
    where = f"{incident.feature} on {incident.model}"
    since = _clock(incident.first_seen)
    if "model_before" in evidence:
        return (
            f"{incident.feature}: model {evidence['model_before']} -> {evidence['model_after']},"
            f" mean quality {_number(evidence.get('mean_before'))} ->"
            f" {_number(evidence.get('mean_after'))} over {evidence.get('samples_after')} calls"
        )
    if evidence.get("detector") == "bernoulli_cusum":
        name = _SIGNAL_NAMES.get(str(evidence.get("signal")), str(evidence.get("signal")))
        return (
            f"{where}: {name} {_percent(evidence.get('rate_before'))} ->"
            f" {_percent(evidence.get('rate_after'))} over {evidence.get('calls')} calls"
            f" since {_clock(evidence.get('since'), since)}"
        )
    if "psi" in evidence and "metric" in evidence:
        return (
            f"{where}: {evidence['metric']} drifted (PSI {_number(evidence['psi'])}, mean"
            f" {_number(evidence.get('reference_mean'))} ->"
            f" {_number(evidence.get('current_mean'))}) since {since}"
        )
    if evidence.get("detector") == "page_hinkley":
        return (
            f"{where}: mean {evidence.get('metric')} fell from"
            f" {_number(evidence.get('mean_before'))} since {since}"
        )
    if "negative" in evidence and "of" in evidence:
        return (
            f"{incident.feature}: {evidence['negative']} of {evidence['of']} recent ratings"
            f" negative ({_percent(evidence.get('share'))}) since {since}"
        )
    scope = f"{incident.count} request{'s' if incident.count != 1 else ''}"
    if incident.users:
        scope += (
            f", {incident.users} users or sessions"
            if incident.users != 1
            else ", 1 user or session"
        )
    categories = evidence.get("safety_categories")
    if isinstance(categories, list) and categories:
        what = "; ".join(_CATEGORY_NAMES.get(str(c), str(c)) for c in _by_gravity(categories))
        return f"{where}: {what} ({scope} since {since})"
    if "rates" in evidence:
        rates = ", ".join(
            f"{_SIGNAL_NAMES.get(name, name)} {_percent(rate)}"
            for name, rate in sorted(evidence["rates"].items())
        )
        return f"{where}: {rates} of recent calls since {since}"
    return f"{where}: {' + '.join(incident.signals)} on one request ({scope} since {since})"


def _by_gravity(categories: list) -> list:
    order = list(_CATEGORY_NAMES)
    return sorted(categories, key=lambda c: order.index(c) if c in order else len(order))


def _percent(value: object) -> str:
    return f"{float(value) * 100:.0f} %" if isinstance(value, (int, float)) else "?"


def _number(value: object) -> str:
    return f"{float(value):.2f}" if isinstance(value, (int, float)) else "?"


def _clock(timestamp: object, default: str = "?") -> str:
    if not isinstance(timestamp, (int, float)):
        return default
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc)
    return moment.strftime("%H:%M UTC")
