"""Cost of detection on the app's thread, and memory per (feature, model) key.

    python benchmarks/bench_processor.py

``IncidentSpanProcessor.on_end`` for an LLM span (all signals, drift, anomaly and regression
updates) and for any other span; one ``DriftMonitor.update``; the memory one detection key
holds (tracemalloc). Budgets (DESIGN.md): under 20 µs per LLM span, 2 µs per other span.
"""

from __future__ import annotations

import dataclasses
import gc
import random
import tempfile
import time
import tracemalloc

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from ai_incidents.config import Settings
from ai_incidents.detection.detector import Detector
from ai_incidents.detection.drift import Binning, DriftMonitor
from ai_incidents.detection.observation import Observation
from ai_incidents.detection.processor import IncidentSpanProcessor
from ai_incidents.incidents.model import SpanRef
from ai_incidents.pipeline import IncidentPipeline


def finished_spans(count: int, llm: bool) -> list:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("bench")
    rng = random.Random(1)
    for i in range(count):
        attributes = (
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
                "gen_ai.response.id": f"chatcmpl-{i}",
                "gen_ai.usage.input_tokens": rng.randint(400, 600),
                "gen_ai.usage.output_tokens": rng.randint(150, 250),
                "ai.feature.name": f"feature-{i % 5}",
                "ai.quality.score": rng.uniform(0.7, 1.0),
                "ai.quality.flags": (),
                "ai.safety.score": rng.uniform(0.0, 0.2),
                "ai.safety.categories": (),
                "ai.retrieval.relevance": rng.uniform(0.5, 1.0),
                "ai.retrieval.flags": (),
            }
            if llm
            else {"http.request.method": "GET", "url.path": "/health"}
        )
        with tracer.start_as_current_span(
            "chat gpt-4o-mini" if llm else "GET", attributes=attributes
        ):
            pass
    return list(exporter.get_finished_spans())


def per_call(function, items) -> float:
    gc.disable()
    started = time.perf_counter()
    for item in items:
        function(item)
    elapsed = time.perf_counter() - started
    gc.enable()
    return elapsed / len(items)


def main() -> None:
    llm_spans = finished_spans(20_000, llm=True)
    other_spans = finished_spans(20_000, llm=False)
    processor = IncidentSpanProcessor()
    per_call(processor.on_end, llm_spans[:2000])
    rows = [
        ("on_end, LLM span", per_call(processor.on_end, llm_spans[2000:]), 20.0),
        ("on_end, other span", per_call(processor.on_end, other_spans), 2.0),
    ]
    with tempfile.TemporaryDirectory() as folder:
        pipeline = IncidentPipeline(Settings(store=f"{folder}/i.db"), service="bench")
        per_call(pipeline.processor.on_end, llm_spans[:2000])
        hooked = per_call(pipeline.processor.on_end, llm_spans[2000:])
        rows.append(("on_end, LLM span, pipeline", hooked, None))
        pipeline.manager.shutdown()
    monitor = DriftMonitor(Binning(0.0, 1.0001, 20), window=200)
    values = [random.random() for _ in range(200_000)]
    rows.append(("DriftMonitor.update", per_call(monitor.update, values), None))

    detector = Detector()
    observation = Observation.from_span(dict(llm_spans[0].attributes), SpanRef(1, 1), 0.02, "f")
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for key in range(200):
        detector.observe(dataclasses.replace(observation, feature=f"feature-{key}"))
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))

    print(f"{'measure':28} {'median/mean':>12} {'budget':>8}")
    for name, seconds, budget in rows:
        limit = f"{budget:.0f} µs" if budget else ""
        print(f"{name:28} {seconds * 1e6:9.2f} µs {limit:>8}")
    print(f"{'memory per key':28} {grown / 200 / 1024:9.1f} KiB")
    print(f"keys held: {len(list(detector.states()))}, evicted: {detector.evicted_keys}")


if __name__ == "__main__":
    main()
