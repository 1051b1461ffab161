"""Turns observations of LLM calls into incident candidates.

State is kept per (feature, model) key, bounded by an LRU with counted evictions. Every
update is O(1) (a window's drift statistics are O(bins), once per window).

Decision policy (configurable thresholds in ``DetectionConfig``):

- a safety violation alerts at once, on its span;
- two or more signals on one request alert, on its span;
- a rise in a key's rate of weak answers, context issues or safety violations alerts for
  the population on its own (a Bernoulli CUSUM per rate against its learned baseline);
- two or more signals elevated together in a key's recent window alert for the population;
- drift, model regression and a sustained storm of negative feedback alert for the
  population on their own.

Severity of the evidence (the store then escalates a grouped incident by its scope, see
``incidents.severity``): a secret or PII in an answer is ``critical``; the system prompt
in an answer ``high``; an injection or jailbreak attempt that leaked nothing ``low``, at
most ``medium`` however many there are. Population incidents scale with the share of
affected requests (``high`` from 50 %, ``medium`` from 20 %, else ``low``; ``critical``
from 80 % over at least 50 requests). A model regression is ``high`` when the mean quality
drops by at least 0.2, else ``medium``; quality or safety drift with PSI of at least 0.25 is
``medium``, other drift ``low``. Two signals on one request are ``low``, three or more
``medium``.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import math
import time
from collections.abc import Iterator

from ai_incidents.capture import gate
from ai_incidents.config import Settings
from ai_incidents.detection.anomaly import RateMonitor, RobustAnomalyDetector, log_scale
from ai_incidents.detection.change import BernoulliCUSUM
from ai_incidents.detection.drift import Binning, DriftMonitor, PageHinkley
from ai_incidents.detection.observation import Observation
from ai_incidents.detection.regression import RegressionTracker
from ai_incidents.incidents.model import SEVERITIES, Candidate, Severity, SpanRef, capped

_logger = logging.getLogger(__name__)
HEIGHTENED_SENSITIVITY = 0.6
"""Under heightened monitoring a watched rate alarms at this share of its CUSUM threshold."""
_INJECTION_CATEGORIES = frozenset(
    {"prompt_injection", "indirect_prompt_injection", "jailbreak", "system_prompt_leak"}
)
_DATA_LEAK_CATEGORIES = frozenset({"secret", "pii"})
_RATE_SIGNALS = {
    "low_quality": ("quality_degradation", "critical"),
    "context_issue": ("context_issues", "critical"),
    "safety_violation": ("prompt_injection", "medium"),
}
"""Signals whose rate is watched for a rise: the failure mode and the severity ceiling."""
_SCORE_BINS = Binning(0.0, 1.0001, 20)
_LOG_BINS = Binning(0.0, 14.0, 28)


@dataclasses.dataclass(frozen=True)
class DetectionConfig:
    """Detection thresholds and sizes. The ones users set are ``Settings`` fields (their
    defaults live there); the rest are fixed here."""

    low_quality_threshold: float = Settings.low_quality_threshold
    drift_window: int = Settings.drift_window
    drift_psi_threshold: float = Settings.drift_psi_threshold
    drift_reference: str = Settings.drift_reference
    """``rolling`` (the reference follows slowly) or ``pinned`` (the first window stays)."""
    anomaly_z: float = Settings.anomaly_z
    max_keys: int = Settings.max_keys
    population_interval_s: float = Settings.population_interval_s
    regression_min_samples: int = 30
    regression_min_drop: float = 0.1
    feedback_min_count: int = 10
    feedback_negative_share: float = 0.5

    @classmethod
    def from_settings(cls, settings: Settings) -> DetectionConfig:
        shared = {f.name for f in dataclasses.fields(cls)} & {
            f.name for f in dataclasses.fields(Settings)
        }
        return cls(**{name: getattr(settings, name) for name in shared})


class _KeyState:
    """Streaming state of one (feature, model)."""

    def __init__(self, config: DetectionConfig) -> None:
        rolling = config.drift_reference != "pinned"

        def monitor(binning: Binning) -> DriftMonitor:
            return DriftMonitor(binning, config.drift_window, config.drift_psi_threshold, rolling)

        self.drift = {
            "quality_score": monitor(_SCORE_BINS),
            "safety_score": monitor(_SCORE_BINS),
            "retrieval_relevance": monitor(_SCORE_BINS),
            "answer_length": monitor(_LOG_BINS),
            "latency": monitor(_LOG_BINS),
            "tokens": monitor(_LOG_BINS),
        }
        self.quality_change = PageHinkley(threshold=12.0)
        self.anomalies = {
            name: RobustAnomalyDetector(threshold=config.anomaly_z)
            for name in ("latency", "time_to_first_chunk", "input_tokens", "output_tokens")
        }
        self.errors = RateMonitor()
        self.rates = {
            signal: RateMonitor()
            for signal in ("low_quality", "context_issue", "anomaly_detected", "safety_violation")
        }
        self.changes = {signal: BernoulliCUSUM() for signal in _RATE_SIGNALS}
        self.change_started: dict[str, float] = {}
        """When each watched rate's current rise began (the CUSUM last left zero)."""
        self.changed: list[str] = []
        self.window = collections.deque(maxlen=config.drift_window)
        self.drifted: list[str] = []
        self.quality_dropped = False
        self.last_population: dict[str, tuple[float, Severity]] = {}
        """When each population cause last raised a candidate, and how severe (bounded by
        the causes)."""
        self.episodes: dict[str, _Episode] = {}
        """Watched rates in a detected rise: calls and weak ones since it began."""
        self.calls = 0
        self.recent_events: collections.OrderedDict[tuple[str, str], int] = (
            collections.OrderedDict()
        )
        """(signal, user) -> the call at which that user last had that signal (bounded)."""
        self.drift_countdown = 0
        """Observations left during which a detected drift counts as an elevated signal."""
        self.examples: collections.deque[SpanRef] = collections.deque(maxlen=5)


