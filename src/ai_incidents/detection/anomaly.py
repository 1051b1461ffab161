"""Robust streaming anomaly scores: an exponentially weighted median and MAD."""

from __future__ import annotations

import math


class RobustAnomalyDetector:
    """Flags values far from the recent median, in units of the recent median absolute
    deviation; robust to the outliers it is looking for.

    The median and the MAD are tracked by stochastic approximation (each step moves the
    estimate by ``rate`` times the current scale towards the observation), O(1) in time and
    memory. After ``warmup`` observations, a value whose robust z-score exceeds ``threshold``
    is an anomaly; the scale never drops under ``min_relative_scale`` times the median, so a
    very steady stream does not turn jitter into anomalies. Anomalies do not move the
    estimates, so a burst does not teach itself in.

    >>> detector = RobustAnomalyDetector(warmup=20)
    >>> [detector.update(100.0 + (i % 7)) for i in range(50)][-1]
    False
    >>> detector.update(400.0)
    True
    """

    def __init__(
        self,
        threshold: float = 6.0,
        rate: float = 0.05,
        warmup: int = 30,
        min_relative_scale: float = 0.1,
    ) -> None:
        self.threshold = threshold
        self.rate = rate
        self.warmup = warmup
        self.min_relative_scale = min_relative_scale
        self.count = 0
        self.median = 0.0
        self.mad = 0.0
        self.last_z = 0.0

    def update(self, value: float) -> bool:
        """Add one observation; return True if it is an anomaly."""
        self.count += 1
        if self.count == 1:
            self.median, self.mad = value, abs(value) * 0.1 + 1e-9
            return False
        scale = max(1.4826 * self.mad, self.min_relative_scale * abs(self.median), 1e-9)
        self.last_z = (value - self.median) / scale
        anomalous = self.count > self.warmup and abs(self.last_z) > self.threshold
        if not anomalous:
            step = self.rate * max(scale, 1e-6)
            self.median += step if value > self.median else -step if value < self.median else 0.0
            deviation = abs(value - self.median)
            self.mad += self.rate * (deviation - self.mad)
        return anomalous


class RateMonitor:
    """An exponentially weighted rate of events against a slower baseline rate.

    ``elevated`` after ``warmup`` observations when the fast rate is over ``floor`` and over
    both ``factor`` times the baseline and the baseline plus ``margin``: used for error rates
    and signal rates. The baseline does not learn while the rate is elevated.
    """

    def __init__(
        self,
        fast: float = 0.05,
        slow: float = 0.005,
        factor: float = 2.0,
        margin: float = 0.1,
        floor: float = 0.1,
        warmup: int = 20,
    ) -> None:
        self.fast_weight = fast
        self.slow_weight = slow
        self.factor = factor
        self.margin = margin
        self.floor = floor
        self.warmup = warmup
        self.count = 0
        self.rate = 0.0
        self.baseline = 0.0
        self.level = floor
        """The rate above which events are elevated."""
        self.elevated = False

    def update(self, event: bool) -> bool:
        """Add one observation (event or not); return True while the rate is elevated."""
        count = self.count = self.count + 1
        value = 1.0 if event else 0.0
        self.rate += max(self.fast_weight, 1.0 / count) * (value - self.rate)
        if not self.elevated:
            self.baseline += max(self.slow_weight, 1.0 / count) * (value - self.baseline)
        baseline = self.baseline
        self.level = max(self.floor, self.factor * baseline, baseline + self.margin)
        self.elevated = count >= self.warmup and self.rate > self.level
        return self.elevated


def log_scale(value: float) -> float:
    """``log1p`` for non-negative magnitudes (latency, tokens, lengths): bins fit all scales."""
    return math.log1p(max(value, 0.0))
