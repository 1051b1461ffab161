"""Containment: what checking it costs a call, and how soon an action takes effect.

    python benchmarks/bench_containment.py

- the capture gate's check per call (``Containment.decide``): nothing in force, another
  feature contained, a rollback in force for the call's feature, users blocked;
- from a population-level detection submitted on the app's thread to the feature disabled
  in this process (the manager's worker stores it, contains it, refreshes the snapshot);
- from an operator's ``resolve`` in another process (the CLI) to the feature working again
  here (the worker polls the store every second).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from ai_incidents.capture.interaction import Interaction
from ai_incidents.config import Settings
from ai_incidents.containment.policy import Plan
from ai_incidents.detection.observation import fingerprint
from ai_incidents.incidents.model import Candidate, SpanRef
from ai_incidents.pipeline import IncidentPipeline


def check_cost(pipeline: IncidentPipeline) -> list[tuple[str, float]]:
    containment = pipeline.containment
    call = Interaction("chat", "openai", "openai.chat_completions", "support-bot",
                       end_user="alice")  # fmt: skip
    rows = []
    for label, plans in (
        ("nothing in force", []),
        ("another feature contained", [Plan("feature_disabled", "search")]),
        ("rollback in force for the call's feature", [Plan("rolled_back", "support-bot",
                                                          model="gpt-4o-2024-08-06")]),
        ("100 users blocked, not this one", [Plan("feature_disabled", "support-bot",
                                                  subject=fingerprint(f"u{i}"))
                                             for i in range(100)]),
    ):  # fmt: skip
        if plans:
            pipeline.containment_state.apply(f"inc-{label[:8]}", plans, actor="bench")
        runs = timeit.repeat(lambda: containment.decide(call), number=20_000, repeat=5)
        rows.append((label, min(runs) / 20_000 * 1e6))
    return rows


def detection_to_containment(pipeline: IncidentPipeline, runs: int = 20) -> list[float]:
    delays = []
    for run in range(runs):
        feature = f"feature-{run}"
        candidate = Candidate(
            "quality_degradation", "critical", ("low_quality",), feature, "gpt-4o",
            "rate:low_quality", {"detector": "bernoulli_cusum"}, (SpanRef(1, run + 1),),
            population=True, detected_at=time.time(),
        )  # fmt: skip
        started = time.perf_counter()
        pipeline.manager.submit(candidate)
        while (found := pipeline.containment_state.get(feature)) is None or not found.disabled:
            time.sleep(0.001)
        delays.append(time.perf_counter() - started)
    return delays


def resolve_to_resumed(pipeline: IncidentPipeline, store: Path, runs: int = 5) -> list[float]:
    delays = []
    for run in range(runs):
        feature = f"resumed-{run}"
        incident = pipeline.store.record(Candidate(
            "quality_degradation", "critical", ("low_quality",), feature, "gpt-4o", "x", {},
            (SpanRef(2, run + 1),), population=True, detected_at=time.time(),
        ))  # fmt: skip
        pipeline.containment_state.apply(incident.id, [Plan("feature_disabled", feature)],
                                         actor="bench")  # fmt: skip
        command = [sys.executable, "-m", "ai_incidents.cli", "incidents", "resolve",
                   incident.id, "--store", str(store)]  # fmt: skip
        subprocess.run(command, check=True, capture_output=True)
        started = time.perf_counter()
        while (found := pipeline.containment_state.get(feature)) is not None and found.disabled:
            time.sleep(0.005)
        delays.append(time.perf_counter() - started)
    return delays


def milliseconds(delays: list[float]) -> str:
    return f"median {statistics.median(delays) * 1000:.0f} ms, max {max(delays) * 1000:.0f} ms"


def main() -> None:
    folder = Path(tempfile.mkdtemp())
    store = folder / "incidents.db"
    settings = Settings(store=str(store), containment="enforce",
                        containment_policy="*:quality_degradation=feature_disabled")  # fmt: skip
    pipeline = IncidentPipeline(settings, service="bench")
    pipeline.wrap(InMemorySpanExporter())
    print("containment check per call (Containment.decide), best of 5 x 20,000")
    for label, micros in check_cost(pipeline):
        print(f"  {label:45s} {micros:6.2f} µs")
    delays = detection_to_containment(pipeline)
    print("detection (submitted on the app's thread) -> feature disabled in this process:",
          milliseconds(delays))  # fmt: skip
    resumed = resolve_to_resumed(pipeline, store)
    print("`ai-incidents incidents resolve` in another process -> feature working here",
          "(after the CLI returned):", milliseconds(resumed))  # fmt: skip
    pipeline.manager.shutdown()


if __name__ == "__main__":
    main()