class _Episode:
    """One detected rise of a watched rate: calls and events since it began; it ends after
    ``QUIET_CALLS`` calls in a row with the CUSUM back at zero."""

    QUIET_CALLS = 50
    __slots__ = ("bad", "calls", "quiet", "since")

    def __init__(self, calls: int, bad: int, since: float) -> None:
        self.calls, self.bad, self.since, self.quiet = calls, bad, since, 0

    def add(self, event: bool, statistic: float) -> bool:
        """Count one call; True when the rise is over."""
        self.calls += 1
        self.bad += event
        self.quiet = self.quiet + 1 if statistic == 0.0 else 0
        return self.quiet >= self.QUIET_CALLS


class Detector:
    """Feed it observations (``observe``) and feedback (``observe_feedback``); it returns the
    incident candidates they cause."""

    def __init__(self, config: DetectionConfig | None = None) -> None:
        self.config = config or DetectionConfig()
        self._keys: collections.OrderedDict[tuple[str, str], _KeyState] = collections.OrderedDict()
        self.evicted_keys = 0
        self.regression = RegressionTracker(
            min_samples=self.config.regression_min_samples,
            min_drop=self.config.regression_min_drop,
            max_features=self.config.max_keys,
        )
        self._responses: collections.OrderedDict[str, tuple[str, str, tuple[str, ...]]] = (
            collections.OrderedDict()
        )
        self._feedback: collections.OrderedDict[str, collections.deque[bool]] = (
            collections.OrderedDict()
        )
        self._feedback_storms: dict[str, float] = {}
        self.errors = 0
        """Observations a statistic failed on (logged once); their request signals still count."""

    def state(self, feature: str, model: str) -> _KeyState:
        key = (feature, model)
        state = self._keys.get(key)
        if state is None:
            state = self._keys[key] = _KeyState(self.config)
            while len(self._keys) > self.config.max_keys:
                self._keys.popitem(last=False)
                self.evicted_keys += 1
        else:
            self._keys.move_to_end(key)
        return state

    def states(self) -> Iterator[tuple[tuple[str, str], _KeyState]]:
        return iter(list(self._keys.items()))

    def observe(self, obs: Observation, now: float | None = None) -> list[Candidate]:
        """The candidates one finished LLM call causes (its own, and its population's)."""
        now = time.time() if now is None else now
        state = self.state(obs.feature, obs.model)
        signals, evidence = self._request_signals(obs)
        try:
            self._update_statistics(obs, state, signals, evidence, now)
        except Exception:
            self._failed("statistics")
        state.window.append(bool(signals))
        if signals:
            state.examples.append(obs.span)
        self._remember_response(obs, signals)
        candidates = self._request_candidates(obs, signals, evidence, now)
        try:
            candidates += self._population_candidates(obs, state, now)
        except Exception:
            self._failed("population detection")
        return candidates

    def _failed(self, what: str) -> None:
        self.errors += 1
        if self.errors == 1:
            _logger.exception("ai-incidents: %s failed on an observation", what)

    def _request_signals(self, obs: Observation) -> tuple[list[str], dict[str, object]]:
        """The request's own signals from its scores and flags."""
        signals: list[str] = []
        evidence: dict[str, object] = {}
        threshold = self.config.low_quality_threshold
        if obs.quality_flags or (obs.quality_score is not None and obs.quality_score < threshold):
            signals.append("low_quality")
            evidence["quality_score"] = obs.quality_score
            evidence["quality_flags"] = list(obs.quality_flags)
        if obs.safety_categories:
            signals.append("safety_violation")
            evidence["safety_categories"] = list(obs.safety_categories)
            evidence["safety_score"] = obs.safety_score
        if obs.retrieval_flags:
            signals.append("context_issue")
            evidence["retrieval_flags"] = list(obs.retrieval_flags)
        return signals, evidence

    def _update_statistics(
        self,
        obs: Observation,
        state: _KeyState,
        signals: list[str],
        evidence: dict[str, object],
        now: float,
    ) -> None:
        """Anomalies (a signal of the request), rates, rate changes and drift of the key."""
        anomalous = self._anomalies(obs, state)
        if anomalous:
            signals.append("anomaly_detected")
            evidence["anomalies"] = anomalous
        for signal, monitor in state.rates.items():
            if signal == "safety_violation" or "safety_violation" not in signals:
                monitor.update(signal in signals)
        state.changed = []
        sensitivity = HEIGHTENED_SENSITIVITY if gate.heightened(obs.feature) else 1.0
        attacked = "safety_violation" in signals
        state.calls += 1
        for signal, detector in state.changes.items():
            # A refused attack is the model doing its job: it is no weak answer of the
            # feature, so attacks never make a quality or context incident for everyone.
            if attacked and signal != "safety_violation":
                continue
            event = signal in signals
            if event and _repeated(state, signal, obs.user):
                continue  # one user retrying a question that failed is one piece of evidence
            alarmed = detector.update(event, sensitivity)
            episode = state.episodes.get(signal)
            if episode is not None and episode.add(event, detector.statistic):
                del state.episodes[signal]
                episode = None
            if alarmed:
                state.changed.append(signal)
                if episode is None:
                    state.episodes[signal] = _Episode(
                        detector.calls_since_start, detector.bad_since_start,
                        state.change_started.get(signal, now),
                    )  # fmt: skip
            elif detector.calls_since_start == 1:
                state.change_started[signal] = now
        state.drifted = self._update_drift(obs, state, attacked)

    def _anomalies(self, obs: Observation, state: _KeyState) -> dict[str, float]:
        values = {
            "latency": obs.latency_s * 1000,
            "time_to_first_chunk": None
            if obs.time_to_first_chunk_s is None
            else obs.time_to_first_chunk_s * 1000,
            "input_tokens": obs.input_tokens,
            "output_tokens": obs.output_tokens,
        }
        found = {}
        for name, value in values.items():
            if value is not None and not obs.error:
                detector = state.anomalies[name]
                if detector.update(log_scale(float(value))):
                    found[name] = round(detector.last_z, 2)
        if state.errors.update(obs.error):
            found["error_rate"] = round(state.errors.rate, 3)
        return found

    def _update_drift(self, obs: Observation, state: _KeyState, attacked: bool) -> list[str]:
        """Feed the drift monitors; return the metrics that drifted the harmful way now.
        The quality of an attacked call (often a refusal) says nothing about the feature."""
        quality = None if attacked else obs.quality_score
        values = (
            ("quality_score", quality),
            ("safety_score", obs.safety_score),
            ("retrieval_relevance", obs.retrieval_relevance),
            ("answer_length", None if obs.output_tokens is None else log_scale(obs.output_tokens)),
            ("tokens", None if obs.input_tokens is None else log_scale(obs.input_tokens)),
            ("latency", log_scale(obs.latency_s * 1000)),
        )
        drifted = []
        for metric, value in values:
            monitor = state.drift[metric]
            if value is not None and monitor.update(value) and _harmful(metric, monitor):
                drifted.append(metric)
        state.quality_dropped = (
            quality is not None
            and state.quality_change.update(quality)
            and state.quality_change.direction == "decrease"
        )
        return drifted

    def _request_candidates(
        self, obs: Observation, signals: list[str], evidence: dict[str, object], now: float
    ) -> list[Candidate]:
        categories = set(obs.safety_categories)
        if "safety_violation" in signals:
            severity, ceiling = _safety_severity(categories)
            injection = bool(categories & _INJECTION_CATEGORIES)
            mode = "prompt_injection" if injection else "quality_degradation"
            return [self._candidate(obs, mode, severity, ceiling, signals,
                                    ",".join(sorted(categories)), evidence, now)]  # fmt: skip
        if len(signals) >= 2:
            mode = "context_issues" if "context_issue" in signals else "quality_degradation"
            severity = "medium" if len(signals) >= 3 else "low"
            return [self._candidate(obs, mode, severity, "high", signals, "+".join(signals),
                                    evidence, now)]  # fmt: skip
        return []

    def _candidate(
        self,
        obs: Observation,
        mode: str,
        severity: Severity,
        ceiling: Severity,
        signals: list[str],
        cause: str,
        evidence: dict[str, object],
        now: float,
    ) -> Candidate:
        return Candidate(
            failure_mode=mode,  # type: ignore[arg-type]
            severity=severity,
            signals=tuple(signals),
            feature=obs.feature,
            model=obs.requested_model,
            cause=cause,
            evidence={**evidence, "response_model": obs.model},
            examples=(obs.span,),
            detected_at=now,
            user=obs.user,
            ceiling=ceiling,
        )

    def _population_candidates(
        self, obs: Observation, state: _KeyState, now: float
    ) -> list[Candidate | None]:
        found = [self._rate_change(obs, state, signal, now) for signal in state.changed]
        # Drift of scores counts as an elevated signal; drift of magnitudes (latency, tokens)
        # does not, since the anomaly rate already speaks for them.
        if state.quality_dropped or any(m in _HARMFUL_DIRECTION for m in state.drifted):
            state.drift_countdown = self.config.drift_window
        elif state.drift_countdown:
            state.drift_countdown -= 1
        elevated = [name for name in state.rates if _elevated(state, name)]
        if state.drift_countdown:
            elevated.append("drift_detected")
        if len(elevated) >= 2:
            mode = (
                "prompt_injection" if "safety_violation" in elevated
                else "context_issues" if "context_issue" in elevated
                else "quality_degradation"
            )  # fmt: skip
            share = sum(state.window) / max(len(state.window), 1)
            evidence = {
                "rates": {n: round(state.rates[n].rate, 3) for n in elevated if n in state.rates},
                "drift_detected": "drift_detected" in elevated,
                "affected_share": round(share, 3),
                "window": len(state.window),
            }
            ceiling = "medium" if "safety_violation" in elevated else "critical"
            severity = capped(self._scope_severity(state), ceiling)
            found.append(self._population(obs, state, mode, severity, tuple(elevated),
                                          "rates:" + "+".join(sorted(elevated)), evidence,
                                          now))  # fmt: skip
        for metric in state.drifted:
            stats = state.drift[metric].statistics
            if stats is not None:
                severity: Severity = (
                    "medium"
                    if metric in ("quality_score", "safety_score") and stats.psi >= 0.25
                    else "low"
                )
                mode = (
                    "context_issues" if metric == "retrieval_relevance" else "quality_degradation"
                )
                evidence = {"metric": metric, **dataclasses.asdict(stats)}
                found.append(self._population(obs, state, mode, severity, ("drift_detected",),
                                              f"drift:{metric}", evidence, now))  # fmt: skip
        if state.quality_dropped:
            evidence = {"metric": "quality_score", "detector": "page_hinkley",
                        "mean_before": round(state.quality_change.mean, 3)}  # fmt: skip
            found.append(self._population(obs, state, "quality_degradation", "low",
                                          ("drift_detected",), "change:quality_score", evidence,
                                          now))  # fmt: skip
        regression = self.regression.observe(obs.feature, obs.model, obs.quality_score)
        if regression is not None:
            severity = "high" if regression["mean_drop"] >= 0.2 else "medium"
            found.append(self._population(obs, state, "model_regression", severity,
                                          ("model_regression",),
                                          f"{regression['model_before']}->{obs.model}",
                                          regression, now))  # fmt: skip
        return [c for c in found if c is not None]

    def _rate_change(
        self, obs: Observation, state: _KeyState, signal: str, now: float
    ) -> Candidate | None:
        """A rise in one watched rate, with its size, age and start."""
        detector = state.changes[signal]
        episode = state.episodes[signal]
        mode, ceiling = _RATE_SIGNALS[signal]
        rate, calls = episode.bad / max(episode.calls, 1), episode.calls
        evidence = {
            "detector": "bernoulli_cusum",
            "signal": signal,
            "rate_before": round(detector.baseline, 4),
            "rate_after": round(rate, 4),
            "calls": calls,
            "since": episode.since,
            "statistic": round(detector.statistic, 2),
            "affected_share": round(rate, 3),
            "window": calls,
        }
        severity = capped(_share_severity(rate, calls), ceiling)
        return self._population(obs, state, mode, severity, (signal,), f"rate:{signal}",
                                evidence, now)  # fmt: skip

    def _scope_severity(self, state: _KeyState) -> Severity:
        return _share_severity(sum(state.window) / max(len(state.window), 1), len(state.window))

    def _population(
        self,
        obs: Observation,
        state: _KeyState,
        mode: str,
        severity: Severity,
        signals: tuple[str, ...],
        cause: str,
        evidence: dict[str, object],
        now: float,
    ) -> Candidate | None:
        """A population candidate, at most once per ``population_interval_s`` per cause,
        unless it is more severe than the last one (so an incident escalates as it grows)."""
        last = state.last_population.get(cause)
        recent = last is not None and now - last[0] < self.config.population_interval_s
        if recent and SEVERITIES.index(severity) >= SEVERITIES.index(last[1]):
            return None
        state.last_population[cause] = (now, severity)
        return Candidate(
            failure_mode=mode,  # type: ignore[arg-type]
            severity=severity,
            signals=signals,
            feature=obs.feature,
            model=obs.requested_model,
            cause=cause,
            evidence={**evidence, "response_model": obs.model},
            examples=tuple(state.examples) or (obs.span,),
            population=True,
            detected_at=now,
        )

    def _remember_response(self, obs: Observation, signals: list[str]) -> None:
        if obs.response_id:
            self._responses[obs.response_id] = (obs.feature, obs.model, tuple(signals))
            while len(self._responses) > 10_000:
                self._responses.popitem(last=False)

    def observe_feedback(
        self,
        feature: str,
        negative: bool,
        span: SpanRef,
        response_id: str | None,
        rated: SpanRef | None,
        now: float | None = None,
    ) -> list[Candidate]:
        """Candidates from a user's feedback: with the rated call's own signals, or a storm."""
        now = time.time() if now is None else now
        known = self._responses.get(response_id) if response_id else None
        model = known[1] if known else "unknown"
        feature = known[0] if known else feature
        history = self._feedback.get(feature)
        if history is None:
            history = self._feedback[feature] = collections.deque(maxlen=50)
            while len(self._feedback) > self.config.max_keys:
                self._feedback.popitem(last=False)
        self._feedback.move_to_end(feature)
        history.append(negative)
        candidates = []
        examples = tuple(ref for ref in (rated, span) if ref is not None)
        if negative and known and known[2]:
            signals = ("negative_feedback", *known[2])
            mode = "context_issues" if "context_issue" in signals else "quality_degradation"
            candidates.append(Candidate(mode, "low", signals, feature, model,  # type: ignore[arg-type]
                                        "feedback+" + "+".join(known[2]),
                                        {"response_id": response_id}, examples,
                                        detected_at=now))  # fmt: skip
        negatives = sum(history)
        share = negatives / len(history)
        if (
            negative
            and negatives >= self.config.feedback_min_count
            and share >= self.config.feedback_negative_share
        ):
            last = self._feedback_storms.get(feature)
            if last is None or now - last >= self.config.population_interval_s:
                self._feedback_storms[feature] = now
                for stale in [f for f in self._feedback_storms if f not in self._feedback]:
                    del self._feedback_storms[stale]
                severity: Severity = "high" if share >= 0.8 else "medium"
                evidence = {"negative": negatives, "of": len(history), "share": round(share, 3)}
                candidates.append(Candidate("quality_degradation", severity,
                                            ("negative_feedback",), feature, model,
                                            "feedback_storm", evidence, examples,
                                            population=True, detected_at=now))  # fmt: skip
        return candidates


