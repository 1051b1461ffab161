"""Capture overhead: the same calls with and without ai-incidents, against the local server.

    python benchmarks/bench_capture.py [--calls 300]

By default the built-in evaluators run too (as in production); ``--no-evaluation`` measures
capture alone. Prints median time per call (and per chunk for streams) without and with capture, the
difference and the ratio. Spans go through a BatchSpanProcessor to an exporter that drops
them, as in production minus the network. The server runs in its own process.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence

import httpx
import openai
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from ai_incidents import AIIncidentsInstrumentor, evaluate_interaction, remove_listener

STREAM_CHUNKS = 500
MESSAGES = [
    {"role": "system", "content": "You are a support assistant. " * 10},
    {"role": "user", "content": "How do I reset my password? " * 20},
]


class DropExporter(SpanExporter):
    def export(self, spans: Sequence) -> SpanExportResult:
        return SpanExportResult.SUCCESS


@contextlib.contextmanager
def provider_server() -> Iterator[str]:
    """The local provider server in its own process, so that it does not share our GIL."""
    command = [sys.executable, "-m", "ai_incidents.testing"]
    command += ["--text-bytes", "1024", "--chunks", str(STREAM_CHUNKS)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        yield process.stdout.readline().strip()
    finally:
        process.terminate()
        process.wait(timeout=10)


def timed(call: Callable[[], object], n: int) -> list[float]:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return samples


def compare(name: str, call: Callable[[], object], n: int, instrumentor, provider) -> dict:
    """Alternate blocks with and without capture so drift hits both alike."""
    without: list[float] = []
    with_capture: list[float] = []
    for _ in range(5):
        call()
    for _ in range(4):
        without += timed(call, n // 4)
        instrumentor.instrument(tracer_provider=provider)
        with_capture += timed(call, n // 4)
        instrumentor.uninstrument()
    off, on = statistics.median(without), statistics.median(with_capture)
    return {"case": name, "off": off, "on": on}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument(
        "--no-evaluation", action="store_true", help="capture alone, without the evaluators"
    )
    args = parser.parse_args()
    if args.no_evaluation:
        remove_listener(evaluate_interaction)
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(DropExporter()))
    instrumentor = AIIncidentsInstrumentor()

    with provider_server() as url:
        http = httpx.Client(base_url=url)
        sdk = openai.OpenAI(base_url=f"{url}/v1", api_key="bench", max_retries=0)
        body = {"model": "gpt-4o-mini", "messages": MESSAGES}

        def raw_plain() -> None:
            http.post("/v1/chat/completions", json=body).read()

        def raw_stream() -> None:
            with http.stream("POST", "/v1/chat/completions", json={**body, "stream": True}) as r:
                for _ in r.iter_raw():
                    pass

        def sdk_plain() -> None:
            sdk.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

        def sdk_stream() -> None:
            for _ in sdk.chat.completions.create(
                model="gpt-4o-mini", messages=MESSAGES, stream=True
            ):
                pass

        rows = [
            compare("httpx, non-streaming", raw_plain, args.calls, instrumentor, provider),
            compare("httpx, 500-chunk stream", raw_stream, args.calls // 3, instrumentor, provider),
            compare("openai SDK, non-streaming", sdk_plain, args.calls, instrumentor, provider),
            compare(
                "openai SDK, 500-chunk stream", sdk_stream, args.calls // 3, instrumentor, provider
            ),
        ]
        http.close()
        sdk.close()
    provider.shutdown()

    print(f"{'case':32} {'without':>10} {'with':>10} {'added':>10} {'ratio':>7} {'per chunk':>10}")
    for row in rows:
        added = row["on"] - row["off"]
        per_chunk = f"{added / STREAM_CHUNKS * 1e6:8.2f}µs" if "chunk" in row["case"] else ""
        print(
            f"{row['case']:32} {row['off'] * 1e3:8.3f}ms {row['on'] * 1e3:8.3f}ms "
            f"{added * 1e6:8.1f}µs {row['on'] / row['off']:7.3f} {per_chunk:>10}"
        )


if __name__ == "__main__":
    main()
