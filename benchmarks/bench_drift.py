"""Change detectors side by side with river's (ADWIN, PageHinkley) on synthetic streams.

    pip install river && python benchmarks/bench_drift.py [--runs 20]

Streams of quality-like scores (values around 0.8 with noise): no change, a mean shift, a
variance change, and a gradual drift, each 20,000 observations with the change at 10,000.
For each detector: detection rate, median delay (observations after the change until the
first alarm), false alarms per 100k observations (alarms before the change, and on the
no-change stream), and cost per update.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
from river.drift import ADWIN
from river.drift import PageHinkley as RiverPageHinkley

from ai_incidents.detection.drift import Binning, DriftMonitor, PageHinkley

LENGTH = 20_000
CHANGE_AT = 10_000


def streams(rng: np.random.Generator) -> dict[str, np.ndarray]:
    base = rng.normal(0.8, 0.05, LENGTH)
    shifted = base.copy()
    shifted[CHANGE_AT:] -= 0.1
    variance = base.copy()
    variance[CHANGE_AT:] = rng.normal(0.8, 0.15, LENGTH - CHANGE_AT)
    gradual = base.copy()
    ramp = np.clip((np.arange(LENGTH) - CHANGE_AT) / 2000, 0, 1)
    gradual -= 0.1 * ramp
    return {"no change": base, "mean shift": shifted, "variance change": variance,
            "gradual drift": gradual}  # fmt: skip


class _Ours:
    def __init__(self, make: Callable[[], object], update: Callable[[object, float], bool]):
        self.detector = make()
        self._update = update

    def update(self, value: float) -> bool:
        return self._update(self.detector, value)


def _river_update(detector, value: float) -> bool:
    detector.update(value)
    return detector.drift_detected


def _monitor_update(monitor: DriftMonitor, value: float) -> bool:
    monitor.update(value)
    return monitor.drift_detected


DETECTORS: dict[str, Callable[[], _Ours]] = {
    "ai-incidents PageHinkley": lambda: _Ours(
        lambda: PageHinkley(threshold=8.0), lambda d, v: d.update(v)
    ),
    "ai-incidents DriftMonitor (w=200)": lambda: _Ours(
        lambda: DriftMonitor(Binning(0.0, 1.0001, 20), window=200), _monitor_update
    ),
    "river PageHinkley (defaults)": lambda: _Ours(RiverPageHinkley, _river_update),
    "river ADWIN (defaults)": lambda: _Ours(ADWIN, _river_update),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    print(
        f"{'stream':16} {'detector':36} {'detected':>8} {'delay':>7} {'FA/100k':>8} {'µs/upd':>7}"
    )
    for stream_name in ("no change", "mean shift", "variance change", "gradual drift"):
        for detector_name, make in DETECTORS.items():
            delays, false_alarms, seconds, detected = [], 0, 0.0, 0
            observations = 0
            for run in range(args.runs):
                values = streams(np.random.default_rng(run))[stream_name].tolist()
                detector = make()
                first = None
                started = time.perf_counter()
                for index, value in enumerate(values):
                    if detector.update(value):
                        if index < CHANGE_AT or stream_name == "no change":
                            false_alarms += 1
                        elif first is None:
                            first = index - CHANGE_AT
                seconds += time.perf_counter() - started
                observations += len(values)
                if first is not None:
                    detected += 1
                    delays.append(first)
            clean = CHANGE_AT * args.runs if stream_name != "no change" else observations
            delay = f"{statistics.median(delays):7.0f}" if delays else "      -"
            rate = "-" if stream_name == "no change" else f"{detected}/{args.runs}"
            print(
                f"{stream_name:16} {detector_name:36} {rate:>8} {delay} "
                f"{false_alarms / clean * 100_000:8.1f} {seconds / observations * 1e6:7.2f}"
            )


if __name__ == "__main__":
    main()
