"""Shared fixtures: one instrumented SDK pipeline with in-memory exporters, a provider server."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import pytest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from ai_incidents import AIIncidentsInstrumentor, Interaction, add_listener, remove_listener
from ai_incidents.capture.context import set_current_retrieval
from ai_incidents.config import configure, reload_settings
from ai_incidents.evaluation.runner import reset_slow_runner
from ai_incidents.pipeline import IncidentPipeline
from ai_incidents.semconv import INSTRUMENTATION_SCOPE
from ai_incidents.testing import ProviderServer


class _IncidentSlot(SpanProcessor):
    """The incident processor of the running test, if it uses one."""

    target: SpanProcessor | None = None

    def on_end(self, span: ReadableSpan) -> None:
        if self.target is not None:
            self.target.on_end(span)


class _ExporterSlot(SpanExporter):
    """The in-memory exporter, wrapped by the running test's incident exporter, if any."""

    def __init__(self, exporter: SpanExporter) -> None:
        self.exporter = exporter
        self.wrapper: SpanExporter | None = None

    def export(self, spans):
        return (self.wrapper or self.exporter).export(spans)


class Telemetry:
    """What the instrumented pipeline exported."""

    def __init__(self) -> None:
        resource = Resource.create({"service.name": "test-service"})
        self.span_exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider(resource=resource)
        self.incident_slot = _IncidentSlot()
        self.exporter_slot = _ExporterSlot(self.span_exporter)
        self.tracer_provider.add_span_processor(self.incident_slot)
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter_slot))
        self.metric_reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(resource=resource, metric_readers=[self.metric_reader])
        self.log_exporter = InMemoryLogRecordExporter()
        self.logger_provider = LoggerProvider(resource=resource)
        self.logger_provider.add_log_record_processor(SimpleLogRecordProcessor(self.log_exporter))
        self.interactions: list[Interaction] = []

    def llm_spans(self) -> list[ReadableSpan]:
        """Finished GenAI spans of ours (not retrieval or feedback spans)."""
        return [
            s
            for s in self.span_exporter.get_finished_spans()
            if s.instrumentation_scope.name == INSTRUMENTATION_SCOPE
            and s.attributes.get("gen_ai.operation.name")
            in ("chat", "embeddings", "text_completion")
        ]

    def only_llm_span(self) -> ReadableSpan:
        spans = self.llm_spans()
        assert len(spans) == 1, [s.name for s in spans]
        return spans[0]

    def spans_named(self, name: str) -> list[ReadableSpan]:
        return [s for s in self.span_exporter.get_finished_spans() if s.name == name]

    def metric_points(self, name: str) -> list:
        data = self.metric_reader.get_metrics_data()
        points = []
        for resource_metrics in data.resource_metrics if data else ():
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    if metric.name == name:
                        points.extend(metric.data.data_points)
        return points

    def reset(self) -> None:
        self.span_exporter.clear()
        self.log_exporter.clear()
        self.interactions.clear()


@pytest.fixture(scope="session")
def _instrumented() -> Iterator[Telemetry]:
    reload_settings({})
    telemetry = Telemetry()
    instrumentor = AIIncidentsInstrumentor()
    instrumentor.instrument(
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
        logger_provider=telemetry.logger_provider,
    )
    listener = lambda interaction, span: telemetry.interactions.append(interaction)  # noqa: E731
    add_listener(listener)
    yield telemetry
    remove_listener(listener)
    instrumentor.uninstrument()


@pytest.fixture
def telemetry(_instrumented: Telemetry) -> Iterator[Telemetry]:
    """The instrumented pipeline, emptied before the test; settings back to defaults after."""
    _instrumented.reset()
    reload_settings({})
    set_current_retrieval(None)
    yield _instrumented
    reload_settings({})
    reset_slow_runner()


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with ProviderServer() as provider:
        yield provider


def wait_for(condition, timeout_s: float = 10.0):
    """Poll ``condition`` until truthy (work finished on another thread); return it."""
    deadline = time.monotonic() + timeout_s
    while not (result := condition()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)
    return result


@contextlib.contextmanager
def attached(telemetry: Telemetry, enforce: bool = False) -> Iterator[IncidentPipeline]:
    """An incident pipeline on the instrumented provider, made with the settings in force;
    with ``enforce``, it acts on calls (containment, guardrails)."""
    pipeline = IncidentPipeline(
        meter_provider=telemetry.meter_provider,
        logger_provider=telemetry.logger_provider,
        default_feature="test-service",
    )
    telemetry.incident_slot.target = pipeline.processor
    telemetry.exporter_slot.wrapper = pipeline.wrap(telemetry.span_exporter)
    if enforce:
        pipeline.enforce()
    try:
        yield pipeline
    finally:
        if enforce:
            pipeline.stop_enforcing()
            pipeline.manager.shutdown()
        telemetry.incident_slot.target = None
        telemetry.exporter_slot.wrapper = None


def enforcing(telemetry: Telemetry) -> contextlib.AbstractContextManager[IncidentPipeline]:
    return attached(telemetry, enforce=True)


@pytest.fixture
def incidents(telemetry, tmp_path) -> Iterator[IncidentPipeline]:
    """An incident pipeline on the instrumented provider, with a fresh store and detector."""
    configure(store=str(tmp_path / "incidents.sqlite3"), drift_window=50,
              population_interval_s=3600)  # fmt: skip
    with attached(telemetry) as pipeline:
        yield pipeline
