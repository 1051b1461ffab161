"""Cost of the fast evaluators on a typical interaction, on one core.

    python benchmarks/bench_evaluation.py [--interactions 2000]

A typical interaction: 2 KB prompt, 1 KB answer, 5 retrieved documents of 1 KB. Scenarios:

- fresh texts: every interaction has new texts (no tokenizer cache hits), drawn from a
  support vocabulary (plain ASCII);
- recurring documents: the same five documents in every call, as a knowledge base's recur;
- fresh prose: new slices of the Python documentation (the standard library's
  ``pydoc_data``): real English with code, digits and curly quotes, the harder case;
- long prompt: fresh prose with a 100 KB prompt (pasted or retrieved text), whose cost the
  evaluators bound by reading parts of long texts (a tenth as many interactions).

Prints median and p99 per interaction (the best of three runs, to keep other processes on
the machine out of the figure), interactions per second, each evaluator's share, and the
published anchor: LLM Guard's DeBERTa prompt-injection scanner, 104-213 ms per prompt on a
CPU.
"""

from __future__ import annotations

import argparse
import collections
import pydoc_data.topics
import random
import statistics
import time
from collections.abc import Callable

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


def interaction(
    rng: random.Random,
    documents: list[RetrievedDocument],
    text: Callable[[random.Random, int], str] = paragraph,
    prompt_size: int = 2048,
) -> Interaction:
    return Interaction(
        operation="chat",
        provider="openai",
        wire_format="openai.chat_completions",
        feature="support",
        system_instructions=["You are Acme's support assistant. Answer from the documents."],
        input_messages=[Message("user", text(rng, prompt_size))],
        output_messages=[Message("assistant", text(rng, 1024), "stop")],
        finish_reasons=["stop"],
        retrieval=Retrieval("refund policy for returned items", documents),
    )


def documents(rng: random.Random, text: Callable[[random.Random, int], str] = paragraph):
    now = time.time()
    return [
        RetrievedDocument(id=str(i), text=text(rng, 1024), timestamp=now - 86400 * i)
        for i in range(5)
    ]


_PYTHON_DOCS = " ".join(pydoc_data.topics.topics.values())


def prose(rng: random.Random, size: int) -> str:
    start = rng.randrange(len(_PYTHON_DOCS) - size)
    return _PYTHON_DOCS[start : start + size]


def measure(items: list[Interaction]) -> tuple[list[float], dict[str, float]]:
    """Sorted seconds per interaction, and each evaluator's median seconds within the run
    (a text's tokenization is paid by the first evaluator that reads it)."""
    fast = evaluators.fast()
    for item in items[:50]:
        span_attributes(item, evaluators.run(item, fast))
    samples, shares = [], collections.defaultdict(list)
    for item in items[50:]:
        started = time.perf_counter()
        results = []
        for evaluator in fast:
            begun = time.perf_counter()
            result = evaluator.evaluate(item)
            shares[evaluator.name].append(time.perf_counter() - begun)
            if result is not None:
                results.append(result)
        span_attributes(item, results)
        samples.append(time.perf_counter() - started)
    return sorted(samples), {name: statistics.median(s) for name, s in shares.items()}


def best_of(runs: int, items: list[Interaction]) -> tuple[list[float], dict[str, float]]:
    measured = []
    for _ in range(runs):
        text.cache_clear()
        measured.append(measure(items))
    return min(measured, key=lambda m: m[0][len(m[0]) // 2])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--interactions", type=int, default=2000)
    args = parser.parse_args()
    rng = random.Random(7)
    shared = documents(rng)
    n = args.interactions
    scenarios = {
        "fresh texts": [interaction(rng, documents(rng)) for _ in range(n)],
        "recurring documents": [interaction(rng, shared) for _ in range(n)],
        "fresh prose": [interaction(rng, documents(rng, prose), prose) for _ in range(n)],
        "long prompt": [
            interaction(rng, documents(rng, prose), prose, 100_000) for _ in range(n // 10)
        ],
    }
    print(f"{'scenario':22} {'median':>9} {'p99':>9} {'per second':>11}")
    shares = {}
    for name, items in scenarios.items():
        samples, shares[name] = best_of(3, items)
        median = samples[len(samples) // 2]
        p99 = samples[int(len(samples) * 0.99)]
        rate = 1 / statistics.mean(samples)
        print(f"{name:22} {median * 1e6:7.0f}µs {p99 * 1e6:7.0f}µs {rate:11,.0f}")
    print("anchor: LLM Guard PromptInjection (DeBERTa-v3) 104-213 ms per prompt on a CPU")

    print(f"\n{'evaluator (median in the run)':30}" + "".join(f"{s:>22}" for s in scenarios))
    for evaluator in evaluators.fast():
        times = "".join(f"{shares[s][evaluator.name] * 1e6:20.1f}µs" for s in scenarios)
        print(f"{evaluator.name:30}{times}")


if __name__ == "__main__":
    main()
