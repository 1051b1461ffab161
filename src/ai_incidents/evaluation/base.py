"""The evaluator protocol: what every quality, safety and retrieval check looks like."""

from __future__ import annotations

from typing import Literal, NamedTuple, Protocol, runtime_checkable

from ai_incidents import semconv
from ai_incidents.capture.interaction import Interaction
from ai_incidents.config import get_settings

Cost = Literal["fast", "slow"]
Aspect = Literal["quality", "safety", "retrieval"]


class EvaluationResult(NamedTuple):
    """One evaluator's verdict on one interaction.

    ``score`` is 0..1 in the evaluator's own direction: for quality and retrieval 1 is good,
    for safety 1 is certainly unsafe. ``flag`` names the quality/retrieval flag or safety
    category raised, if any. ``explanation`` never quotes the secret or PII it found.
    """

    name: str
    aspect: Aspect
    score: float
    label: str
    flag: str | None = None
    explanation: str = ""


@runtime_checkable
class Evaluator(Protocol):
    """Judges one aspect of an interaction. ``evaluate`` returns None when it does not apply.

    ``reads`` names the parts of the interaction it looks at (``input``, ``output``,
    ``system``, ``retrieval``, ``metadata``); ``cost`` is ``fast`` (inline, before the span
    ends) or ``slow`` (in the background runner).
    """

    name: str
    aspect: Aspect
    cost: Cost
    reads: tuple[str, ...]

    def evaluate(self, interaction: Interaction) -> EvaluationResult | None: ...


def event_attributes(result: EvaluationResult) -> dict[str, str | float]:
    """The ``gen_ai.evaluation.result`` event attributes of one result."""
    attributes: dict[str, str | float] = {
        semconv.GEN_AI_EVALUATION_NAME: result.name,
        semconv.GEN_AI_EVALUATION_SCORE_VALUE: result.score,
        semconv.GEN_AI_EVALUATION_SCORE_LABEL: result.label,
    }
    if result.explanation:
        attributes[semconv.GEN_AI_EVALUATION_EXPLANATION] = result.explanation
    return attributes


def threshold(name: str, default: float) -> float:
    """An evaluator's threshold: from ``AI_INCIDENTS_EVALUATOR_THRESHOLDS``, else ``default``."""
    return get_settings().evaluator_thresholds.get(name, default)
