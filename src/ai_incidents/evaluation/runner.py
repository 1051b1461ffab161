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

import dataclasses
import logging
import threading
import time
from collections.abc import Iterable

from opentelemetry.trace import Span

from ai_incidents import semconv
from ai_incidents.capture import gate
from ai_incidents.capture.interaction import Interaction, Message
from ai_incidents.config import get_settings
from ai_incidents.evaluation.base import EvaluationResult, Evaluator, event_attributes
from ai_incidents.evaluation.documents import IndirectInjectionEvaluator
from ai_incidents.evaluation.injection import PromptInjectionEvaluator
from ai_incidents.evaluation.judge import DEFAULT_RUBRIC, LLMJudgeEvaluator
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
from ai_incidents.evaluation.slow import SlowEvaluationRunner
from ai_incidents.evaluation.text import head_and_tail

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
        IndirectInjectionEvaluator(),
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
    """The evaluators in force: built-ins plus the user's, by unique name.

    Fast evaluators run inline before the span ends; slow ones in the ``SlowEvaluationRunner``.
    A fast evaluator whose own CPU time (thread time: waiting for the GIL or for I/O does
    not count, nor does its first, warm-up call) overruns ``AI_INCIDENTS_EVALUATOR_BUDGET_MS``
    three times in a row is moved off the request path for a while (``demote_for_s``,
    doubling on each repeat up to an hour), then tried inline again. Each demotion is
    counted and logged.
    """

    strikes_to_demote = 3
    demote_for_s = 60.0
    max_demotion_s = 3600.0

    def __init__(self, evaluators: Iterable[Evaluator] = ()) -> None:
        self._lock = threading.Lock()
        self._evaluators: dict[str, Evaluator] = {e.name: e for e in evaluators}
        self._strikes: dict[str, int] = {}
        self._warm: set[str] = set()
        self._demoted_until: dict[str, float] = {}
        self._demotions_of: dict[str, int] = {}
        self.demotions = 0
        """How many times a fast evaluator was moved off the request path."""
        self.errors = 0

    @property
    def demoted(self) -> set[str]:
        """Fast evaluators off the request path now."""
        now = time.monotonic()
        return {name for name, until in self._demoted_until.items() if until > now}

    def register(self, evaluator: Evaluator) -> None:
        """Add ``evaluator``, replacing any of the same name."""
        if not isinstance(evaluator, Evaluator) or evaluator.cost not in ("fast", "slow"):
            raise TypeError(f"{evaluator!r} lacks name, aspect, cost or evaluate()")
        with self._lock:
            self._evaluators = {**self._evaluators, evaluator.name: evaluator}
            self._forget(evaluator.name)

    def unregister(self, name: str) -> None:
        with self._lock:
            self._evaluators = {k: v for k, v in self._evaluators.items() if k != name}
            self._forget(name)

    def _forget(self, name: str) -> None:
        self._demoted_until.pop(name, None)
        self._demotions_of.pop(name, None)
        self._strikes.pop(name, None)
        self._warm.discard(name)

    def fast(self) -> list[Evaluator]:
        disabled = get_settings().evaluators_disabled | self.demoted
        return [e for e in self._evaluators.values() if e.cost == "fast" and e.name not in disabled]

    def slow(self) -> list[Evaluator]:
        disabled = get_settings().evaluators_disabled
        demoted = self.demoted
        return [
            e
            for e in self._evaluators.values()
            if (e.cost == "slow" or e.name in demoted) and e.name not in disabled
        ]

    def __contains__(self, name: object) -> bool:
        return name in self._evaluators

    def run(
        self, interaction: Interaction, fast: list[Evaluator] | None = None
    ) -> list[EvaluationResult]:
        """Every fast evaluator's result (of ``fast``, default ``self.fast()``); one that
        raises becomes an ``error`` result."""
        budget_s = get_settings().evaluator_budget_ms / 1000
        results = []
        warm = self._warm
        for evaluator in self.fast() if fast is None else fast:
            first = evaluator.name not in warm
            if first:
                warm.add(evaluator.name)
            started = time.thread_time()
            try:
                result = evaluator.evaluate(interaction)
            except Exception as error:
                self.errors += 1
                _logger.warning("evaluator %s failed", evaluator.name, exc_info=True)
                result = EvaluationResult(
                    evaluator.name, evaluator.aspect, 0.0, "error", None, type(error).__name__
                )
            elapsed_s = time.thread_time() - started
            if not first and (elapsed_s > budget_s or self._strikes):
                self._account(evaluator.name, elapsed_s, budget_s)
            if result is not None:
                results.append(result)
        return results

    def _account(self, name: str, elapsed_s: float, budget_s: float) -> None:
        if elapsed_s <= budget_s:
            self._strikes.pop(name, None)
            return
        with self._lock:
            strikes = self._strikes[name] = self._strikes.get(name, 0) + 1
            if strikes < self.strikes_to_demote:
                return
            del self._strikes[name]
            repeats = self._demotions_of[name] = self._demotions_of.get(name, 0) + 1
            period = min(self.demote_for_s * 2 ** (repeats - 1), self.max_demotion_s)
            self._demoted_until[name] = time.monotonic() + period
            self.demotions += 1
        _logger.warning(
            "evaluator %s used %.0f ms of CPU, over its %.0f ms budget %d times in a row: off"
            " the request path for %.0f s", name, elapsed_s * 1000, budget_s * 1000, strikes,
            period,
        )  # fmt: skip


