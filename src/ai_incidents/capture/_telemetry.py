"""The tracer, meter, logger and instruments capture writes with."""

from __future__ import annotations

from opentelemetry import _logs, metrics, trace

from ai_incidents import semconv
from ai_incidents.version import __version__

# Bucket boundaries the GenAI conventions recommend for these histograms.
_DURATION_BUCKETS = (
    0.01,
    0.02,
    0.04,
    0.08,
    0.16,
    0.32,
    0.64,
    1.28,
    2.56,
    5.12,
    10.24,
    20.48,
    40.96,
    81.92,
)
_TOKEN_BUCKETS = (
    1,
    4,
    16,
    64,
    256,
    1024,
    4096,
    16384,
    65536,
    262144,
    1048576,
    4194304,
    16777216,
    67108864,
)


class Telemetry:
    """Everything capture emits through, made from one set of providers."""

    def __init__(
        self,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
        logger_provider: _logs.LoggerProvider | None = None,
    ) -> None:
        scope = semconv.INSTRUMENTATION_SCOPE
        self._tracer_provider = tracer_provider
        self.tracer = trace.get_tracer(scope, __version__, tracer_provider)
        self.logger = _logs.get_logger(scope, __version__, logger_provider=logger_provider)
        meter = metrics.get_meter(scope, __version__, meter_provider)
        self.operation_duration = meter.create_histogram(
            semconv.GEN_AI_CLIENT_OPERATION_DURATION,
            unit="s",
            description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        self.token_usage = meter.create_histogram(
            semconv.GEN_AI_CLIENT_TOKEN_USAGE,
            unit="{token}",
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=_TOKEN_BUCKETS,
        )
        self.time_to_first_chunk = meter.create_histogram(
            semconv.GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK,
            unit="s",
            description="Time to receive the first chunk of a streamed response.",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        self.capture_errors = meter.create_counter(
            semconv.AI_CAPTURE_ERRORS_METRIC,
            unit="{error}",
            description="LLM calls whose request or response could not be fully captured.",
        )
        self.guardrail_decisions = meter.create_counter(
            semconv.AI_GUARDRAIL_DECISIONS_METRIC,
            unit="{decision}",
            description="Guardrail decisions: calls blocked or sent for review, data redacted.",
        )

    def service_name(self) -> str | None:
        """``service.name`` of the tracer provider's resource, once an SDK provider is set."""
        provider = self._tracer_provider or trace.get_tracer_provider()
        resource = getattr(provider, "resource", None)
        name = resource.attributes.get("service.name") if resource is not None else None
        return name if isinstance(name, str) else None


_telemetry: Telemetry | None = None


def get_telemetry() -> Telemetry:
    """The telemetry set by the instrumentor, else one on the global providers."""
    global _telemetry
    if _telemetry is None:
        _telemetry = Telemetry()
    return _telemetry


def set_telemetry(telemetry: Telemetry | None) -> None:
    global _telemetry
    _telemetry = telemetry
