"""The postmortem's questions, answered from the evidence: what the AI did wrong, how it
was detected, why not sooner, the evaluation gaps, the warning signs, and the action items.

Every answer is built from names, numbers and fingerprints: never content, never a value a
detector found.
"""

from __future__ import annotations

import collections
import dataclasses
import statistics
from collections.abc import Callable, Sequence

from ai_incidents.config import Settings
from ai_incidents.incidents.recorder import CallRecord
from ai_incidents.investigation.changes import age, percent
from ai_incidents.investigation.investigate import SIGNAL_NAMES, Investigation

_FAILURE_MODES = {
    "quality_degradation": "gave weak answers",
    "model_regression": "answered worse after a model change",
    "context_issues": "answered from poor retrieved context",
    "prompt_injection": "was attacked or leaked through its prompt",
}
_MOVED: dict[str, tuple[Callable[[CallRecord], float | None], float, bool]] = {
    "mean quality score": (lambda c: c.quality, 0.1, False),
    "mean safety score": (lambda c: c.safety, 0.1, False),
    "mean retrieval relevance": (lambda c: c.relevance, 0.1, False),
    "mean latency (s)": (lambda c: c.latency_s, 1.5, True),
    "mean output tokens": (lambda c: c.output_tokens, 1.5, True),
    "share of errors": (lambda c: 1.0 if c.error else 0.0, 0.05, False),
}
"""Metrics watched for warning signs: how to read one, and how far it must move (an
absolute difference, or a factor when the last item is true)."""


@dataclasses.dataclass(frozen=True)
class Answered:
    question: str
    answer: str


def questions(found: Investigation, settings: Settings) -> list[Answered]:
    """The mission's questions with their answers, in order."""
    return [
        Answered("What was the AI doing wrong?", doing_wrong(found)),
        Answered("How did we detect it?", detection(found)),
        Answered("Why didn't we catch it sooner?", why_not_sooner(found, settings)),
        Answered("What evaluation gaps existed?", evaluation_gaps(found, settings)),
        Answered("Were there warning signs in the metrics?", warning_signs(found)),
    ]


def doing_wrong(found: Investigation) -> str:
    incident = found.incident
    doing = _FAILURE_MODES.get(incident.failure_mode, incident.failure_mode)
    answer = f"{incident.feature} {doing}: {found.conclusion}."
    if found.rate_during is not None:
        before = "" if found.rate_before is None else f" ({percent(found.rate_before)} before)"
        answer += (
            f" {found.what.capitalize()}: {percent(found.rate_during)} of"
            f" {len(found.window.during)} calls since the onset{before}."
        )
    flags = _flag_counts(found)
    if flags:
        answer += " Most frequent flags: " + ", ".join(f"{n} ({c})" for n, c in flags) + "."
    return answer


