"""Slow evaluators, run off the request path: a bounded queue, worker threads, a sampling
rate, a per-minute budget and a timeout. Results become ``gen_ai.evaluation.result`` log
events parented to the evaluated span, and go to result listeners (detection)."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Collection

from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan

from ai_incidents import semconv
from ai_incidents.capture._telemetry import get_telemetry
from ai_incidents.capture.interaction import Interaction
from ai_incidents.evaluation.base import EvaluationResult, Evaluator, event_attributes

_logger = logging.getLogger(__name__)

ResultListener = Callable[[Interaction, EvaluationResult], None]


class _MinuteBudget:
    """At most ``per_minute`` admissions in any 60-second window (token bucket)."""

    def __init__(self, per_minute: float) -> None:
        self.per_minute = per_minute
        self._tokens = per_minute
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = time.monotonic()
            self._tokens = min(
                self.per_minute, self._tokens + (now - self._last) * self.per_minute / 60
            )
            self._last = now
            if self._tokens >= 1:
                self._tokens -= 1
                return True
            return False


class SlowEvaluationRunner:
    """Runs slow evaluators (``evaluators()`` gives the current list) on sampled interactions
    in background threads.

    ``sample_rate`` picks interactions by trace id, so one trace is judged or not as a
    whole. Dropped work (queue full, over budget) is counted, never waited for.
    """

    def __init__(
        self,
        evaluators: Callable[[], list[Evaluator]],
        *,
        sample_rate: float = 1.0,
        concurrency: int = 2,
        budget_per_minute: float = 60.0,
        timeout_s: float = 30.0,
        max_queue: int = 256,
    ) -> None:
        self.evaluators = evaluators
        self.sample_rate = sample_rate
        self.timeout_s = timeout_s
        self.dropped_queue_full = 0
        self.dropped_over_budget = 0
        self.completed = 0
        self.errors = 0
        self.hung: dict[str, int] = {}
        """Time-outs per evaluator name."""
        self._budget = _MinuteBudget(budget_per_minute)
        self._queue: queue.Queue[tuple[Interaction, Evaluator] | None] = queue.Queue(max_queue)
        self._listeners: list[ResultListener] = []
        self._idle = threading.Condition()
        self._pending = 0
        self._workers = [
            threading.Thread(target=self._work, name=f"ai-incidents-judge-{i}", daemon=True)
            for i in range(concurrency)
        ]
        for worker in self._workers:
            worker.start()

    def add_listener(self, listener: ResultListener) -> None:
        self._listeners.append(listener)

    def submit(
        self, interaction: Interaction, skip: Collection[str] = (), every: bool = False
    ) -> None:
        """Queue the interaction for every slow evaluator not in ``skip``, if sampled (or
        ``every`` call is, under heightened monitoring) and within budget."""
        if not every and not self._sampled(interaction):
            return
        for evaluator in self.evaluators():
            if evaluator.name in skip or self.hung.get(evaluator.name, 0) >= 3:
                continue
            if not self._budget.take():
                self.dropped_over_budget += 1
                continue
            with self._idle:
                self._pending += 1
            try:
                self._queue.put_nowait((interaction, evaluator))
            except queue.Full:
                self.dropped_queue_full += 1
                self._done()

    def wait_idle(self, timeout_s: float) -> bool:
        """Block until all queued work is done (tests, shutdown); False on time-out."""
        deadline = time.monotonic() + timeout_s
        with self._idle:
            while self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    def shutdown(self) -> None:
        """Stop the workers after the work queued so far (waiting at most ``timeout_s``)."""
        deadline = time.monotonic() + self.timeout_s
        for _ in self._workers:
            try:
                self._queue.put(None, timeout=max(0.0, deadline - time.monotonic()))
            except queue.Full:
                break
        for worker in self._workers:
            worker.join(timeout=max(0.0, deadline - time.monotonic()))

    def _sampled(self, interaction: Interaction) -> bool:
        if self.sample_rate >= 1.0:
            return True
        context = interaction.span_context
        key = context.trace_id if context is not None else id(interaction)
        return (key % 10_000) < self.sample_rate * 10_000

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            interaction, evaluator = item
            try:
                self._evaluate(interaction, evaluator)
            finally:
                self._done()

    def _done(self) -> None:
        with self._idle:
            self._pending -= 1
            self._idle.notify_all()

    def _evaluate(self, interaction: Interaction, evaluator: Evaluator) -> None:
        """Run one evaluation in its own thread, given up after ``timeout_s``: a hung
        evaluator costs a thread, not a worker. One that hangs three times is dropped."""
        outcome: list[EvaluationResult | None] = []
        thread = threading.Thread(
            target=lambda: outcome.append(self._call(evaluator, interaction)),
            name=f"ai-incidents-eval-{evaluator.name}",
            daemon=True,
        )
        thread.start()
        thread.join(self.timeout_s)
        if thread.is_alive():
            self.errors += 1
            self.hung[evaluator.name] = self.hung.get(evaluator.name, 0) + 1
            if self.hung[evaluator.name] >= 3:
                _logger.warning("slow evaluator %s timed out 3 times: dropped", evaluator.name)
            result = EvaluationResult(
                evaluator.name, evaluator.aspect, 0.0, "error", None, "timeout"
            )
        else:
            result = outcome[0] if outcome else None
        if result is None:
            return
        self.completed += 1
        self._emit(interaction, result)
        for listener in self._listeners:
            try:
                listener(interaction, result)
            except Exception:
                _logger.exception("evaluation result listener failed")

    def _call(self, evaluator: Evaluator, interaction: Interaction) -> EvaluationResult | None:
        try:
            return evaluator.evaluate(interaction)
        except Exception as error:
            self.errors += 1
            _logger.warning("slow evaluator %s failed: %s", evaluator.name, error)
            return EvaluationResult(
                evaluator.name, evaluator.aspect, 0.0, "error", None, type(error).__name__
            )

    def _emit(self, interaction: Interaction, result: EvaluationResult) -> None:
        attributes = {
            **event_attributes(result),
            semconv.AI_FEATURE_NAME: interaction.feature,
        }
        if interaction.response_id:
            attributes[semconv.GEN_AI_RESPONSE_ID] = interaction.response_id
        context = None
        if interaction.span_context is not None and interaction.span_context.is_valid:
            context = trace.set_span_in_context(NonRecordingSpan(interaction.span_context))
        get_telemetry().logger.emit(
            event_name=semconv.GEN_AI_EVALUATION_RESULT, attributes=attributes, context=context
        )
