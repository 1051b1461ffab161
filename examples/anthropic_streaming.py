"""An Anthropic streaming app under ai-incidents: each streamed answer is one GenAI span,
ended when the stream is, with time to first chunk, usage and evaluation.

    python examples/anthropic_streaming.py

With ANTHROPIC_BASE_URL unset it starts the package's local provider server, so it runs
offline. It prints the streamed text and what the span recorded.
"""

from __future__ import annotations

import os
import tempfile

import anthropic
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import ai_incidents
from ai_incidents.testing import ProviderServer


def main() -> None:
    store = os.environ.get("AI_INCIDENTS_STORE") or os.path.join(tempfile.mkdtemp(), "i.db")
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    ai_incidents.install(tracer_provider=provider, store=store)
    server = None
    if not os.environ.get("ANTHROPIC_BASE_URL"):
        server = ProviderServer().start()
        os.environ["ANTHROPIC_BASE_URL"] = server.anthropic_base_url
    claude = anthropic.Anthropic(api_key=os.environ.get("ANTHROPIC_API_KEY", "local"))

    with ai_incidents.feature("welcome-mail"):
        with claude.messages.stream(
            model="claude-sonnet-4-5", max_tokens=200,
            messages=[{"role": "user", "content": "Write a two-line welcome for new customers."}],
        ) as stream:  # fmt: skip
            print("streamed:", "".join(stream.text_stream))
    (span,) = [s for s in spans.get_finished_spans() if s.name.startswith("chat ")]
    attributes = span.attributes
    print("span:", span.name)
    shown = ("gen_ai.request.stream", "gen_ai.response.time_to_first_chunk",
             "gen_ai.usage.output_tokens", "ai.quality.score", "ai.safety.flagged")  # fmt: skip
    for name in shown:
        print(f"  {name} = {attributes.get(name)}")
    provider.shutdown()
    if server is not None:
        server.stop()


if __name__ == "__main__":
    main()
