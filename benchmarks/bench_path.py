"""The whole request path against DESIGN's budget: capture, built-in evaluation and the
incident processor, in CPU time per call.

    python benchmarks/bench_path.py [--calls 600]

Each call records a retrieval of 5 fresh documents of 1 KB and sends a fresh 2 KB prompt
through raw httpx to the local provider server, which answers a fresh 1 KB (the server runs
on its own thread, whose CPU time is not the app's). The same calls run first without
ai-incidents, then with it installed as in production
(``ai_incidents.install``: instrumentation, processor, exporter wrapping) over a batch
span processor whose exporter drops spans. Prints, per call, the median CPU time of the
calling thread (the app's path) and of the whole process (with the export thread), and the
wall time; the difference is what ai-incidents adds. Incidents go to a temporary store.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

sys.path.insert(0, str(Path(__file__).parent))

import ai_incidents
from ai_incidents.testing import ProviderServer, Reply
from bench_capture import DropExporter
from bench_evaluation import paragraph


def measure(call: Callable[[], None], n: int) -> dict[str, float]:
    thread, process, wall = [], [], []
    for _ in range(n):
        t, p, w = time.thread_time(), time.process_time(), time.perf_counter()
        call()
        thread.append(time.thread_time() - t)
        process.append(time.process_time() - p)
        wall.append(time.perf_counter() - w)
    return {k: statistics.median(v) for k, v in (("thread", thread), ("process", process),
                                                   ("wall", wall))}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=600)
    args = parser.parse_args()
    rng, server_rng = random.Random(11), random.Random(12)
    answer = ProviderServer(lambda api, body: Reply(text=paragraph(server_rng, 1024)))
    with answer as server, httpx.Client(base_url=server.url) as http:

        def retrieve() -> list[dict]:
            return [{"id": str(i), "text": paragraph(rng, 1024)} for i in range(5)]

        def ask() -> None:
            prompt = paragraph(rng, 2048)
            body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": prompt}]}
            http.post("/v1/chat/completions", json=body).read()

        def plain_call() -> None:
            retrieve()
            ask()

        def instrumented_call() -> None:
            ai_incidents.record_retrieval("refund policy", retrieve())
            with ai_incidents.feature("support"):
                ask()

        for _ in range(20):
            plain_call()
        without = measure(plain_call, args.calls)
        provider = TracerProvider()
        provider.add_span_processor(BatchSpanProcessor(DropExporter()))
        store = Path(tempfile.mkdtemp()) / "incidents.db"
        ai_incidents.install(tracer_provider=provider, store=str(store))
        for _ in range(20):
            instrumented_call()
        with_ = measure(instrumented_call, args.calls)
        provider.shutdown()

    print(f"{'per call (median)':28} {'without':>10} {'with':>10} {'added':>10}")
    for key, label in (("thread", "CPU, calling thread"), ("process", "CPU, whole process"),
                       ("wall", "wall time")):  # fmt: skip
        added = with_[key] - without[key]
        print(f"{label:28} {without[key] * 1e6:8.0f}µs {with_[key] * 1e6:8.0f}µs "
              f"{added * 1e6:8.0f}µs")  # fmt: skip
    print("budget (DESIGN): under 300 µs of CPU per call for capture, evaluation and processor")


if __name__ == "__main__":
    main()