def detection(found: Investigation) -> str:
    incident, evidence = found.incident, found.incident.evidence
    if evidence.get("detector") == "bernoulli_cusum":
        name = SIGNAL_NAMES.get(str(evidence.get("signal")), str(evidence.get("signal")))
        how = (
            f"a Bernoulli CUSUM on the rate of {name} (baseline"
            f" {_pct(evidence.get('rate_before'))}, {_pct(evidence.get('rate_after'))} since"
            f" the rise began), after {evidence.get('calls')} calls of the rise"
        )
    elif "model_before" in evidence:
        how = (
            f"the model regression test: the first {evidence.get('samples_after')} quality"
            f" scores of {evidence.get('model_after')} against {evidence.get('model_before')}"
            f" (mean {_num(evidence.get('mean_before'))} -> {_num(evidence.get('mean_after'))},"
            f" KS {_num(evidence.get('ks'))} over its critical value"
            f" {_num(evidence.get('ks_critical'))})"
        )
    elif "psi" in evidence and "metric" in evidence:
        how = (
            f"drift of {evidence['metric']}: PSI {_num(evidence['psi'])}, KS"
            f" {_num(evidence.get('ks'))} between windows of {evidence.get('reference_count')}"
            f" and {evidence.get('current_count')} calls"
        )
    elif evidence.get("detector") == "page_hinkley":
        mean = _num(evidence.get("mean_before"))
        how = f"a Page-Hinkley test on the mean quality score (from {mean})"
    elif "negative" in evidence and "of" in evidence:
        how = f"a storm of negative feedback ({evidence['negative']} of {evidence['of']} ratings)"
    elif evidence.get("safety_categories"):
        categories = ", ".join(map(str, evidence["safety_categories"]))
        how = f"the safety evaluators on the request itself ({categories}): it alerts at once"
    elif "rates" in evidence:
        how = "two or more signals elevated together in the recent window: " + ", ".join(
            f"{n} {_pct(r)}" for n, r in sorted(evidence["rates"].items())
        )
    else:
        how = f"two or more signals on one request ({', '.join(incident.signals)})"
    delay = incident.first_seen - found.window.onset
    calls = sum(1 for c in found.window.during if c.at <= incident.first_seen)
    times = "once" if incident.count == 1 else f"{incident.count} times"
    return (
        f"By {how}. Detected {_duration(delay)} after the onset, {calls} recorded calls"
        f" after it; detected {times} in all."
    )


def why_not_sooner(found: Investigation, settings: Settings) -> str:
    evidence = found.incident.evidence
    if evidence.get("detector") == "bernoulli_cusum":
        why = (
            "The CUSUM adds up evidence call by call until its threshold: a rise is"
            " confirmed in calls, not at the first weak answer, so that a few weak answers"
            " on healthy traffic do not alert."
        )
    elif "model_before" in evidence:
        why = (
            f"The regression test waits for {evidence.get('samples_after')} quality scores"
            " of the new model before comparing distributions."
        )
    elif "psi" in evidence:
        why = (
            f"Drift is compared once per window of {settings.drift_window} calls, and needs"
            f" PSI of at least {settings.drift_psi_threshold} and a significant KS."
        )
    elif evidence.get("safety_categories"):
        why = "It was caught on the request that carried it: no detector delay."
    else:
        why = "Population alerts need two signals elevated together, or a rate's rise confirmed."
    during = found.window.during
    unscored = sum(1 for c in during if c.quality is None)
    why += f" {unscored} of {len(during)} calls since the onset had no quality score."
    return f"{why} {_evaluators(settings)}"


def evaluation_gaps(found: Investigation, settings: Settings) -> str:
    incident, during = found.incident, found.window.during
    gaps = []
    if incident.failure_mode == "model_regression" or any(
        c.what == "response model" for c in found.changes
    ):
        after = next(
            (c.after for c in found.changes if c.what == "response model"),
            incident.evidence.get("model_after", "the new model"),
        )
        gaps.append(
            f"{after} served traffic without being evaluated first on this feature's"
            " regression cases (ai-incidents eval)"
        )
    if any(c.what != "response model" for c in found.changes):
        gaps.append("the prompt changed without an evaluation of its answers before release")
    if incident.failure_mode == "context_issues" or "context_issue" in found.window.signals:
        without = sum(1 for c in during if c.relevance is None)
        gaps.append(
            f"{without} of {len(during)} calls had no retrieval relevance; stale"
            f" documents count from {age(settings.retrieval_max_age_s)}"
            " (AI_INCIDENTS_RETRIEVAL_MAX_AGE_S)"
        )
    if settings.judge_url is None:
        gaps.append("no LLM judge scored answers: only the heuristic evaluators did")
    if not gaps:
        gaps.append(
            "none found in the recorded calls: the evaluators that flagged it ran on every call"
        )
    text = "; ".join(gaps)
    return text[0].upper() + text[1:] + "."


