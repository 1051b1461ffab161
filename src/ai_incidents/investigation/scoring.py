"""Detection quality on labelled traffic: precision, recall and time to detect per failure
mode.

A labelled LLM span carries ``ai.label.failure_mode`` (a failure mode, or ``none``). An
episode is a run of one feature's spans labelled with one failure mode, split where two are
more than ``gap_s`` apart. An alert (a candidate) of a request is right when its span is
labelled with its failure mode; a population alert when it comes during an episode of its
failure mode and feature, or up to ``late_s`` after it. An episode is detected by the first
right alert of its failure mode and feature in that time; the time to detect runs from the
episode's first span.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Iterable, Mapping

from ai_incidents.incidents.model import Candidate, SpanRef

NO_FAILURE = "none"
LATE_S = 300.0


@dataclasses.dataclass(frozen=True, slots=True)
class Labelled:
    """One labelled LLM span."""

    span: SpanRef
    feature: str
    at: float
    label: str


@dataclasses.dataclass(frozen=True)
class Episode:
    feature: str
    failure_mode: str
    start: float
    end: float


@dataclasses.dataclass(frozen=True)
class ModeScore:
    """Detection quality of one failure mode."""

    failure_mode: str
    alerts: int
    right_alerts: int
    episodes: int
    detected: int
    times_to_detect_s: tuple[float, ...]

    @property
    def precision(self) -> float | None:
        return self.right_alerts / self.alerts if self.alerts else None

    @property
    def recall(self) -> float | None:
        return self.detected / self.episodes if self.episodes else None

    @property
    def median_time_to_detect_s(self) -> float | None:
        return statistics.median(self.times_to_detect_s) if self.times_to_detect_s else None


def episodes(labelled: Iterable[Labelled], gap_s: float) -> list[Episode]:
    """The episodes of the labelled spans (``none`` is no episode)."""
    by_key: dict[tuple[str, str], list[float]] = {}
    for item in labelled:
        if item.label != NO_FAILURE:
            by_key.setdefault((item.feature, item.label), []).append(item.at)
    found = []
    for (feature, mode), times in by_key.items():
        times.sort()
        start = previous = times[0]
        for at in times[1:]:
            if at - previous > gap_s:
                found.append(Episode(feature, mode, start, previous))
                start = at
            previous = at
        found.append(Episode(feature, mode, start, previous))
    return found


def score(
    labelled: list[Labelled], candidates: Iterable[Candidate], gap_s: float, late_s: float = LATE_S
) -> dict[str, ModeScore]:
    """Scores per failure mode, of every mode labelled or alerted."""
    labels: Mapping[SpanRef, str] = {item.span: item.label for item in labelled}
    found = episodes(labelled, gap_s)
    alerts: dict[str, int] = {}
    right: dict[str, int] = {}
    first: dict[Episode, float] = {}
    for candidate in candidates:
        mode = candidate.failure_mode
        alerts[mode] = alerts.get(mode, 0) + 1
        during = [
            e
            for e in found
            if e.failure_mode == mode
            and e.feature == candidate.feature
            and e.start <= candidate.detected_at <= e.end + late_s
        ]
        if candidate.population:
            correct = bool(during)
        else:
            correct = bool(candidate.examples) and labels.get(candidate.examples[0]) == mode
        if not correct:
            continue
        right[mode] = right.get(mode, 0) + 1
        for episode in during:
            first[episode] = min(first.get(episode, candidate.detected_at), candidate.detected_at)
    modes = sorted({*alerts, *(e.failure_mode for e in found)})
    return {
        mode: ModeScore(
            mode,
            alerts.get(mode, 0),
            right.get(mode, 0),
            sum(e.failure_mode == mode for e in found),
            sum(e.failure_mode == mode for e in first),
            tuple(max(0.0, at - e.start) for e, at in first.items() if e.failure_mode == mode),
        )
        for mode in modes
    }
