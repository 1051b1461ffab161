"""Programmatic setup with ``configure(...)`` and an evaluator of your own.

    python examples/custom_evaluator.py

The app's answers must quote an order number in the ``ORD-12345`` form; a small evaluator
checks it (quality), registered beside the built-ins, with two settings changed in code.
Its result becomes part of ``ai.quality.score`` and, when it flags, a
``gen_ai.evaluation.result`` event. Offline with the package's local provider server.
"""

from __future__ import annotations

import os
import re
import tempfile

import openai
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import ai_incidents
from ai_incidents import EvaluationResult, Interaction
from ai_incidents.testing import ProviderServer, Reply

ORDER = re.compile(r"\bORD-\d{5}\b")


class QuotesOrderNumber:
    """Answers about an order must quote its number."""

    name = "quotes_order_number"
    aspect = "quality"
    cost = "fast"
    reads = ("input", "output")

    def evaluate(self, interaction: Interaction) -> EvaluationResult | None:
        if "order" not in interaction.last_user_text.lower():
            return None
        if ORDER.search(interaction.output_text):
            return EvaluationResult(self.name, "quality", 1.0, "ok")
        return EvaluationResult(self.name, "quality", 0.0, "missing_order_number",
                                "missing_order_number", "no ORD-nnnnn in the answer")  # fmt: skip


def main() -> None:
    store = os.environ.get("AI_INCIDENTS_STORE") or os.path.join(tempfile.mkdtemp(), "i.db")
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    ai_incidents.install(tracer_provider=provider, store=store, feature="orders",
                         evaluation_events="all", low_quality_threshold=0.6)  # fmt: skip
    ai_incidents.evaluators.register(QuotesOrderNumber())
    answers = iter(["Your order ORD-48213 ships tomorrow.", "Your order ships tomorrow."])
    server = ProviderServer(lambda api, body: Reply(text=next(answers))).start()
    client = openai.OpenAI(base_url=server.openai_base_url, api_key="local")
    for _ in range(2):
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "When does my order ship?"}],
        )
    for span in spans.get_finished_spans():
        if span.name.startswith("chat "):
            ours = QuotesOrderNumber.name
            result = next(e for e in span.events if e.attributes["gen_ai.evaluation.name"] == ours)
            print(f"{result.attributes['gen_ai.evaluation.score.label']}: quality"
                  f" {span.attributes['ai.quality.score']:.2f},"
                  f" flags {list(span.attributes['ai.quality.flags'])}")  # fmt: skip
    provider.shutdown()
    server.stop()


if __name__ == "__main__":
    main()
