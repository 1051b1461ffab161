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


class _FeatureModels:
    """One feature's recent models (at most a few), the one before the latest, and the
    model pairs already reported."""

    def __init__(self) -> None:
        self.models: collections.OrderedDict[str, _ModelQuality] = collections.OrderedDict()
        self.previous: str | None = None
        self.reported: set[tuple[str, str]] = set()


class RegressionTracker:
    """Per feature, the quality score distribution of each recent response model.

    When a model appears after another has served the feature, its first ``min_samples``
    scores are compared with the previous model's: a regression is reported (once per
    model pair) when the mean drops by ``min_drop`` or more and the two-sample KS statistic
    exceeds its critical value at alpha = 0.01. At most ``max_features`` features are
    followed (least recently seen forgotten first).
    """

    def __init__(self, min_samples: int = 30, min_drop: float = 0.1, max_features: int = 1000):
        self.min_samples = min_samples
        self.min_drop = min_drop
        self.max_features = max_features
        self._features: collections.OrderedDict[str, _FeatureModels] = collections.OrderedDict()

    def observe(self, feature: str, model: str, score: float | None) -> dict | None:
        """Add one score; return the evidence of a regression when one is established."""
        if score is None:
            return None
        record = self._features.get(feature)
        if record is None:
            record = self._features[feature] = _FeatureModels()
            while len(self._features) > self.max_features:
                self._features.popitem(last=False)
        self._features.move_to_end(feature)
        models = record.models
        if model not in models:
            if models:
                record.previous = next(reversed(models))
            models[model] = _ModelQuality()
            while len(models) > _MODELS_PER_FEATURE:
                models.popitem(last=False)
        models.move_to_end(model)
        current = models[model]
        current.add(score)
        before_name = record.previous
        before = models.get(before_name) if before_name else None
        if before is None or before_name == model or current.count != self.min_samples:
            return None
        if before.count < self.min_samples or (before_name, model) in record.reported:
            return None
        stats = compare(before.histogram, current.histogram, _BINS)
        drop = before.mean - current.mean
        if drop < self.min_drop or stats.ks <= stats.ks_critical():
            return None
        record.reported.add((before_name, model))
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
