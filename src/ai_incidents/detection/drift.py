"""Streaming drift statistics on fixed-bin histograms, and a sequential change detector.

Every class keeps a handful of numbers or one small numpy array: O(1) work per observation
(O(bins) once per window) and constant memory, whatever the stream's length.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

_PSEUDO_COUNT = 0.5


class Binning:
    """``bins`` equal-width bins over ``[low, high]``, plus one underflow and one overflow bin.

    >>> Binning(0.0, 1.0, 4).index(0.3)
    2
    """

    def __init__(self, low: float, high: float, bins: int = 20) -> None:
        if not high > low or bins < 2:
            raise ValueError("a binning needs high > low and at least two bins")
        self.low = low
        self.high = high
        self.bins = bins
        self.width = (high - low) / bins

    def index(self, value: float) -> int:
        if value < self.low:
            return 0
        if value >= self.high:
            return self.bins + 1
        return 1 + int((value - self.low) / self.width)

    def centers(self) -> np.ndarray:
        inner = self.low + self.width * (np.arange(self.bins) + 0.5)
        return np.concatenate(([self.low - self.width / 2], inner, [self.high + self.width / 2]))


@dataclasses.dataclass(frozen=True)
class DriftStatistics:
    """Distances between a reference and a current histogram (see ``compare``)."""

    psi: float
    js_distance: float
    ks: float
    wasserstein: float
    reference_count: int
    current_count: int
    reference_mean: float
    current_mean: float

    def ks_critical(self, alpha_coefficient: float = 1.628) -> float:
        """The two-sample KS critical value for these sizes (default coefficient: alpha = 0.01)."""
        n, m = self.reference_count, self.current_count
        return alpha_coefficient * math.sqrt((n + m) / (n * m)) if n and m else math.inf


def compare(reference: np.ndarray, current: np.ndarray, binning: Binning) -> DriftStatistics:
    """PSI, Jensen-Shannon distance (base 2), Kolmogorov-Smirnov statistic and Wasserstein-1
    distance between two histograms over the same bins."""
    n, m = float(reference.sum()), float(current.sum())
    # Half a count in every bin keeps empty bins from dominating PSI and JS (Jeffreys prior).
    p = (reference + _PSEUDO_COUNT) / (n + _PSEUDO_COUNT * len(reference))
    q = (current + _PSEUDO_COUNT) / (m + _PSEUDO_COUNT * len(current))
    psi = float(np.sum((q - p) * np.log(q / p)))
    mixture = (p + q) / 2
    js = 0.5 * np.sum(p * np.log2(p / mixture)) + 0.5 * np.sum(q * np.log2(q / mixture))
    cdf_gap = np.abs(np.cumsum(reference) / max(n, 1.0) - np.cumsum(current) / max(m, 1.0))
    centers = binning.centers()
    return DriftStatistics(
        psi=psi,
        js_distance=float(math.sqrt(max(js, 0.0))),
        ks=float(cdf_gap.max()),
        wasserstein=float(cdf_gap[:-1].sum() * binning.width),
        reference_count=int(n),
        current_count=int(m),
        reference_mean=float((reference * centers).sum() / max(n, 1.0)),
        current_mean=float((current * centers).sum() / max(m, 1.0)),
    )


class DriftMonitor:
    """Compares a current window of observations with a reference window.

    The first ``window`` observations become the reference. Each later full window of
    ``window`` observations is compared with it (``statistics``) and ``drift_detected`` is
    set when the shift is both significant (KS statistic over its critical value at
    alpha = 0.01, which accounts for the sample sizes) and large (PSI at least
    ``psi_threshold``; the usual bands: under 0.1 none, 0.1-0.25 moderate, over 0.25
    significant). A ``rolling`` reference then
    blends in the window that was just compared (``reference_decay`` weight for the past);
    a pinned one (``rolling=False``, or ``pin()``) stays as it is.

    >>> monitor = DriftMonitor(Binning(0.0, 1.0, 10), window=100)
    >>> baseline = [monitor.update(0.8 + (i % 10) / 100) for i in range(100)]
    >>> shifted = [monitor.update(0.2 + (i % 10) / 100) for i in range(100)]
    >>> any(baseline), shifted.index(True), monitor.statistics.psi > 0.25
    (False, 99, True)
    """

    def __init__(
        self,
        binning: Binning,
        window: int = 200,
        psi_threshold: float = 0.25,
        rolling: bool = True,
        reference_decay: float = 0.5,
    ) -> None:
        self.binning = binning
        self.window = window
        self.psi_threshold = psi_threshold
        self.rolling = rolling
        self.reference_decay = reference_decay
        self.reference: np.ndarray | None = None
        self.current = [0] * (binning.bins + 2)
        """Counts of the open window (a list: scalar increments are cheaper than numpy's)."""
        self._current_count = 0
        self.statistics: DriftStatistics | None = None
        self.drift_detected = False

    def update(self, value: float) -> bool:
        """Add one observation (O(1); O(bins) when it closes a window); True on drift."""
        self.current[self.binning.index(value)] += 1
        self._current_count += 1
        self.drift_detected = False
        if self._current_count >= self.window:
            self._close_window()
        return self.drift_detected

    def pin(self) -> None:
        """Freeze the reference (a baseline): later windows no longer move it."""
        self.rolling = False

    def _close_window(self) -> None:
        current = np.array(self.current, dtype=float)
        if self.reference is None:
            self.reference = current
        else:
            self.statistics = compare(self.reference, current, self.binning)
            stats = self.statistics
            self.drift_detected = stats.psi >= self.psi_threshold and stats.ks > stats.ks_critical()
            if self.rolling:
                scale = self.window / max(self.reference.sum(), 1.0)
                self.reference = self.reference * scale * self.reference_decay + current * (
                    1 - self.reference_decay
                )
        self.current = [0] * (self.binning.bins + 2)
        self._current_count = 0


class PageHinkley:
    """Page-Hinkley test for a change in the mean, in both directions (Page, 1954).

    ``delta`` is the magnitude of change tolerated, ``threshold`` (lambda) the alarm level,
    ``alpha`` a fading factor on the cumulative sums, ``min_instances`` the warm-up.
    After an alarm the detector resets and learns the new mean.

    >>> detector = PageHinkley(threshold=5.0)
    >>> alarms = [detector.update(0.9 if i < 100 else 0.4) for i in range(200)]
    >>> alarms.index(True) > 100
    True
    """

    __slots__ = (
        "alpha", "count", "delta", "direction", "drift_detected", "max_decrease", "mean",
        "min_increase",
        "min_instances", "sum_decrease", "sum_increase", "threshold",
    )  # fmt: skip

    def __init__(
        self,
        delta: float = 0.005,
        threshold: float = 10.0,
        alpha: float = 0.9999,
        min_instances: int = 30,
    ) -> None:
        self.delta = delta
        self.threshold = threshold
        self.alpha = alpha
        self.min_instances = min_instances
        self._reset()

    def _reset(self) -> None:
        """Forget the mean, the counts and both cumulative sums."""
        self.count = 0
        self.mean = 0.0
        self.sum_increase = 0.0
        self.sum_decrease = 0.0
        self.min_increase = 0.0
        self.max_decrease = 0.0
        self.drift_detected = False
        self.direction: str | None = None
        """``increase`` or ``decrease``: which way the detected change went."""

    def update(self, value: float) -> bool:
        """Add one observation; return True when a change is detected."""
        if self.drift_detected:
            self._reset()
        count = self.count = self.count + 1
        mean = self.mean = self.mean + (value - self.mean) / count
        deviation = value - mean
        up = self.sum_increase = self.alpha * self.sum_increase + deviation - self.delta
        down = self.sum_decrease = self.alpha * self.sum_decrease + deviation + self.delta
        if up < self.min_increase:
            self.min_increase = up
        if down > self.max_decrease:
            self.max_decrease = down
        if count >= self.min_instances:
            threshold = self.threshold
            if up - self.min_increase > threshold:
                self.drift_detected, self.direction = True, "increase"
            elif self.max_decrease - down > threshold:
                self.drift_detected, self.direction = True, "decrease"
        return self.drift_detected
