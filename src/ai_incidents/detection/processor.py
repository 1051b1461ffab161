"""``IncidentSpanProcessor``: detection on every finished span, on the app's thread.

``on_end`` reads the span's attributes, updates the detector's streaming state and keeps
the resulting candidates in memory for the ``IncidentExporter``: no I/O, O(1) work. Spans
that are neither LLM calls nor feedback return after one attribute lookup.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Mapping
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from ai_incidents import semconv
from ai_incidents.detection.detector import DetectionConfig, Detector
from ai_incidents.detection.observation import Observation
from ai_incidents.incidents.model import Candidate, SpanRef

_logger = logging.getLogger(__name__)
_LLM_OPERATIONS = frozenset({semconv.OPERATION_CHAT, semconv.OPERATION_TEXT_COMPLETION})
_DEFAULT_MAX_PENDING = 10_000


class IncidentSpanProcessor(SpanProcessor):
    """Detects incident signals on LLM and feedback spans; candidates wait for export.

    ``max_pending`` bounds the candidates waiting for their spans to be exported (the
    oldest are dropped first and counted in ``dropped``).
    """

    def __init__(
        self,
        detector: Detector | None = None,
        max_pending: int = _DEFAULT_MAX_PENDING,
        default_feature: str = "unknown",
    ) -> None:
        self.detector = detector or Detector(DetectionConfig())
        self.max_pending = max_pending
        self.default_feature = default_feature
        self.dropped = 0
        self._lock = threading.Lock()
        self._by_span: collections.OrderedDict[int, list[Candidate]] = collections.OrderedDict()
        self._population: collections.deque[Candidate] = collections.deque()

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
                self._keep(span, candidates)
        except Exception:
            _logger.exception("ai-incidents could not run detection on span %s", span.name)

    def _observe_call(self, span: ReadableSpan, attributes) -> list[Candidate]:
        latency = ((span.end_time or 0) - (span.start_time or 0)) / 1e9
        observation = Observation.from_span(attributes, _ref(span), latency, self.default_feature)
        with self._lock:
            return self.detector.observe(observation)

    def _observe_feedback(self, span: ReadableSpan, attributes) -> list[Candidate]:
        rated = next((SpanRef(link.context.trace_id, link.context.span_id)
                      for link in span.links), None)  # fmt: skip
        with self._lock:
            return self.detector.observe_feedback(
                feature=str(attributes.get(semconv.AI_FEATURE_NAME) or self.default_feature),
                negative=attributes.get(semconv.AI_FEEDBACK_LABEL) == "negative",
                span=_ref(span),
                response_id=attributes.get(semconv.GEN_AI_RESPONSE_ID),
                rated=rated,
            )

    def _keep(self, span: ReadableSpan, candidates: list[Candidate]) -> None:
        # A span the sampler records but does not export never reaches the exporter: its
        # own candidates then travel like population ones, as incident spans.
        exported = span.context.trace_flags.sampled
        with self._lock:
            for candidate in candidates:
                if candidate.population or not exported:
                    self._population.append(candidate)
                else:
                    self._by_span.setdefault(span.context.span_id, []).append(candidate)
            while len(self._by_span) + len(self._population) > self.max_pending:
                if self._by_span:
                    self.dropped += len(self._by_span.popitem(last=False)[1])
                else:
                    self._population.popleft()
                    self.dropped += 1

    def take_for_span(self, span_id: int) -> list[Candidate]:
        """The candidates raised on this span, handed over once."""
        with self._lock:
            return self._by_span.pop(span_id, [])

    def put_back(self, candidates: list[Candidate]) -> None:
        """Candidates that could not be stored: they wait for the next export (their span
        has left by then, so they travel as incident spans)."""
        with self._lock:
            self._population.extendleft(reversed(candidates))

    def take_population(self) -> list[Candidate]:
        """Population-level candidates waiting for export, handed over once."""
        with self._lock:
            taken = list(self._population)
            self._population.clear()
            return taken

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def _attributes_of(span: ReadableSpan) -> Mapping[str, Any]:
    """The span's attributes as a plain dict when the SDK keeps one (``BoundedAttributes``
    wraps a dict): its public read-only view costs a Python call per lookup."""
    inner = getattr(getattr(span, "_attributes", None), "_dict", None)
    return inner if isinstance(inner, dict) else (span.attributes or {})


def _ref(span: ReadableSpan) -> SpanRef:
    return SpanRef(span.context.trace_id, span.context.span_id)
