"""Incidents reach a real OTLP/HTTP receiver, and are sent again after it was down."""

from __future__ import annotations

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from ai_incidents.config import Settings
from ai_incidents.pipeline import IncidentPipeline
from ai_incidents.testing.otlp_receiver import OTLPReceiver

LEAK = {
    "gen_ai.operation.name": "chat",
    "gen_ai.request.model": "gpt-4o",
    "ai.feature.name": "support",
    "ai.safety.flagged": True,
    "ai.safety.categories": ("prompt_injection", "system_prompt_leak"),
    "ai.safety.score": 1.0,
}
BENIGN = {
    "gen_ai.operation.name": "chat",
    "gen_ai.request.model": "gpt-4o",
    "ai.feature.name": "support",
    "ai.quality.score": 0.9,
}


def provider_for(endpoint: str, tmp_path) -> tuple[TracerProvider, IncidentPipeline]:
    pipeline = IncidentPipeline(Settings(store=str(tmp_path / "incidents.db")))
    provider = TracerProvider(resource=Resource.create({"service.name": "outage-test"}))
    exporter = OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces", timeout=1)
    provider.add_span_processor(pipeline.processor)
    provider.add_span_processor(SimpleSpanProcessor(pipeline.wrap(exporter)))
    return provider, pipeline


def destination(pipeline: IncidentPipeline) -> str:
    (name,) = pipeline.store.destinations
    return name


def incident_events(receiver: OTLPReceiver) -> list:
    return [
        event for span in receiver.spans() for event in span.events if event.name == "ai.incident"
    ]


def test_incident_event_reaches_the_receiver_on_the_offending_span(tmp_path):
    with OTLPReceiver() as receiver:
        provider, pipeline = provider_for(receiver.endpoint, tmp_path)
        with provider.get_tracer("app").start_as_current_span("chat gpt-4o", attributes=LEAK):
            pass
        (event,) = receiver.wait_for(incident_events)
        provider.shutdown()

    (span,) = [s for s in receiver.spans() if s.events]
    attributes = {kv.key: kv.value.string_value for kv in event.attributes}
    assert span.name == "chat gpt-4o"
    assert attributes["ai.incident.severity"] == "high"
    assert attributes["ai.incident.failure_mode"] == "prompt_injection"
    assert attributes["ai.incident.feature"] == "support"
    assert pipeline.store.pending_delivery(destination(pipeline)) == []


def test_incidents_written_during_an_outage_are_sent_when_it_ends(tmp_path):
    receiver = OTLPReceiver().start()
    port = int(receiver.endpoint.rsplit(":", 1)[1])
    endpoint = receiver.endpoint
    receiver.stop()
    provider, pipeline = provider_for(endpoint, tmp_path)
    tracer = provider.get_tracer("app")

    with tracer.start_as_current_span("chat gpt-4o", attributes=LEAK):
        pass
    (pending,) = pipeline.store.pending_delivery(destination(pipeline))
    assert pending.severity == "high"

    with OTLPReceiver(port=port) as restarted:
        with tracer.start_as_current_span("chat gpt-4o", attributes=BENIGN):
            pass
        (event,) = restarted.wait_for(incident_events)
        provider.shutdown()

    attributes = {kv.key: kv.value.string_value for kv in event.attributes}
    resent = [s for s in restarted.spans() if s.name == "ai.incident prompt_injection"]
    assert attributes["ai.incident.id"] == pending.id
    assert resent and resent[0].links
    assert pipeline.store.pending_delivery(destination(pipeline)) == []


def test_attach_wraps_each_exporter_once_and_adds_the_processor_once(tmp_path):
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    provider = TracerProvider()
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    provider.add_span_processor(BatchSpanProcessor(InMemorySpanExporter()))
    pipeline = IncidentPipeline(Settings(store=str(tmp_path / "i.db")))

    assert pipeline.attach(provider) == 2
    assert pipeline.attach(provider) == 0
    with provider.get_tracer("app").start_as_current_span("chat gpt-4o", attributes=LEAK):
        pass

    processors = provider._active_span_processor._span_processors
    assert processors.count(pipeline.processor) == 1
    assert pipeline.store.destinations == {
        "unknown@InMemorySpanExporter",
        "unknown@InMemorySpanExporter#2",
    }
    (incident,) = pipeline.store.list()
    assert incident.count == 1
    (span,) = [s for s in memory.get_finished_spans() if s.name == "chat gpt-4o"]
    assert [e.name for e in span.events] == ["ai.incident"]
    provider.shutdown()


def test_genai_spans_of_other_instrumentations_are_not_counted_twice(tmp_path):
    provider, pipeline = provider_for("http://127.0.0.1:9", tmp_path)
    tracer = provider.get_tracer("com.anthropic.sdk.python")
    foreign = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "claude"}
    with tracer.start_as_current_span("anthropic.messages.create", attributes=foreign):
        with tracer.start_as_current_span("chat gpt-4o", attributes=BENIGN):
            pass

    assert [key for key, _ in pipeline.detector.states()] == [("support", "gpt-4o")]
