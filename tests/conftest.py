"""Shared fixtures: one instrumented SDK pipeline with in-memory exporters, a provider server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from ai_incidents import AIIncidentsInstrumentor, Interaction, add_listener, remove_listener
from ai_incidents.config import reload_settings
from ai_incidents.evaluation.runner import reset_slow_runner
from ai_incidents.semconv import INSTRUMENTATION_SCOPE
from ai_incidents.testing import ProviderServer


class Telemetry:
    """What the instrumented pipeline exported."""

    def __init__(self) -> None:
        resource = Resource.create({"service.name": "test-service"})
        self.span_exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider(resource=resource)
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.span_exporter))
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
            and s.attributes.get("gen_ai.operation.name") in ("chat", "embeddings")
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
    yield _instrumented
    reload_settings({})
    reset_slow_runner()


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with ProviderServer() as provider:
        yield provider
