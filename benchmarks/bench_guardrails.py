"""Guardrails: what they add to a call.

    python benchmarks/bench_guardrails.py

- the input guard before a call (2 KB prompt of prose, fresh text each time; and the
  evaluator afterwards on the same text, which the guard's verdict makes free);
- the output filter per streamed chunk (an OpenAI chat stream of 500 chunks of ~8 characters)
  and on a 1 KB JSON answer.
"""

from __future__ import annotations

import collections
import json
import statistics
import time

from ai_incidents.capture.interaction import Interaction, Message
from ai_incidents.capture.output_filter import StreamRedactor, rewrite_json
from ai_incidents.containment.guardrails import Guardrails, find_sensitive
from ai_incidents.evaluation.injection import PromptInjectionEvaluator

PROSE = ("The quarterly planning notes describe how the support team triages tickets, which "
         "queues they watch and how escalations reach the on-call engineer. ")  # fmt: skip


def micros(samples: list[float]) -> str:
    ordered = sorted(samples)
    return (f"median {statistics.median(ordered) * 1e6:7.1f} µs, "
            f"p99 {ordered[int(len(ordered) * 0.99)] * 1e6:7.1f} µs")  # fmt: skip


def main() -> None:
    guard = Guardrails({"input", "output"}, block_at=0.9, review_at=0.75)
    evaluator = PromptInjectionEvaluator()
    guard_times, evaluator_times = [], []
    for n in range(400):
        text = f"Ticket {n}: " + (PROSE * 14)[:2048]
        interaction = Interaction("chat", "openai", "openai.chat_completions", "bench",
                                  input_messages=[Message("user", text)])  # fmt: skip
        started = time.perf_counter()
        guard.decide(interaction)
        guard_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        evaluator.evaluate(interaction)
        evaluator_times.append(time.perf_counter() - started)
    print("input guard, 2 KB fresh prompt:       ", micros(guard_times))
    print("injection evaluator after the guard:  ", micros(evaluator_times))

    chunk_times = []
    for _ in range(20):
        redactor = StreamRedactor("openai.chat_completions", find_sensitive)
        for i in range(500):
            event = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
                     "choices": [{"index": 0, "delta": {"content": f" word{i:03d}"},
                                  "finish_reason": None}]}  # fmt: skip
            chunk = b"data: " + json.dumps(event).encode() + b"\n\n"
            started = time.perf_counter()
            redactor.feed(chunk)
            chunk_times.append(time.perf_counter() - started)
    print("output filter per stream chunk:        ", micros(chunk_times))

    body = {"choices": [{"index": 0, "message": {"role": "assistant", "content": PROSE * 7}}]}
    raw = json.dumps(body).encode()
    json_times = []
    for _ in range(2000):
        started = time.perf_counter()
        rewrite_json("openai.chat_completions", raw, find_sensitive, collections.Counter())
        json_times.append(time.perf_counter() - started)
    print("output filter, 1 KB JSON answer:       ", micros(json_times))


if __name__ == "__main__":
    main()
