"""Drift statistics, change and anomaly detectors, model regression: their behaviour."""

from __future__ import annotations

import numpy as np
import pytest

from ai_incidents.detection.anomaly import RateMonitor, RobustAnomalyDetector
from ai_incidents.detection.drift import Binning, DriftMonitor, PageHinkley, compare
from ai_incidents.detection.regression import RegressionTracker

BINS = Binning(0.0, 1.0001, 20)


def test_identical_histograms_have_no_distance():
    histogram = np.array([0, 5, 10, 20, 10, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.0])
    stats = compare(histogram, histogram, BINS)
    assert stats.psi == pytest.approx(0, abs=1e-9)
    assert stats.ks == pytest.approx(0, abs=1e-9)
    assert stats.js_distance == pytest.approx(0, abs=1e-6)
    assert stats.wasserstein == pytest.approx(0, abs=1e-9)


def test_shifted_histograms_are_far_apart():
    rng = np.random.default_rng(1)
    before = np.zeros(22)
    after = np.zeros(22)
    for value in rng.normal(0.8, 0.05, 500):
        before[BINS.index(value)] += 1
    for value in rng.normal(0.5, 0.05, 500):
        after[BINS.index(value)] += 1
    stats = compare(before, after, BINS)
    assert stats.psi > 0.25
    assert stats.ks > stats.ks_critical()
    assert stats.wasserstein == pytest.approx(0.3, abs=0.05)
    assert 0.9 < stats.js_distance <= 1.0


def test_stationary_stream_raises_no_drift():
    rng = np.random.default_rng(2)
    monitor = DriftMonitor(BINS, window=100)
    detections = 0
    for value in rng.normal(0.7, 0.1, 5000):
        monitor.update(value)
        detections += monitor.drift_detected
    assert detections == 0


def test_pinned_reference_keeps_flagging_a_lasting_shift():
    rolling, pinned = DriftMonitor(BINS, window=50), DriftMonitor(BINS, window=50, rolling=False)
    flags = {"rolling": 0, "pinned": 0}
    for i in range(600):
        value = 0.8 if i < 50 else 0.3
        for name, monitor in (("rolling", rolling), ("pinned", pinned)):
            monitor.update(value + (i % 5) / 100)
            flags[name] += monitor.drift_detected
    assert flags["pinned"] == 11
    assert flags["rolling"] < flags["pinned"]


def test_page_hinkley_detects_a_drop_and_then_relearns():
    detector = PageHinkley(threshold=5.0)
    alarms = [i for i in range(400) if detector.update(0.9 if i < 200 else 0.4)]
    assert alarms and 200 < alarms[0] < 230
    assert detector.mean == pytest.approx(0.4, abs=0.05)


def test_robust_anomaly_flags_spikes_not_jitter():
    rng = np.random.default_rng(3)
    detector = RobustAnomalyDetector()
    flags = [detector.update(float(v)) for v in np.log1p(rng.normal(20, 2, 500))]
    assert sum(flags) == 0
    assert detector.update(float(np.log1p(400)))


def test_rate_monitor_needs_a_real_rise_over_its_baseline():
    monitor = RateMonitor()
    steady = [monitor.update(i % 10 == 0) for i in range(300)]
    assert not any(steady)
    rising = [monitor.update(i % 2 == 0) for i in range(60)]
    assert any(rising)


def test_regression_is_reported_once_with_evidence():
    tracker = RegressionTracker(min_samples=30, min_drop=0.1)
    rng = np.random.default_rng(4)
    results = [tracker.observe("chat", "model-a", float(s)) for s in rng.normal(0.85, 0.05, 60)]
    results += [tracker.observe("chat", "model-b", float(s)) for s in rng.normal(0.55, 0.05, 60)]
    found = [r for r in results if r]
    assert len(found) == 1
    evidence = found[0]
    assert (evidence["model_before"], evidence["model_after"]) == ("model-a", "model-b")
    assert evidence["mean_drop"] > 0.25
    assert evidence["samples_after"] == 30
    assert evidence["ks"] > evidence["ks_critical"]


def test_an_equal_new_model_is_no_regression():
    tracker = RegressionTracker(min_samples=30)
    rng = np.random.default_rng(5)
    results = [tracker.observe("chat", "a", float(s)) for s in rng.normal(0.8, 0.05, 60)]
    results += [tracker.observe("chat", "b", float(s)) for s in rng.normal(0.8, 0.05, 60)]
    assert not any(results)
