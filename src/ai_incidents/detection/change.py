"""A sequential change detector for the rate of an event (a weak answer, a context issue).

The Bernoulli CUSUM (Page, 1954; for proportions observed one at a time, Reynolds and
Stoumbos, 1999, "A CUSUM chart for monitoring a proportion when items are inspected
continuously", Journal of Quality Technology 31(1)): each observation adds its
log-likelihood ratio of an elevated rate ``p1`` against the baseline ``p0``, the sum is
kept at or above zero, and an alarm is raised when it crosses ``threshold``. It is the
fastest detector of a step from ``p0`` to ``p1`` for a given rate of false alarms.

Here the baseline is learned (an exponentially weighted mean with a prior, frozen while the
sum says a change may be under way) and ``p1`` follows it: ``max(p0 + margin, factor * p0)``.
"""

from __future__ import annotations

import math


class BernoulliCUSUM:
    """Alarm when the rate of events rises above its learned baseline.

    ``threshold`` (h) sets the false-alarm rate: with the defaults, about one false alarm
    per several hundred thousand observations of a steady 3 % rate. ``margin`` and
    ``factor`` size the smallest rise worth detecting quickly; ``floor`` is the lowest
    baseline assumed (a clean stream must not make one bad answer an alarm); ``warmup``
    observations pass before any alarm; ``learning`` weighs each new observation in the
    baseline.

    >>> detector = BernoulliCUSUM()
    >>> healthy = [detector.update(i % 25 == 0) for i in range(300)]
    >>> degraded = [detector.update(i % 4 != 0) for i in range(20)]
    >>> any(healthy), degraded.index(True) < 10
    (False, True)
    """

    __slots__ = (
        "bad_since_start",
        "baseline",
        "calls_since_start",
        "count",
        "drift_detected",
        "factor",
        "floor",
        "frozen_for",
        "learning",
        "margin",
        "statistic",
        "threshold",
        "warmup",
    )  # fmt: skip

    freeze_after_alarm = 500
    """Observations after an alarm during which the baseline does not learn: a long
    degradation must not become the new normal (each alarm restarts the count)."""

    def __init__(
        self,
        threshold: float = 10.0,
        margin: float = 0.2,
        factor: float = 3.0,
        floor: float = 0.02,
        warmup: int = 30,
        learning: float = 0.002,
    ) -> None:
        self.threshold = threshold
        self.margin = margin
        self.factor = factor
        self.floor = floor
        self.warmup = warmup
        self.learning = learning
        self.count = 0
        self.frozen_for = 0
        self.baseline = floor
        """The learned rate of events before any change."""
        self._reset()

    def _reset(self) -> None:
        """Forget the sum and the run since it last left zero (the baseline stays)."""
        self.statistic = 0.0
        self.calls_since_start = 0
        """Observations since the sum last left zero: the change's estimated age."""
        self.bad_since_start = 0
        self.drift_detected = False

    @property
    def elevated_rate(self) -> float:
        """The rate ``p1`` the detector is tuned to find quickly."""
        p0 = max(self.baseline, self.floor)
        return min(max(p0 + self.margin, self.factor * p0), 0.99)

    @property
    def rate_since_start(self) -> float:
        """The rate of events since the sum last left zero."""
        return self.bad_since_start / self.calls_since_start if self.calls_since_start else 0.0

    def update(self, event: bool, sensitivity: float = 1.0) -> bool:
        """Add one observation; True when the rise is detected (then the sum restarts).
        A ``sensitivity`` under 1 lowers the alarm level to that share of ``threshold``."""
        if self.drift_detected:
            self._reset()
        self.count += 1
        p0 = max(self.baseline, self.floor)
        p1 = self.elevated_rate
        step = math.log(p1 / p0) if event else math.log((1.0 - p1) / (1.0 - p0))
        self.statistic = max(0.0, self.statistic + step)
        if self.statistic > 0.0:
            self.calls_since_start += 1
            self.bad_since_start += event
        else:
            self.calls_since_start = self.bad_since_start = 0
        if self.frozen_for:
            self.frozen_for -= 1
        elif self.statistic < self.threshold / 2:
            weight = max(self.learning, 1.0 / (self.count + 50))
            self.baseline += weight * ((1.0 if event else 0.0) - self.baseline)
        self.drift_detected = (
            self.count > self.warmup and self.statistic >= self.threshold * sensitivity
        )
        if self.drift_detected:
            self.frozen_for = self.freeze_after_alarm
        return self.drift_detected