evaluators = EvaluatorRegistry(builtin_evaluators())
_slow_runner: SlowEvaluationRunner | None = None
_slow_runner_lock = threading.Lock()


def slow_runner() -> SlowEvaluationRunner | None:
    """The background runner, started on first need: when a judge is configured
    (``AI_INCIDENTS_JUDGE_URL``) or a slow evaluator is registered."""
    global _slow_runner
    settings = get_settings()
    if settings.judge_url and "llm_judge" not in evaluators:
        evaluators.register(
            LLMJudgeEvaluator(
                settings.judge_url,
                settings.judge_model,
                api_key=settings.judge_api_key,
                rubric=settings.judge_rubric or DEFAULT_RUBRIC,
                timeout_s=settings.judge_timeout_s,
            )
        )
    if _slow_runner is None and evaluators.slow():
        with _slow_runner_lock:
            if _slow_runner is None:
                _slow_runner = SlowEvaluationRunner(
                    evaluators.slow,
                    sample_rate=settings.judge_sample_rate,
                    concurrency=settings.judge_concurrency,
                    budget_per_minute=settings.judge_budget_per_minute,
                    timeout_s=settings.judge_timeout_s,
                )
    return _slow_runner


def reset_slow_runner() -> None:
    """Stop the background runner and forget the configured judge; the next need starts
    them again with the settings then in force."""
    global _slow_runner
    with _slow_runner_lock:
        runner, _slow_runner = _slow_runner, None
    evaluators.unregister("llm_judge")
    if runner is not None:
        runner.shutdown()


def evaluate_interaction(interaction: Interaction, span: Span) -> None:
    """The capture listener: evaluate, then put scores, flags and events on the open span."""
    settings = get_settings()
    if not settings.enabled:
        return
    started = time.perf_counter()
    fast = evaluators.fast()
    if interaction.response_unread:
        fast = [e for e in fast if "output" not in e.reads]
    results = evaluators.run(bounded(interaction, settings.evaluator_max_chars), fast)
    span.set_attributes(span_attributes(interaction, results))
    events = settings.evaluation_events
    for result in results:
        if events == "all" or (events == "flagged" and (result.flag or result.label == "error")):
            span.add_event(semconv.GEN_AI_EVALUATION_RESULT, event_attributes(result))
    runner = slow_runner()
    if runner is not None and not interaction.response_unread:
        every = gate.heightened(interaction.feature)
        runner.submit(interaction, skip={evaluator.name for evaluator in fast}, every=every)
    _logger.debug("evaluated in %.0f µs", (time.perf_counter() - started) * 1e6)


def bounded(interaction: Interaction, max_chars: int) -> Interaction:
    """``interaction`` as the evaluators read it: of a message or document longer than
    ``max_chars``, its first and last halves (a copy; the original is not changed)."""
    texts = [m.content for m in (*interaction.input_messages, *interaction.output_messages)]
    texts += interaction.system_instructions
    documents = interaction.retrieval.documents if interaction.retrieval is not None else ()
    texts += [d.text for d in documents]
    if all(len(text) <= max_chars for text in texts):
        return interaction

    def cut(messages: list[Message]) -> list[Message]:
        return [dataclasses.replace(m, content=head_and_tail(m.content, max_chars))
                for m in messages]  # fmt: skip

    retrieval = interaction.retrieval
    if retrieval is not None:
        retrieval = dataclasses.replace(retrieval, documents=[
            dataclasses.replace(d, text=head_and_tail(d.text, max_chars)) for d in documents
        ])  # fmt: skip
    return dataclasses.replace(
        interaction,
        input_messages=cut(interaction.input_messages),
        output_messages=cut(interaction.output_messages),
        system_instructions=[head_and_tail(t, max_chars) for t in interaction.system_instructions],
        retrieval=retrieval,
    )


def span_attributes(interaction: Interaction, results: list[EvaluationResult]) -> dict[str, object]:
    """The composite ``ai.quality.*``, ``ai.safety.*`` and ``ai.retrieval.*`` attributes."""
    quality: list[EvaluationResult] = []
    safety: list[EvaluationResult] = []
    retrieval: list[EvaluationResult] = []
    by_aspect = {"quality": quality, "safety": safety, "retrieval": retrieval}
    for result in results:
        group = by_aspect.get(result.aspect)
        if group is not None and result.label != "error":
            group.append(result)
    attributes: dict[str, object] = {}
    if quality:
        weights = [QUALITY_WEIGHTS.get(r.name, 1.0) for r in quality]
        score = sum(w * r.score for w, r in zip(weights, quality, strict=True)) / sum(weights)
        flags = sorted({r.flag for r in quality if r.flag})
        attributes[semconv.AI_QUALITY_SCORE] = min(score, FLAGGED_QUALITY_CAP) if flags else score
        attributes[semconv.AI_QUALITY_FLAGS] = flags
    if safety:
        categories = sorted({r.flag for r in safety if r.flag})
        attributes[semconv.AI_SAFETY_SCORE] = max(r.score for r in safety)
        attributes[semconv.AI_SAFETY_FLAGGED] = bool(categories)
        attributes[semconv.AI_SAFETY_CATEGORIES] = categories
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