_REPEAT_CALLS = 20
"""A user's signal within this many calls of the key after the same user's last one is a
repeat (someone rephrasing a refused question), not new evidence of a rise."""
_MAX_RECENT_USERS = 256


def _repeated(state: _KeyState, signal: str, user: str | None) -> bool:
    """Whether ``user`` had ``signal`` within the last ``_REPEAT_CALLS`` calls; remembers
    this one."""
    if user is None:
        return False
    key = (signal, user)
    last = state.recent_events.get(key)
    state.recent_events[key] = state.calls
    state.recent_events.move_to_end(key)
    while len(state.recent_events) > _MAX_RECENT_USERS:
        state.recent_events.popitem(last=False)
    return last is not None and state.calls - last <= _REPEAT_CALLS


def _elevated(state: _KeyState, signal: str) -> bool:
    """A watched rate is elevated while its CUSUM is past half its threshold (a rise may be
    under way); other rates (anomalies) by their exponentially weighted monitor."""
    change = state.changes.get(signal)
    if change is not None:
        return change.statistic >= change.threshold / 2
    return state.rates[signal].elevated


def _safety_severity(categories: set[str]) -> tuple[Severity, Severity]:
    """The severity of one unsafe request, and the highest its incident may grow to."""
    if categories & _DATA_LEAK_CATEGORIES:
        return "critical", "critical"
    if "system_prompt_leak" in categories:
        return "high", "critical"
    if categories & _INJECTION_CATEGORIES:
        return "low", "medium"
    return "low", "high"


def _share_severity(share: float, count: int) -> Severity:
    """A population's severity from its share of affected calls, over enough calls: a few
    calls are no evidence of a feature-wide problem, whatever their share."""
    if share >= 0.8 and count >= 50:
        return "critical"
    if share >= 0.5 and count >= 20:
        return "high"
    return "medium" if share >= 0.2 and count >= 10 else "low"


_HARMFUL_DIRECTION = {"quality_score": -1, "retrieval_relevance": -1, "safety_score": 1}
_MIN_MAGNITUDE_SHIFT = math.log(1.5)
"""Magnitudes (latency, tokens, length; on a log scale) must move by half or more: a
significant but small shift of a fast local service's latency is noise, not an incident."""


def _harmful(metric: str, monitor: DriftMonitor) -> bool:
    """Scores drift harmfully one way (quality down, risk up); magnitudes either way, by
    at least a factor of 1.5."""
    stats = monitor.statistics
    if stats is None:
        return False
    shift = stats.current_mean - stats.reference_mean
    direction = _HARMFUL_DIRECTION.get(metric)
    if direction is None:
        return abs(shift) >= _MIN_MAGNITUDE_SHIFT
    return shift * direction > 0
