"""The flight recorder: what a call costs on the app's thread, what writing it costs the
worker, and how much store it takes.

    python benchmarks/bench_recorder.py [--calls 100000]

Calls arrive at 200 per second (the worker writes a batch of 200 each second, as it would);
rows carry no content (the default). The store is a fresh SQLite file in WAL mode.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from ai_incidents.detection.observation import Observation
from ai_incidents.incidents.model import SpanRef
from ai_incidents.incidents.recorder import CallRecord, FlightRecorder
from ai_incidents.incidents.store import IncidentStore

ATTRIBUTES = {
    "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
    "gen_ai.response.model": "gpt-4o-2024-08-06", "ai.feature.name": "support-bot",
    "ai.quality.score": 0.86, "ai.quality.flags": (), "ai.safety.score": 0.02,
    "ai.safety.categories": (), "ai.retrieval.relevance": 0.71, "ai.retrieval.flags": (),
    "ai.retrieval.document_count": 5, "gen_ai.data_source.id": "help-center",
    "ai.retrieval.max_age_s": 86400.0 * 20, "gen_ai.usage.input_tokens": 812,
    "gen_ai.usage.output_tokens": 164, "gen_ai.response.id": "chatcmpl-9a8b7c6d5e4f",
    "ai.prompt.system_hash": "46826d343d3f", "ai.prompt.context_hash": "9f1e2d3c4b5a",
    "enduser.id": "customer-4711",
}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=100_000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    store = IncidentStore(folder / "incidents.db")
    recorder = FlightRecorder(store, max_rows=10_000_000, max_age_s=1e12)
    recorder.flush()
    base = sum(f.stat().st_size for f in folder.iterdir())
    app_thread = worker = 0.0
    start = time.time()
    for n in range(args.calls):
        began = time.perf_counter()
        observation = Observation.from_span(ATTRIBUTES, SpanRef(n + 1, n + 1), 0.8, "bot")
        recorder.add(CallRecord.from_span(observation, ATTRIBUTES, start + n / 200))
        app_thread += time.perf_counter() - began
        if n % 200 == 199:
            began = time.perf_counter()
            recorder.flush()
            worker += time.perf_counter() - began
    began = time.perf_counter()
    recorder.flush()
    worker += time.perf_counter() - began
    store.close()
    size = sum(f.stat().st_size for f in folder.iterdir()) - base
    calls = args.calls
    print(f"{calls:,} calls at 200/s, no content")
    print(f"  app thread per call (record built, queued): {app_thread / calls * 1e6:6.2f} µs")
    print(f"  worker per call (batched insert):           {worker / calls * 1e6:6.2f} µs")
    print(
        f"  store size per 100,000 calls:               {size / calls * 100_000 / 2**20:6.1f} MiB"
    )
    per_day = size / calls * 200 * 86400 / 2**30
    print(f"  per day at 200 calls/s:                     {per_day:6.2f} GiB"
          " (bounded by AI_INCIDENTS_RECORDER_MAX_ROWS, 1,000,000 by default)")  # fmt: skip
    for path in folder.iterdir():
        os.unlink(path)


if __name__ == "__main__":
    main()
