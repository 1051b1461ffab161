"""Model regression: when a feature's response model changes, is quality worse after?"""

from __future__ import annotations

import collections

import numpy as np

from ai_incidents.detection.drift import Binning, compare

_BINS = Binning(0.0, 1.0001, 20)
_MODELS_PER_FEATURE = 4


class _ModelQuality:
    def __init__(self) -> None:
        self.counts = [0] * (_BINS.bins + 2)
        self.count = 0
        self.total = 0.0

    def add(self, score: float) -> None:
        self.counts[_BINS.index(score)] += 1
        self.count += 1
        self.total += score

    @property
    def histogram(self) -> np.ndarray:
        return np.array(self.counts, dtype=float)

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else 0.0


class RegressionTracker:
    """Per feature, the quality score distribution of each recent response model.

    When a model appears after another has served the feature, its first ``min_samples``
    scores are compared with the previous model's: a regression is reported (once per
    model pair) when the mean drops by ``min_drop`` or more and the two-sample KS statistic
    exceeds its critical value at alpha = 0.01.
    """

    def __init__(self, min_samples: int = 30, min_drop: float = 0.1) -> None:
        self.min_samples = min_samples
        self.min_drop = min_drop
        self._features: dict[str, collections.OrderedDict[str, _ModelQuality]] = {}
        self._previous: dict[str, str] = {}
        self._reported: set[tuple[str, str, str]] = set()

    def observe(self, feature: str, model: str, score: float | None) -> dict | None:
        """Add one score; return the evidence of a regression when one is established."""
        if score is None:
            return None
        models = self._features.setdefault(feature, collections.OrderedDict())
        if model not in models:
            if models:
                self._previous[feature] = next(reversed(models))
            models[model] = _ModelQuality()
            while len(models) > _MODELS_PER_FEATURE:
                models.popitem(last=False)
        models.move_to_end(model)
        current = models[model]
        current.add(score)
        before_name = self._previous.get(feature)
        before = models.get(before_name) if before_name else None
        if before is None or before_name == model or current.count != self.min_samples:
            return None
        if before.count < self.min_samples or (feature, before_name, model) in self._reported:
            return None
        stats = compare(before.histogram, current.histogram, _BINS)
        drop = before.mean - current.mean
        if drop < self.min_drop or stats.ks <= stats.ks_critical():
            return None
        self._reported.add((feature, before_name, model))
        return {
            "model_before": before_name,
            "model_after": model,
            "mean_before": round(before.mean, 4),
            "mean_after": round(current.mean, 4),
            "mean_drop": round(drop, 4),
            "samples_before": before.count,
            "samples_after": current.count,
            "ks": round(stats.ks, 4),
            "ks_critical": round(stats.ks_critical(), 4),
            "psi": round(stats.psi, 4),
            "histogram_before": before.histogram.astype(int).tolist(),
            "histogram_after": current.histogram.astype(int).tolist(),
        }
