"""Rate-change detection: how many calls until a rise in weak answers is raised, and how
often a healthy stream raises one, for our Bernoulli CUSUM beside river's ADWIN and
PageHinkley and the exponentially weighted rate monitor used before.

    pip install river && python benchmarks/bench_change.py [--runs 200]

Streams of per-call events (1 = weak answer): a clean baseline then 3 of 4 answers bad;
3 % then 25 %; and healthy streams (3 %, and a baseline wandering between 1 % and 6 %)
for false alarms. Then the whole detector on healthy traffic (3 % weak answers, lognormal
latency and token counts, 5 % of calls with a retrieval flag): population incidents per
100,000 calls at 10 calls per second (a cause raises at most once a minute, as by default),
by cause.
"""

from __future__ import annotations

import argparse
import collections
import math
import statistics
from collections.abc import Callable

import numpy as np
from river.drift import ADWIN, PageHinkley

from ai_incidents.detection.anomaly import RateMonitor
from ai_incidents.detection.change import BernoulliCUSUM
from ai_incidents.detection.detector import DetectionConfig, Detector
from ai_incidents.detection.observation import Observation
from ai_incidents.incidents.model import SpanRef

HEALTHY_CALLS = 300
AFTER_CALLS = 400
FALSE_ALARM_CALLS = 100_000
CALLS_PER_S = 10.0


class _River:
    def __init__(self, detector) -> None:
        self.detector = detector

    def update(self, event: bool) -> bool:
        self.detector.update(1.0 if event else 0.0)
        return self.detector.drift_detected


class _Rising:
    """Only rises count: river's detectors also report falls, which are not incidents."""

    def __init__(self, detector) -> None:
        self.inner = _River(detector)
        self.recent: collections.deque[bool] = collections.deque(maxlen=50)
        self.before = 0.0
        self.count = 0

    def update(self, event: bool) -> bool:
        self.count += 1
        self.recent.append(event)
        fired = self.inner.update(event)
        rate = sum(self.recent) / len(self.recent)
        rising = fired and rate > self.before
        if fired or self.count == 50:
            self.before = rate
        return rising


class _RateMonitor:
    def __init__(self) -> None:
        self.monitor = RateMonitor()
        self.was = False

    def update(self, event: bool) -> bool:
        now = self.monitor.update(event)
        fired = now and not self.was
        self.was = now
        return fired


DETECTORS: dict[str, Callable[[], object]] = {
    "Bernoulli CUSUM (ours)": BernoulliCUSUM,
    "rate monitor (ours, before)": _RateMonitor,
    "river ADWIN": lambda: _Rising(ADWIN()),
    "river PageHinkley": lambda: _Rising(PageHinkley(mode="up")),
}


def delays(make, before: float, after: float, runs: int, rng: np.random.Generator) -> list[int]:
    found = []
    for _ in range(runs):
        detector = make()
        for event in rng.random(HEALTHY_CALLS) < before:
            detector.update(bool(event))
        for index, event in enumerate(rng.random(AFTER_CALLS) < after):
            if detector.update(bool(event)):
                found.append(index + 1)
                break
        else:
            found.append(AFTER_CALLS + 1)
    return found


def false_alarms(make, rates: np.ndarray, rng: np.random.Generator) -> int:
    detector = make()
    return sum(detector.update(bool(e)) for e in rng.random(len(rates)) < rates)


def describe(found: list[int]) -> str:
    ordered = sorted(found)
    missed = sum(d > AFTER_CALLS for d in ordered)
    p90 = ordered[int(len(ordered) * 0.9)]
    median = statistics.median(ordered)
    text = f"{median:.0f} / {p90 if p90 <= AFTER_CALLS else '>' + str(AFTER_CALLS)}"
    return text + (f" ({missed} missed)" if missed else "")


def whole_detector(calls: int, seed: int) -> collections.Counter[str]:
    """Population incidents raised by the whole detector on healthy traffic, by cause."""
    rng = np.random.default_rng(seed)
    detector = Detector(DetectionConfig())
    causes: collections.Counter[str] = collections.Counter()
    weak = rng.random(calls) < 0.03
    flagged = rng.random(calls) < 0.05
    latency = rng.lognormal(0.0, 0.35, calls)
    tokens_in = rng.lognormal(6.0, 0.3, calls).astype(int)
    tokens_out = rng.lognormal(5.0, 0.4, calls).astype(int)
    quality = np.clip(rng.normal(0.85, 0.05, calls), 0, 1)
    for i in range(calls):
        observation = Observation(
            span=SpanRef(i + 1, i + 1),
            feature="support",
            model="gpt-4o",
            requested_model="gpt-4o",
            response_id=None,
            quality_score=0.3 if weak[i] else float(quality[i]),
            quality_flags=("refusal",) if weak[i] else (),
            safety_score=0.0,
            safety_categories=(),
            retrieval_relevance=float(quality[i]),
            retrieval_flags=("low_relevance",) if flagged[i] else (),
            latency_s=float(latency[i]),
            time_to_first_chunk_s=None,
            input_tokens=int(tokens_in[i]),
            output_tokens=int(tokens_out[i]),
            error=False,
        )
        for candidate in detector.observe(observation, now=1e9 + i / CALLS_PER_S):
            if candidate.population:
                causes[candidate.cause] += 1
    return causes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    steady = np.full(FALSE_ALARM_CALLS, 0.03)
    wandering = 0.035 + 0.025 * np.sin(np.arange(FALSE_ALARM_CALLS) / 3000.0)

    print(f"calls to detect: median / p90 over {args.runs} runs, after {HEALTHY_CALLS} healthy")
    print("calls; false alarms per 100,000 healthy calls")
    header = ("detector", "0 % -> 75 %", "3 % -> 25 %", "FA, 3 %", "FA, 1-6 % wandering")
    print(" | ".join(header))
    print(" | ".join("---" for _ in header))
    for name, make in DETECTORS.items():
        row = (
            name,
            describe(delays(make, 0.0, 0.75, args.runs, rng)),
            describe(delays(make, 0.03, 0.25, args.runs, rng)),
            str(false_alarms(make, steady, rng)),
            str(false_alarms(make, wandering, rng)),
        )
        print(" | ".join(row))

    calls = 100_000
    causes = whole_detector(calls, args.seed)
    total = sum(causes.values())
    print()
    print(f"whole detector, {calls:,} healthy calls (3 % weak answers, lognormal latency):")
    print(f"population incidents per 100,000 calls: {total * 100_000 / calls:.1f}")
    for cause, count in causes.most_common():
        print(f"  {cause}: {count}")
    if not math.isfinite(total):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
