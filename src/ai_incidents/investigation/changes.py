"""What changed between the baseline and the incident: the response model, the prompt's
fingerprints, and the retrieval's quality.

A value changed when one value served most of the baseline's calls and another most of the
incident's: models served side by side (an A/B test) or a prompt whose history differs per
conversation are no change.
"""

from __future__ import annotations

import collections
import dataclasses
import statistics
from collections.abc import Callable, Sequence

from ai_incidents.incidents.recorder import CallRecord
from ai_incidents.investigation.calls import Window

_DOMINANT_SHARE = 0.5
FIELDS: dict[str, Callable[[CallRecord], str | None]] = {
    "response model": lambda c: c.response_model,
    "system prompt": lambda c: c.system_hash,
    "prompt template": lambda c: c.context_hash,
}
"""What is followed, by name: the model that answered and the two prompt fingerprints."""
RELEVANCE_DROP = 0.15
"""A fall of the mean retrieval relevance by this much is a retrieval change."""
EMPTY_RISE = 0.2
"""A rise of the share of empty retrievals by this much is a retrieval change."""
NEW_SOURCE_SHARE = 0.1
"""A data source of most calls during the incident appeared if it served fewer than this
share of the baseline's."""
AGE_GROWTH = 2.0
"""The oldest document growing this many times older is a retrieval change."""


@dataclasses.dataclass(frozen=True)
class Change:
    """One followed value that changed: from what, to what, when, and how many calls after
    the change the first affected call came."""

    what: str
    before: str
    after: str
    at: float
    calls_to_onset: int | None


@dataclasses.dataclass(frozen=True)
class RetrievalStats:
    """Retrieval of one set of calls (None where no call had it); the age is the median
    call's oldest document."""

    calls: int
    relevance: float | None
    oldest_age_s: float | None
    empty_share: float | None
    data_sources: tuple[str, ...]
    source_shares: dict[str, float]
    """Data source -> its share of these calls."""


@dataclasses.dataclass(frozen=True)
class RetrievalComparison:
    before: RetrievalStats
    during: RetrievalStats
    new_sources: tuple[str, ...]
    findings: tuple[str, ...]
    """What got worse, as clauses ("relevance fell from 0.71 to 0.22")."""


def dominant(values: Sequence[str | None]) -> str | None:
    """The value of most calls, if it is the value of at least half of them."""
    counts = collections.Counter(v for v in values if v is not None)
    if not counts:
        return None
    value, count = counts.most_common(1)[0]
    return value if count >= _DOMINANT_SHARE * len(values) else None


def changes(window: Window) -> list[Change]:
    """The followed values whose dominant value differs between the baseline and the incident."""
    found = []
    calls = window.calls
    for what, value_of in FIELDS.items():
        before = dominant([value_of(c) for c in window.before])
        after = dominant([value_of(c) for c in window.during])
        if before is None or after is None or before == after:
            continue
        start = next(i for i, c in enumerate(calls) if value_of(c) == after)
        onset = next(
            (
                i
                for i, c in enumerate(calls[start:], start)
                if value_of(c) == after and window.affected(c)
            ),
            None,
        )
        found.append(
            Change(what, before, after, calls[start].at, None if onset is None else onset - start)
        )
    return found


def retrieval_stats(calls: Sequence[CallRecord]) -> RetrievalStats:
    used = [c for c in calls if c.documents is not None or c.retrieval_flags or c.data_source]
    relevance = [c.relevance for c in used if c.relevance is not None]
    ages = [c.max_age_s for c in used if c.max_age_s is not None]
    sources = collections.Counter(c.data_source for c in used if c.data_source)
    empty = [c for c in used if c.documents == 0 or "empty" in c.retrieval_flags]
    return RetrievalStats(
        calls=len(used),
        relevance=round(statistics.fmean(relevance), 3) if relevance else None,
        oldest_age_s=statistics.median(ages) if ages else None,
        empty_share=round(len(empty) / len(used), 3) if used else None,
        data_sources=tuple(sorted(sources)),
        source_shares={name: round(n / len(used), 3) for name, n in sorted(sources.items())},
    )


def compare_retrieval(window: Window) -> RetrievalComparison | None:
    """Retrieval before and during the incident, with what got worse; None without any."""
    before, during = retrieval_stats(window.before), retrieval_stats(window.during)
    if not before.calls and not during.calls:
        return None
    new_sources = tuple(
        name
        for name, share in during.source_shares.items()
        if share >= _DOMINANT_SHARE and before.source_shares.get(name, 0.0) < NEW_SOURCE_SHARE
    )
    findings = []
    if (
        before.relevance is not None
        and during.relevance is not None
        and before.relevance - during.relevance >= RELEVANCE_DROP
    ):
        findings.append(
            f"retrieval relevance fell from {before.relevance:.2f} to {during.relevance:.2f}"
        )
    if before.calls and new_sources:
        names = ", ".join(new_sources)
        findings.append(f"data source{'s' if len(new_sources) > 1 else ''} {names} appeared")
    if (
        before.oldest_age_s
        and during.oldest_age_s
        and during.oldest_age_s >= AGE_GROWTH * before.oldest_age_s
    ):
        findings.append(
            f"the oldest document grew from {age(before.oldest_age_s)} to"
            f" {age(during.oldest_age_s)} old"
        )
    if (
        before.empty_share is not None
        and during.empty_share is not None
        and during.empty_share - before.empty_share >= EMPTY_RISE
    ):
        findings.append(
            f"empty retrievals rose from {percent(before.empty_share)} to"
            f" {percent(during.empty_share)}"
        )
    return RetrievalComparison(before, during, new_sources, tuple(findings))


def age(seconds: float) -> str:
    """``400 days``, ``3 h``, ``12 min``, ``40 s``, ``0.25 s``."""
    for unit, size in (("days", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.2g} s"


def percent(share: float) -> str:
    return f"{share * 100:.0f} %"