def warning_signs(found: Investigation) -> str:
    """What moved between the baseline and the alert, and changes made before it."""
    alert = found.incident.first_seen
    before = found.window.before
    early = [c for c in found.window.during if c.at <= alert]
    if not before:
        return "No calls were recorded before the onset, so there is no baseline to compare."
    if not early:
        return "Nothing moved before the alert: the first affected call raised it."
    moved = []
    for name, (value_of, threshold, relative) in _MOVED.items():
        a, b = _mean(before, value_of), _mean(early, value_of)
        if a is None or b is None:
            continue
        if (relative and a > 0 and (b / a >= threshold or a / max(b, 1e-9) >= threshold)) or (
            not relative and abs(b - a) >= threshold
        ):
            moved.append(f"{name} {a:.2f} -> {b:.2f}")
    rate_a = sum(found.window.affected(c) for c in before) / len(before)
    rate_b = sum(found.window.affected(c) for c in early) / len(early)
    if rate_b - rate_a >= 0.1:
        moved.append(f"{found.what} {percent(rate_a)} -> {percent(rate_b)}")
    moved += [
        f"the {c.what} changed ({c.before} -> {c.after})" for c in found.changes if c.at <= alert
    ]
    if not moved:
        return (
            f"No: over the {len(early)} calls between the onset and the alert, no watched"
            " metric moved past its threshold."
        )
    return (
        f"Yes, over the {len(early)} calls between the onset and the alert"
        f" ({_duration(alert - found.window.onset)}): " + "; ".join(moved) + "."
    )


def action_items(found: Investigation) -> list[str]:
    incident = found.incident
    affected = sum(found.window.affected(c) for c in found.window.during)
    detected_after = sum(1 for c in found.window.during if c.at <= incident.first_seen)
    flags = ", ".join(n for n, _ in _flag_counts(found)) or "the flags that fired"
    return [
        f"Add a regression test for this case: `ai-incidents cases {incident.id}` turns its"
        f" {affected} affected calls into cases (promptfoo or JSONL).",
        f"Improve detection for {incident.failure_mode}: it took {detected_after} calls and"
        f" {_duration(incident.first_seen - found.window.onset)} from the onset to the alert;"
        " review the thresholds for this feature and replay recorded traffic"
        " (`ai-incidents replay`) to check a change.",
        f"Update evaluation criteria: make {flags} part of the evaluation that gates a change of"
        f" model or prompt for {incident.feature} (`ai-incidents eval`).",
        "Enhance monitoring: alert on the metric that moved first (see the warning signs) and"
        " keep heightened monitoring on this feature after the fix.",
    ]


def _flag_counts(found: Investigation, limit: int = 3) -> list[tuple[str, int]]:
    """The commonest flags and categories of the affected calls (names, never values)."""
    counts: collections.Counter[str] = collections.Counter()
    for call in found.window.during:
        if found.window.affected(call):
            counts.update((*call.quality_flags, *call.retrieval_flags, *call.safety_categories))
    return counts.most_common(limit)


def _evaluators(settings: Settings) -> str:
    """What this environment's settings say was not evaluated."""
    parts = []
    if settings.evaluators_disabled:
        parts.append("disabled evaluators: " + ", ".join(sorted(settings.evaluators_disabled)))
    if settings.judge_url:
        parts.append(f"the LLM judge samples {percent(settings.judge_sample_rate)} of calls")
    else:
        parts.append("the LLM judge is not configured (AI_INCIDENTS_JUDGE_URL)")
    return "In the settings of this environment: " + "; ".join(parts) + "."


def _mean(calls: Sequence[CallRecord], value_of: Callable[[CallRecord], float | None]):
    values = [v for v in map(value_of, calls) if v is not None]
    return statistics.fmean(values) if values else None


def _duration(seconds: float) -> str:
    return age(max(seconds, 0.0))


def _pct(value: object) -> str:
    return percent(float(value)) if isinstance(value, (int, float)) else "?"


def _num(value: object) -> str:
    return f"{float(value):.2f}" if isinstance(value, (int, float)) else "?"
