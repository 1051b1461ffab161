"""The evaluator protocol: what every quality, safety and retrieval check looks like."""

from __future__ import annotations

import dataclasses
from typing import Literal, Protocol, runtime_checkable

from ai_incidents.capture.interaction import Interaction

Cost = Literal["fast", "slow"]
Aspect = Literal["quality", "safety", "retrieval"]


@dataclasses.dataclass(frozen=True)
class EvaluationResult:
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
    """Judges one aspect of an interaction. ``evaluate`` returns None when it does not apply."""

    name: str
    aspect: Aspect
    cost: Cost

    def evaluate(self, interaction: Interaction) -> EvaluationResult | None: ...
