"""What a regression case asks of an answer, judged by this project's own evaluators: none
of the case's checks (the evaluators that flagged the recorded answer) flags it, and its
composite quality is at least the case's minimum."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from ai_incidents import semconv
from ai_incidents.capture.interaction import Interaction
from ai_incidents.evaluation.base import Evaluator
from ai_incidents.evaluation.runner import evaluators, span_attributes

_QUALITY_MODES = frozenset({"quality_degradation", "model_regression"})


@dataclasses.dataclass(frozen=True)
class Verdict:
    """One answer judged against a case's checks."""

    passed: bool
    quality: float | None
    safety: float | None
    flags: tuple[str, ...]
    """Every flag and safety category the evaluators raised on the answer."""
    reasons: tuple[str, ...]
    """Why it failed (evaluator and flag, or the quality shortfall); empty when it passed."""


def answer_evaluators() -> list[Evaluator]:
    """The fast evaluators in force that judge the answer (not only the question)."""
    return [e for e in evaluators.fast() if "output" in e.reads]


def checks_for(interaction: Interaction) -> tuple[str, ...]:
    """The answer evaluators that flag ``interaction``'s answer: what a regression case of it
    checks."""
    flagged = evaluators.run(interaction, answer_evaluators())
    return tuple(sorted({r.name for r in flagged if r.flag and r.label != "error"}))


def min_quality_for(failure_mode: str, threshold: float) -> float | None:
    """The composite quality a fixed answer must reach, for quality failure modes."""
    return threshold if failure_mode in _QUALITY_MODES else None


def judge(
    interaction: Interaction, checks: Sequence[str], min_quality: float | None = None
) -> Verdict:
    """``interaction``'s answer against the checks, with all fast evaluators' scores."""
    results = evaluators.run(interaction)
    attributes: dict[str, Any] = span_attributes(interaction, results)
    quality = attributes.get(semconv.AI_QUALITY_SCORE)
    reasons = [f"{r.name}: {r.flag}" for r in results if r.name in checks and r.flag]
    if min_quality is not None and (quality is None or quality < min_quality):
        shown = "none" if quality is None else f"{quality:.2f}"
        reasons.append(f"quality {shown} < {min_quality:.2f}")
    flags = sorted({r.flag for r in results if r.flag})
    return Verdict(
        not reasons, quality, attributes.get(semconv.AI_SAFETY_SCORE), tuple(flags), tuple(reasons)
    )
