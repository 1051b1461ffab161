"""Stateful property tests: random sequences of calls, feedback, model changes and time
jumps drive the detector and the span processor; nothing may raise, detection never goes
blind, every candidate is well formed, and state stays bounded."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from ai_incidents.detection.detector import DetectionConfig, Detector
from ai_incidents.detection.observation import Observation
from ai_incidents.detection.processor import CollectedCandidates, IncidentSpanProcessor
from ai_incidents.incidents.model import SEVERITIES, Candidate, SpanRef

FEATURES = ("support", "search", "billing", "ok[/]")
MODELS = ("gpt-4o", "gpt-4o-2024-11-20", "claude-3")
QUALITY_FLAGS = ("empty", "truncated", "refusal", "irrelevant", "ungrounded")
CATEGORIES = ("prompt_injection", "jailbreak", "system_prompt_leak", "pii", "secret", "toxicity")
RETRIEVAL_FLAGS = ("empty", "stale", "low_relevance", "duplicate")
MODES = {"quality_degradation", "model_regression", "context_issues", "prompt_injection"}
MAX_KEYS = 4

scores = st.one_of(st.none(), st.floats(0.0, 1.0))
counts = st.one_of(st.none(), st.integers(0, 2**40))


def well_formed(candidate: Candidate) -> None:
    assert candidate.failure_mode in MODES
    assert candidate.severity in SEVERITIES
    assert SEVERITIES.index(candidate.severity) >= SEVERITIES.index(candidate.ceiling)
    assert candidate.signals and candidate.examples
    assert all(isinstance(v, (int, float, str, bool, list, dict, type(None)))
               for v in candidate.evidence.values())  # fmt: skip


class DetectorMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        config = DetectionConfig(drift_window=20, max_keys=MAX_KEYS, population_interval_s=5.0)
        self.detector = Detector(config)
        self.now = 1_700_000_000.0
        self.spans = 0
        self.responses: list[str] = []

    @rule(
        feature=st.sampled_from(FEATURES),
        model=st.sampled_from(MODELS),
        quality=scores,
        quality_flags=st.lists(st.sampled_from(QUALITY_FLAGS), max_size=2, unique=True),
        categories=st.lists(st.sampled_from(CATEGORIES), max_size=2, unique=True),
        relevance=scores,
        retrieval_flags=st.lists(st.sampled_from(RETRIEVAL_FLAGS), max_size=2, unique=True),
        latency=st.floats(0.0, 600.0),
        first_chunk=st.one_of(st.none(), st.floats(0.0, 60.0)),
        tokens=counts,
        error=st.booleans(),
        user=st.one_of(st.none(), st.sampled_from(("u-1", "u-2", "u-3"))),
        repeat=st.integers(1, 40),
    )
    def calls(self, feature, model, quality, quality_flags, categories, relevance,
              retrieval_flags, latency, first_chunk, tokens, error, user, repeat):  # fmt: skip
        for _ in range(repeat):
            self.spans += 1
            response_id = f"resp-{self.spans}"
            observation = Observation(
                span=SpanRef(self.spans, self.spans),
                feature=feature,
                model=model,
                requested_model=model.split("-20")[0],
                response_id=response_id,
                quality_score=quality,
                quality_flags=tuple(quality_flags),
                safety_score=1.0 if categories else 0.0,
                safety_categories=tuple(categories),
                retrieval_relevance=relevance,
                retrieval_flags=tuple(retrieval_flags),
                latency_s=latency,
                time_to_first_chunk_s=first_chunk,
                input_tokens=tokens,
                output_tokens=tokens,
                error=error,
                user=user,
            )
            candidates = self.detector.observe(observation, now=self.now)
            for candidate in candidates:
                well_formed(candidate)
            alerted = any("safety_violation" in c.signals and not c.population for c in candidates)
            assert alerted or not categories, "a safety violation must alert at once"
            self.responses = [*self.responses[-50:], response_id]
            self.now += 0.05

    @rule(negative=st.booleans(), known=st.booleans(), repeat=st.integers(1, 15))
    def feedback(self, negative, known, repeat):
        for i in range(repeat):
            response_id = self.responses[-1 - i % len(self.responses)] if (
                known and self.responses) else "unknown"  # fmt: skip
            candidates = self.detector.observe_feedback(
                feature="support", negative=negative, span=SpanRef(9, i + 1),
                response_id=response_id, rated=None, now=self.now,
            )  # fmt: skip
            for candidate in candidates:
                well_formed(candidate)

    @rule(seconds=st.one_of(st.floats(-3600.0, 3600.0), st.floats(86400.0, 10 * 86400.0)))
    def time_jump(self, seconds):
        self.now += seconds

    @invariant()
    def never_blind(self):
        assert self.detector.errors == 0
        assert len(list(self.detector.states())) <= MAX_KEYS


TestDetector = DetectorMachine.TestCase
TestDetector.settings = settings(
    max_examples=60, stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)  # fmt: skip


attribute_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.lists(st.text(max_size=10), max_size=3).map(tuple),
    st.lists(st.integers(), max_size=3).map(tuple),
)
ATTRIBUTE_NAMES = (
    "ai.quality.score", "ai.quality.flags", "ai.safety.score", "ai.safety.categories",
    "ai.retrieval.relevance", "ai.retrieval.flags", "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens", "gen_ai.response.model", "gen_ai.request.model",
    "gen_ai.response.time_to_first_chunk", "gen_ai.response.id", "enduser.id", "error.type",
)  # fmt: skip


class ProcessorMachine(RuleBasedStateMachine):
    """Spans with attributes of any type, as other instrumentations or a hostile app set."""

    def __init__(self) -> None:
        super().__init__()
        from opentelemetry.sdk.trace import TracerProvider

        self.sink = CollectedCandidates()
        self.processor = IncidentSpanProcessor(
            Detector(DetectionConfig(drift_window=20, max_keys=MAX_KEYS)), self.sink
        )
        self.tracer = TracerProvider().get_tracer("properties")

    @rule(
        values=st.dictionaries(st.sampled_from(ATTRIBUTE_NAMES), attribute_values, max_size=8),
        feature=st.sampled_from(FEATURES),
        latency_ns=st.integers(-(10**9), 10**12),
        feedback=st.booleans(),
    )
    def span(self, values, feature, latency_ns, feedback):
        clean = {k: v for k, v in values.items() if v is not None}
        if not feedback:
            clean = {**clean, "gen_ai.operation.name": "chat", "ai.feature.name": feature}
        else:
            clean = {**clean, "ai.feedback.label": "negative"}
        span = self.tracer.start_span("ai.feedback" if feedback else "chat x", attributes=clean,
                                      start_time=10**18)  # fmt: skip
        span.end(end_time=10**18 + latency_ns)
        self.processor.on_end(span)
        categories = clean.get("ai.safety.categories")
        if (
            not feedback
            and isinstance(categories, tuple)
            and any(isinstance(c, str) and c for c in categories)
        ):
            assert self.sink.candidates, "a safety category must raise a candidate"

    @invariant()
    def never_failed(self):
        assert self.processor.errors == 0
        assert self.processor.detector.errors == 0
        for candidate in self.sink.candidates[-20:]:
            well_formed(candidate)
            assert all(not (isinstance(v, float) and math.isnan(v))
                       for v in candidate.evidence.values())  # fmt: skip


TestProcessor = ProcessorMachine.TestCase
TestProcessor.settings = settings(
    max_examples=60, stateful_step_count=30, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)  # fmt: skip
