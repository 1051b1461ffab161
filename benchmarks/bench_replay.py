"""Replay speed: LLM spans per second through ``ai-incidents replay``'s detection.

    python benchmarks/bench_replay.py [SPANS]

200 real calls (the openai SDK against the local provider server, instrumented, content
exported; a fifth refused) are captured once, then written with fresh ids and times as
OTLP JSON lines (100 spans a line, as the collector's file exporter batches them) up to
SPANS (20,000) spans, and as the SDK's span JSON; each file is replayed, then the OTLP one
again with ``--reevaluate``.
"""

from __future__ import annotations

import random
import sys
import tempfile
from pathlib import Path

import openai
from google.protobuf.json_format import MessageToJson
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import SpanContext

from ai_incidents import AIIncidentsInstrumentor, feature
from ai_incidents.config import configure
from ai_incidents.investigation.replay import replay
from ai_incidents.testing import ProviderServer, Reply

_STEP_NS = 100_000_000


def captured(calls: int = 200) -> list[ReadableSpan]:
    configure(capture_content="span_only")
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = AIIncidentsInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        with ProviderServer() as server, openai.OpenAI(base_url=server.openai_base_url,
                                                       api_key="t") as client:  # fmt: skip
            server.responder = lambda api, body: Reply(
                text="I can't help with that." if random.random() < 0.2 else
                "Open Settings, choose Security and follow the password reset link."
            )  # fmt: skip
            with feature("support-bot"):
                for n in range(calls):
                    client.chat.completions.create(model="gpt-4o-mini", messages=[
                        {"role": "system", "content": "You are Acme's support assistant."},
                        {"role": "user", "content": f"How do I reset my password? ({n})"},
                    ])  # fmt: skip
    finally:
        instrumentor.uninstrument()
    return list(exporter.get_finished_spans())


def copies(spans: list[ReadableSpan], total: int) -> list[ReadableSpan]:
    start = spans[0].start_time or 0
    made = []
    for n in range(total):
        span = spans[n % len(spans)]
        duration = (span.end_time or 0) - (span.start_time or 0)
        at = start + n * _STEP_NS
        made.append(ReadableSpan(
            name=span.name, context=SpanContext(random.getrandbits(128), random.getrandbits(64),
                                                False, span.context.trace_flags),
            attributes=span.attributes, start_time=at, end_time=at + duration,
            resource=span.resource, kind=span.kind,
            instrumentation_scope=span.instrumentation_scope,
        ))  # fmt: skip
    return made


def main(total: int) -> None:
    spans = copies([s for s in captured() if s.attributes.get("gen_ai.operation.name")], total)
    folder = Path(tempfile.mkdtemp(prefix="bench-replay-"))
    otlp, sdk = folder / "spans.jsonl", folder / "console.json"
    with open(otlp, "w") as out:
        for at in range(0, len(spans), 100):
            out.write(MessageToJson(encode_spans(spans[at : at + 100]), indent=None) + "\n")
    sdk.write_text("".join(s.to_json() + "\n" for s in spans))
    for name, path, again in (("OTLP JSON lines", otlp, False), ("SDK span JSON", sdk, False),
                              ("OTLP JSON lines, --reevaluate", otlp, True)):  # fmt: skip
        result = replay(path, reevaluate=again)
        size = path.stat().st_size / 1e6
        print(
            f"{name}: {result.llm_spans} LLM spans ({size:.0f} MB) in {result.seconds:.2f} s:"
            f" {result.llm_spans_per_s:,.0f} LLM spans/s, {len(result.incidents)} incidents"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
