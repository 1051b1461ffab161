"""A retrieval-augmented support bot that records its retrieval step and users' feedback.

    python examples/rag_app.py

Each question retrieves help-center documents (a ``retrieval`` span, and the documents reach
the next LLM call's evaluation: relevance, staleness, groundedness), asks the model through
the openai SDK, and records the user's thumbs-up or -down (an ``ai.feedback`` span linked to
the answer). Halfway, the index starts returning a stale 2019 page: ai-incidents raises a
``context_issues`` incident. With OPENAI_BASE_URL unset it starts the package's local
provider server, so it runs offline; spans go to the console unless OTEL_* says otherwise.
"""

from __future__ import annotations

import os
import tempfile
import time

import openai
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import ai_incidents
from ai_incidents.testing import ProviderServer, Reply

INDEX = {
    "refund": {"id": "kb-12", "text": "Refunds are possible within 30 days of delivery.",
               "timestamp": time.time() - 30 * 86400},
    "stale": {"id": "kb-2019-4", "text": "Holiday opening hours for December 2019.",
              "timestamp": time.time() - 6 * 365 * 86400},
}  # fmt: skip


def search(query: str, broken: bool) -> list[dict]:
    return [INDEX["stale" if broken else "refund"]]


def main() -> None:
    store = os.environ.get("AI_INCIDENTS_STORE") or os.path.join(tempfile.mkdtemp(), "i.db")
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
    pipeline = ai_incidents.install(tracer_provider=provider, store=store)
    server = None
    if not os.environ.get("OPENAI_BASE_URL"):
        server = ProviderServer(
            lambda api, body: Reply(text="Refunds are possible within 30 days of delivery.")
        ).start()
        os.environ["OPENAI_BASE_URL"] = server.openai_base_url
    client = openai.OpenAI(api_key=os.environ.get("OPENAI_API_KEY", "local"))

    for n in range(60):
        broken = n >= 30
        with ai_incidents.feature("rag-support", user=f"user-{n % 9}"):
            with ai_incidents.retrieval("refund policy", data_source_id="help-center") as step:
                step.documents = search("refund policy", broken)
            answer = client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "system", "content": "Answer from the documents only."},
                          {"role": "user", "content": "What is your refund policy?"}],
            )  # fmt: skip
        ai_incidents.record_feedback(answer.id, thumbs_up=not broken)
    pipeline.manager.force_flush()
    for incident in pipeline.store.list():
        print(f"{incident.failure_mode} {incident.severity}: {incident.summary}")
    provider.shutdown()
    if server is not None:
        server.stop()


if __name__ == "__main__":
    main()
