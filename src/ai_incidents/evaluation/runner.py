"""Runs the fast evaluators on each finished interaction and tags its span.

Composite scores (documented weights):

- ``ai.quality.score``: weighted mean of the quality results (empty 3, truncation 2,
  refusal 2, groundedness 2, json_validity 2, repetition 1, answer_relevance 1,
  language_match 1; user evaluators 1), capped at 0.4 when any quality flag is raised.
- ``ai.safety.score``: the highest safety risk of any evaluator; ``ai.safety.flagged`` when
  any safety category fired.
- ``ai.retrieval.relevance``: the retrieval relevance result; ``ai.retrieval.max_age_s`` the
  age of the oldest document.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable

from opentelemetry.trace import Span

from ai_incidents import semconv
from ai_incidents.capture.interaction import Interaction
from ai_incidents.config import get_settings
from ai_incidents.evaluation.base import EvaluationResult, Evaluator
from ai_incidents.evaluation.injection import PromptInjectionEvaluator
from ai_incidents.evaluation.leakage import SystemPromptLeakEvaluator, ToxicityEvaluator
from ai_incidents.evaluation.pii import PIIEvaluator, SecretsEvaluator
from ai_incidents.evaluation.quality import (
    EmptyAnswerEvaluator,
    GroundednessEvaluator,
    JSONValidityEvaluator,
    LanguageMismatchEvaluator,
    RefusalEvaluator,
    RelevanceEvaluator,
    RepetitionEvaluator,
    TruncationEvaluator,
)
from ai_incidents.evaluation.retrieval_checks import (
    DuplicateDocumentsEvaluator,
    EmptyRetrievalEvaluator,
    RetrievalRelevanceEvaluator,
    StalenessEvaluator,
)

_logger = logging.getLogger(__name__)

QUALITY_WEIGHTS = {
    "empty_answer": 3.0,
    "truncation": 2.0,
    "refusal": 2.0,
    "groundedness": 2.0,
    "json_validity": 2.0,
    "repetition": 1.0,
    "answer_relevance": 1.0,
    "language_match": 1.0,
}
FLAGGED_QUALITY_CAP = 0.4


def builtin_evaluators() -> list[Evaluator]:
    return [
        PromptInjectionEvaluator(),
        PIIEvaluator(),
        SecretsEvaluator(),
        SystemPromptLeakEvaluator(),
        ToxicityEvaluator(),
        EmptyAnswerEvaluator(),
        TruncationEvaluator(),
        RefusalEvaluator(),
        RepetitionEvaluator(),
        GroundednessEvaluator(),
        RelevanceEvaluator(),
        JSONValidityEvaluator(),
        LanguageMismatchEvaluator(),
        EmptyRetrievalEvaluator(),
        RetrievalRelevanceEvaluator(),
        StalenessEvaluator(),
        DuplicateDocumentsEvaluator(),
    ]


class EvaluatorRegistry:
    """The evaluators in force: built-ins plus the user's, by unique name."""

    def __init__(self, evaluators: Iterable[Evaluator] = ()) -> None:
        self._lock = threading.Lock()
        self._evaluators: dict[str, Evaluator] = {e.name: e for e in evaluators}
        self.errors = 0

    def register(self, evaluator: Evaluator) -> None:
        """Add ``evaluator``, replacing any of the same name."""
        if not isinstance(evaluator, Evaluator):
            raise TypeError(f"{evaluator!r} lacks name, aspect, cost or evaluate()")
        with self._lock:
            self._evaluators = {**self._evaluators, evaluator.name: evaluator}

    def unregister(self, name: str) -> None:
        with self._lock:
            self._evaluators = {k: v for k, v in self._evaluators.items() if k != name}

    def fast(self) -> list[Evaluator]:
        disabled = get_settings().evaluators_disabled
        return [e for e in self._evaluators.values() if e.cost == "fast" and e.name not in disabled]

    def run(self, interaction: Interaction) -> list[EvaluationResult]:
        """Every fast evaluator's result; one that raises becomes an ``error`` result."""
        results = []
        for evaluator in self.fast():
            try:
                result = evaluator.evaluate(interaction)
            except Exception as error:
                self.errors += 1
                _logger.warning("evaluator %s failed", evaluator.name, exc_info=True)
                result = EvaluationResult(
                    evaluator.name, evaluator.aspect, 0.0, "error", None, type(error).__name__
                )
            if result is not None:
                results.append(result)
        return results


evaluators = EvaluatorRegistry(builtin_evaluators())


def evaluate_interaction(interaction: Interaction, span: Span) -> None:
    """The capture listener: evaluate, then put scores, flags and events on the open span."""
    if not get_settings().enabled:
        return
    started = time.perf_counter()
    results = evaluators.run(interaction)
    span.set_attributes(span_attributes(interaction, results))
    for result in results:
        if result.label == "error" or result.flag is not None or result.aspect != "safety":
            span.add_event(semconv.GEN_AI_EVALUATION_RESULT, event_attributes(result))
    _logger.debug("evaluated in %.0f µs", (time.perf_counter() - started) * 1e6)


def event_attributes(result: EvaluationResult) -> dict[str, str | float]:
    attributes: dict[str, str | float] = {
        semconv.GEN_AI_EVALUATION_NAME: result.name,
        semconv.GEN_AI_EVALUATION_SCORE_VALUE: result.score,
        semconv.GEN_AI_EVALUATION_SCORE_LABEL: result.label,
    }
    if result.explanation:
        attributes[semconv.GEN_AI_EVALUATION_EXPLANATION] = result.explanation
    return attributes


def span_attributes(interaction: Interaction, results: list[EvaluationResult]) -> dict[str, object]:
    """The composite ``ai.quality.*``, ``ai.safety.*`` and ``ai.retrieval.*`` attributes."""
    ok = [r for r in results if r.label != "error"]
    attributes: dict[str, object] = {}
    quality = [r for r in ok if r.aspect == "quality"]
    if quality:
        weights = [QUALITY_WEIGHTS.get(r.name, 1.0) for r in quality]
        score = sum(w * r.score for w, r in zip(weights, quality, strict=True)) / sum(weights)
        flags = sorted({r.flag for r in quality if r.flag})
        attributes[semconv.AI_QUALITY_SCORE] = min(score, FLAGGED_QUALITY_CAP) if flags else score
        attributes[semconv.AI_QUALITY_FLAGS] = flags
    safety = [r for r in ok if r.aspect == "safety"]
    if safety:
        categories = sorted({r.flag for r in safety if r.flag})
        attributes[semconv.AI_SAFETY_SCORE] = max(r.score for r in safety)
        attributes[semconv.AI_SAFETY_FLAGGED] = bool(categories)
        attributes[semconv.AI_SAFETY_CATEGORIES] = categories
    retrieval = [r for r in ok if r.aspect == "retrieval"]
    if retrieval:
        attributes[semconv.AI_RETRIEVAL_FLAGS] = sorted({r.flag for r in retrieval if r.flag})
        for r in retrieval:
            if r.name == "retrieval_relevance":
                attributes[semconv.AI_RETRIEVAL_RELEVANCE] = r.score
    if interaction.retrieval is not None:
        age = interaction.retrieval.max_age_s(time.time())
        if age is not None:
            attributes[semconv.AI_RETRIEVAL_MAX_AGE_S] = age
    return attributes
