"""``IncidentSpanProcessor``: detection on every finished span, on the app's thread.

``on_end`` reads the span's attributes, updates the detector's streaming state and hands
the resulting candidates to a ``CandidateSink`` (the incident manager's bounded queue): no
I/O, O(1) work. Spans that are neither LLM calls nor feedback return after one lookup.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from ai_incidents import semconv
from ai_incidents.detection.detector import DetectionConfig, Detector
from ai_incidents.detection.observation import Observation, clean_name
from ai_incidents.incidents.model import Candidate, SpanRef

_logger = logging.getLogger(__name__)
_LLM_OPERATIONS = frozenset({semconv.OPERATION_CHAT, semconv.OPERATION_TEXT_COMPLETION})


class CandidateSink(Protocol):
    """Where candidates go: ``submit`` must not block; flushed and shut with the processor."""

    def submit(self, candidate: Candidate) -> None: ...

    def force_flush(self) -> None: ...

    def shutdown(self) -> None: ...


class CollectedCandidates:
    """A candidate sink that keeps every candidate in a list (replay, tests)."""

    def __init__(self) -> None:
        self.candidates: list[Candidate] = []

    def submit(self, candidate: Candidate) -> None:
        self.candidates.append(candidate)

    def force_flush(self) -> None:
        pass

    def shutdown(self) -> None:
        pass


class IncidentSpanProcessor(SpanProcessor):
    """Detects incident signals on LLM and feedback spans and submits the candidates."""

    def __init__(
        self,
        detector: Detector | None = None,
        sink: CandidateSink | None = None,
        default_feature: str = "unknown",
        on_observation: Callable[[Observation, ReadableSpan, Mapping[str, Any]], None]
        | None = None,
        at_span_time: bool = False,
    ) -> None:
        self.detector = detector or Detector(DetectionConfig())
        self.sink = sink
        self.on_observation = on_observation
        """Called with each LLM call's observation, span and attributes (score metrics, the
        flight recorder)."""
        self.default_feature = default_feature
        self.at_span_time = at_span_time
        """Judge each span at its end time rather than now (replaying recorded spans)."""
        self.errors = 0
        """Spans detection failed on (logged the first time)."""
        self._init_lock()
        weak_reinit = weakref.WeakMethod(self._init_lock)
        os.register_at_fork(after_in_child=lambda: (weak_reinit() or (lambda: None))())

    def _init_lock(self) -> None:
        """A fresh lock (at start, and in a forked child: a thread of the parent may have
        held it at the fork, and it does not exist in the child)."""
        self._lock = threading.Lock()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        pass

    def on_end(self, span: ReadableSpan) -> None:
        attributes = _attributes_of(span)
        # Our LLM spans carry ai.feature.name; GenAI spans of other instrumentations (the
        # anthropic SDK's, the OpenAI instrumentation's) wrap the same call and are skipped.
        ours = (
            attributes.get(semconv.GEN_AI_OPERATION_NAME) in _LLM_OPERATIONS
            and semconv.AI_FEATURE_NAME in attributes
        )
        if not ours and span.name != semconv.AI_FEEDBACK:
            return
        try:
            if ours:
                candidates = self._observe_call(span, attributes)
            else:
                candidates = self._observe_feedback(span, attributes)
            if candidates:
                self._submit(span, candidates)
        except Exception:
            self.errors += 1
            if self.errors == 1:
                _logger.exception("ai-incidents could not run detection on span %s", span.name)

    def _observe_call(self, span: ReadableSpan, attributes) -> list[Candidate]:
        latency = ((span.end_time or 0) - (span.start_time or 0)) / 1e9
        observation = Observation.from_span(attributes, _ref(span), latency, self.default_feature)
        if self.on_observation is not None:
            self.on_observation(observation, span, attributes)
        with self._lock:
            return self.detector.observe(observation, self._now(span))

    def _observe_feedback(self, span: ReadableSpan, attributes) -> list[Candidate]:
        rated = next((SpanRef(link.context.trace_id, link.context.span_id)
                      for link in span.links), None)  # fmt: skip
        with self._lock:
            return self.detector.observe_feedback(
                feature=clean_name(attributes.get(semconv.AI_FEATURE_NAME) or self.default_feature),
                negative=attributes.get(semconv.AI_FEEDBACK_LABEL) == "negative",
                span=_ref(span),
                response_id=attributes.get(semconv.GEN_AI_RESPONSE_ID),
                rated=rated,
                now=self._now(span),
            )

    def _now(self, span: ReadableSpan) -> float | None:
        return span.end_time / 1e9 if self.at_span_time and span.end_time else None

    def _submit(self, span: ReadableSpan, candidates: list[Candidate]) -> None:
        # A span the sampler records but does not export never reaches the exporters: its
        # own candidates then travel like population ones, as incident spans.
        if self.sink is None:
            return
        exported = span.context.trace_flags.sampled
        for candidate in candidates:
            candidate.span_exported = exported
            self.sink.submit(candidate)

    def shutdown(self) -> None:
        if self.sink is not None:
            self.sink.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        if self.sink is not None:
            self.sink.force_flush()
        return True


def _attributes_of(span: ReadableSpan) -> Mapping[str, Any]:
    """The span's attributes as a plain dict when the SDK keeps one (``BoundedAttributes``
    wraps a dict): its public read-only view costs a Python call per lookup."""
    inner = getattr(getattr(span, "_attributes", None), "_dict", None)
    return inner if isinstance(inner, dict) else (span.attributes or {})


def _ref(span: ReadableSpan) -> SpanRef:
    return SpanRef(span.context.trace_id, span.context.span_id)
