"""Cost of the fast evaluators on a typical interaction, on one core.

    python benchmarks/bench_evaluation.py [--interactions 2000]

A typical interaction: 2 KB prompt, 1 KB answer, 5 retrieved documents of 1 KB. Every
interaction has fresh texts (no tokenizer cache hits) in the "fresh" scenario; in the
"recurring documents" scenario the five documents repeat across calls, as a knowledge base's
do. Prints median and p99 per interaction, interactions per second, each evaluator's share,
and the published anchor: LLM Guard's DeBERTa prompt-injection scanner, 104-213 ms per
prompt on a CPU.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from ai_incidents.capture.interaction import Interaction, Message, Retrieval, RetrievedDocument
from ai_incidents.evaluation import text
from ai_incidents.evaluation.runner import evaluators, span_attributes

VOCABULARY = (
    "account refund order shipping return policy days purchase item store customer support "
    "password reset email invoice payment card delivery address warranty product size color "
    "jacket shoes service plan subscription cancel upgrade billing receipt tracking number "
    "the a to of and in is for on it with as be this that can you your we our not will have"
).split()


def paragraph(rng: random.Random, size: int) -> str:
    words, length = [], 0
    while length < size:
        word = rng.choice(VOCABULARY)
        words.append(word)
        length += len(word) + 1
        if rng.random() < 0.08:
            words[-1] += "."
    return " ".join(words)[:size]


def interaction(rng: random.Random, documents: list[RetrievedDocument]) -> Interaction:
    return Interaction(
        operation="chat",
        provider="openai",
        wire_format="openai.chat_completions",
        feature="support",
        system_instructions=["You are Acme's support assistant. Answer from the documents."],
        input_messages=[Message("user", paragraph(rng, 2048))],
        output_messages=[Message("assistant", paragraph(rng, 1024), "stop")],
        finish_reasons=["stop"],
        retrieval=Retrieval("refund policy for returned items", documents),
    )


def documents(rng: random.Random) -> list[RetrievedDocument]:
    now = time.time()
    return [
        RetrievedDocument(id=str(i), text=paragraph(rng, 1024), timestamp=now - 86400 * i)
        for i in range(5)
    ]


def measure(items: list[Interaction]) -> list[float]:
    for item in items[:50]:
        span_attributes(item, evaluators.run(item))
    samples = []
    for item in items[50:]:
        started = time.perf_counter()
        span_attributes(item, evaluators.run(item))
        samples.append(time.perf_counter() - started)
    return sorted(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--interactions", type=int, default=2000)
    args = parser.parse_args()
    rng = random.Random(7)
    shared = documents(rng)
    scenarios = {
        "fresh texts": [interaction(rng, documents(rng)) for _ in range(args.interactions)],
        "recurring documents": [interaction(rng, shared) for _ in range(args.interactions)],
    }
    print(f"{'scenario':22} {'median':>9} {'p99':>9} {'per second':>11}")
    for name, items in scenarios.items():
        text.cache_clear()
        samples = measure(items)
        median = samples[len(samples) // 2]
        p99 = samples[int(len(samples) * 0.99)]
        rate = 1 / statistics.mean(samples)
        print(f"{name:22} {median * 1e6:7.0f}µs {p99 * 1e6:7.0f}µs {rate:11,.0f}")
    print("anchor: LLM Guard PromptInjection (DeBERTa-v3) 104-213 ms per prompt on a CPU")

    print(f"\n{'evaluator (cold caches)':28} {'median':>9}")
    items = scenarios["fresh texts"][:300]
    for evaluator in evaluators.fast():
        samples = []
        for item in items:
            text.cache_clear()
            started = time.perf_counter()
            evaluator.evaluate(item)
            samples.append(time.perf_counter() - started)
        print(f"{evaluator.name:28} {statistics.median(samples) * 1e6:7.1f}µs")


if __name__ == "__main__":
    main()
