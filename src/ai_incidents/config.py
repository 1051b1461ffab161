"""Settings: one ``AI_INCIDENTS_*`` environment variable per field, or ``configure(...)``.

Parsing is forgiving, like the OpenTelemetry SDK's ``OTEL_*`` variables: a bad value logs a
warning and the default applies.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import os
from collections.abc import Mapping
from typing import Any

_logger = logging.getLogger(__name__)

AI_INCIDENTS_ENABLED = "AI_INCIDENTS_ENABLED"
AI_INCIDENTS_CAPTURE_MAX_BODY_BYTES = "AI_INCIDENTS_CAPTURE_MAX_BODY_BYTES"
AI_INCIDENTS_FEATURE = "AI_INCIDENTS_FEATURE"
AI_INCIDENTS_STORE = "AI_INCIDENTS_STORE"
AI_INCIDENTS_EVALUATORS_DISABLED = "AI_INCIDENTS_EVALUATORS_DISABLED"
AI_INCIDENTS_EVALUATOR_THRESHOLDS = "AI_INCIDENTS_EVALUATOR_THRESHOLDS"
AI_INCIDENTS_EVALUATOR_BUDGET_MS = "AI_INCIDENTS_EVALUATOR_BUDGET_MS"
AI_INCIDENTS_EVALUATOR_MAX_CHARS = "AI_INCIDENTS_EVALUATOR_MAX_CHARS"
AI_INCIDENTS_EVALUATION_EVENTS = "AI_INCIDENTS_EVALUATION_EVENTS"
AI_INCIDENTS_INJECTION_SCAN_CHARS = "AI_INCIDENTS_INJECTION_SCAN_CHARS"
AI_INCIDENTS_RETRIEVAL_MAX_AGE_S = "AI_INCIDENTS_RETRIEVAL_MAX_AGE_S"
AI_INCIDENTS_RETRIEVAL_TTL_S = "AI_INCIDENTS_RETRIEVAL_TTL_S"
AI_INCIDENTS_INCIDENT_COOLDOWN_S = "AI_INCIDENTS_INCIDENT_COOLDOWN_S"
AI_INCIDENTS_LOW_QUALITY_THRESHOLD = "AI_INCIDENTS_LOW_QUALITY_THRESHOLD"
AI_INCIDENTS_DRIFT_WINDOW = "AI_INCIDENTS_DRIFT_WINDOW"
AI_INCIDENTS_DRIFT_PSI_THRESHOLD = "AI_INCIDENTS_DRIFT_PSI_THRESHOLD"
AI_INCIDENTS_DRIFT_REFERENCE = "AI_INCIDENTS_DRIFT_REFERENCE"
AI_INCIDENTS_ANOMALY_Z = "AI_INCIDENTS_ANOMALY_Z"
AI_INCIDENTS_MAX_KEYS = "AI_INCIDENTS_MAX_KEYS"
AI_INCIDENTS_POPULATION_INTERVAL_S = "AI_INCIDENTS_POPULATION_INTERVAL_S"
AI_INCIDENTS_CONTAINMENT = "AI_INCIDENTS_CONTAINMENT"
AI_INCIDENTS_CONTAINMENT_POLICY = "AI_INCIDENTS_CONTAINMENT_POLICY"
AI_INCIDENTS_KNOWN_GOOD_MODELS = "AI_INCIDENTS_KNOWN_GOOD_MODELS"
AI_INCIDENTS_FALLBACK_ANSWER = "AI_INCIDENTS_FALLBACK_ANSWER"
AI_INCIDENTS_MONITORING_S = "AI_INCIDENTS_MONITORING_S"
AI_INCIDENTS_FLAGD_FILE = "AI_INCIDENTS_FLAGD_FILE"
AI_INCIDENTS_WEBHOOK_URL = "AI_INCIDENTS_WEBHOOK_URL"
AI_INCIDENTS_WEBHOOK_SECRET = "AI_INCIDENTS_WEBHOOK_SECRET"
AI_INCIDENTS_PAGERDUTY_ROUTING_KEY = "AI_INCIDENTS_PAGERDUTY_ROUTING_KEY"
AI_INCIDENTS_PAGERDUTY_URL = "AI_INCIDENTS_PAGERDUTY_URL"
AI_INCIDENTS_GUARDRAILS = "AI_INCIDENTS_GUARDRAILS"
AI_INCIDENTS_GUARDRAIL_FEATURES = "AI_INCIDENTS_GUARDRAIL_FEATURES"
AI_INCIDENTS_GUARDRAIL_BLOCK_AT = "AI_INCIDENTS_GUARDRAIL_BLOCK_AT"
AI_INCIDENTS_GUARDRAIL_REVIEW_AT = "AI_INCIDENTS_GUARDRAIL_REVIEW_AT"
AI_INCIDENTS_RECORDER_MAX_ROWS = "AI_INCIDENTS_RECORDER_MAX_ROWS"
AI_INCIDENTS_RECORDER_MAX_AGE_S = "AI_INCIDENTS_RECORDER_MAX_AGE_S"
AI_INCIDENTS_TRACE_URL = "AI_INCIDENTS_TRACE_URL"
AI_INCIDENTS_JUDGE_URL = "AI_INCIDENTS_JUDGE_URL"
AI_INCIDENTS_JUDGE_MODEL = "AI_INCIDENTS_JUDGE_MODEL"
AI_INCIDENTS_JUDGE_API_KEY = "AI_INCIDENTS_JUDGE_API_KEY"
AI_INCIDENTS_JUDGE_RUBRIC = "AI_INCIDENTS_JUDGE_RUBRIC"
AI_INCIDENTS_JUDGE_SAMPLE_RATE = "AI_INCIDENTS_JUDGE_SAMPLE_RATE"
AI_INCIDENTS_JUDGE_TIMEOUT_S = "AI_INCIDENTS_JUDGE_TIMEOUT_S"
AI_INCIDENTS_JUDGE_CONCURRENCY = "AI_INCIDENTS_JUDGE_CONCURRENCY"
AI_INCIDENTS_JUDGE_BUDGET_PER_MINUTE = "AI_INCIDENTS_JUDGE_BUDGET_PER_MINUTE"
OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT = (
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
)

_DEFAULT_CAPTURE_MAX_BODY_BYTES = 4 * 1024 * 1024


def _default_store() -> str:
    """``$XDG_STATE_HOME/ai-incidents/incidents.sqlite3`` (``~/.local/state`` by default):
    one place per user, so the CLI finds it from any folder."""
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return os.path.join(state, "ai-incidents", "incidents.sqlite3")


_DEFAULT_STORE = _default_store()


class ContentCapture(enum.Enum):
    """Where message content may leave the process (the GenAI conventions' opt-in values)."""

    NO_CONTENT = "no_content"
    SPAN_ONLY = "span_only"
    EVENT_ONLY = "event_only"
    SPAN_AND_EVENT = "span_and_event"

    @property
    def on_span(self) -> bool:
        return self in (ContentCapture.SPAN_ONLY, ContentCapture.SPAN_AND_EVENT)

    @property
    def on_event(self) -> bool:
        return self in (ContentCapture.EVENT_ONLY, ContentCapture.SPAN_AND_EVENT)


@dataclasses.dataclass(frozen=True)
class Settings:
    """Every setting of ai-incidents with its default."""

    enabled: bool = True
    capture_max_body_bytes: int = _DEFAULT_CAPTURE_MAX_BODY_BYTES
    capture_content: ContentCapture = ContentCapture.NO_CONTENT
    feature: str | None = None
    store: str = _DEFAULT_STORE
    evaluators_disabled: frozenset[str] = frozenset()
    evaluator_thresholds: Mapping[str, float] = dataclasses.field(default_factory=dict)
    evaluator_budget_ms: float = 20.0
    evaluator_max_chars: int = 65536
    evaluation_events: str = "flagged"
    """``gen_ai.evaluation.result`` span events: ``all`` results, ``flagged`` ones only
    (a flag, a safety category or an error), or ``none``."""
    injection_scan_chars: int = 32768
    retrieval_max_age_s: float = 180 * 86400.0
    retrieval_ttl_s: float = 300.0
    incident_cooldown_s: float = 600.0
    low_quality_threshold: float = 0.5
    drift_window: int = 200
    drift_psi_threshold: float = 0.25
    drift_reference: str = "rolling"
    anomaly_z: float = 6.0
    max_keys: int = 1000
    population_interval_s: float = 60.0
    containment: str = "flags"
    """``enforce`` (actions take effect in capture), ``flags`` (published only), ``off``."""
    containment_policy: str = ""
    """Overrides of the action by severity: ``feature:failure_mode=action,...`` (``*``: any)."""
    known_good_models: Mapping[str, str] = dataclasses.field(default_factory=dict)
    fallback_answers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """Feature (or ``*``) -> the answer a disabled feature gives instead of an error."""
    monitoring_s: float = 3600.0
    flagd_file: str | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = dataclasses.field(default=None, repr=False)
    pagerduty_routing_key: str | None = dataclasses.field(default=None, repr=False)
    pagerduty_url: str = "https://events.pagerduty.com/v2/enqueue"
    guardrails: frozenset[str] = frozenset()
    """``input`` and/or ``output``: prevention on the request path (off by default)."""
    guardrail_features: Mapping[str, frozenset[str]] = dataclasses.field(default_factory=dict)
    """Per-feature guardrails instead of ``guardrails`` (``feature=input+output,other=none``)."""
    guardrail_block_at: float = 0.9
    guardrail_review_at: float = 0.75
    recorder_max_rows: int = 1_000_000
    recorder_max_age_s: float = 7 * 86400.0
    trace_url: str | None = None
    """A trace viewer's URL with ``{trace_id}``, e.g. ``http://jaeger:16686/trace/{trace_id}``."""
    judge_url: str | None = None
    judge_model: str = "gpt-4o-mini"
    judge_api_key: str | None = dataclasses.field(default=None, repr=False)
    judge_rubric: str | None = None
    judge_sample_rate: float = 0.1
    judge_timeout_s: float = 30.0
    judge_concurrency: int = 2
    judge_budget_per_minute: float = 60.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            enabled=_parse_bool(env, AI_INCIDENTS_ENABLED, cls.enabled),
            capture_max_body_bytes=_parse_positive_int(
                env, AI_INCIDENTS_CAPTURE_MAX_BODY_BYTES, cls.capture_max_body_bytes
            ),
            capture_content=_parse_content_capture(env),
            feature=env.get(AI_INCIDENTS_FEATURE) or None,
            store=env.get(AI_INCIDENTS_STORE) or cls.store,
            evaluators_disabled=frozenset(
                name.strip()
                for name in env.get(AI_INCIDENTS_EVALUATORS_DISABLED, "").split(",")
                if name.strip()
            ),
            evaluator_thresholds=_parse_thresholds(env),
            evaluator_budget_ms=_parse_float(
                env, AI_INCIDENTS_EVALUATOR_BUDGET_MS, cls.evaluator_budget_ms
            ),
            evaluator_max_chars=_parse_positive_int(
                env, AI_INCIDENTS_EVALUATOR_MAX_CHARS, cls.evaluator_max_chars
            ),
            evaluation_events=_parse_choice(
                env,
                AI_INCIDENTS_EVALUATION_EVENTS,
                ("all", "flagged", "none"),
                cls.evaluation_events,
            ),
            injection_scan_chars=_parse_positive_int(
                env, AI_INCIDENTS_INJECTION_SCAN_CHARS, cls.injection_scan_chars
            ),
            retrieval_max_age_s=_parse_float(
                env, AI_INCIDENTS_RETRIEVAL_MAX_AGE_S, cls.retrieval_max_age_s
            ),
            incident_cooldown_s=_parse_float(
                env, AI_INCIDENTS_INCIDENT_COOLDOWN_S, cls.incident_cooldown_s
            ),
            low_quality_threshold=_parse_float(
                env, AI_INCIDENTS_LOW_QUALITY_THRESHOLD, cls.low_quality_threshold
            ),
            drift_window=_parse_positive_int(env, AI_INCIDENTS_DRIFT_WINDOW, cls.drift_window),
            drift_psi_threshold=_parse_float(
                env, AI_INCIDENTS_DRIFT_PSI_THRESHOLD, cls.drift_psi_threshold
            ),
            drift_reference=_parse_choice(
                env, AI_INCIDENTS_DRIFT_REFERENCE, ("rolling", "pinned"), cls.drift_reference
            ),
            anomaly_z=_parse_float(env, AI_INCIDENTS_ANOMALY_Z, cls.anomaly_z),
            max_keys=_parse_positive_int(env, AI_INCIDENTS_MAX_KEYS, cls.max_keys),
            population_interval_s=_parse_float(
                env, AI_INCIDENTS_POPULATION_INTERVAL_S, cls.population_interval_s
            ),
            retrieval_ttl_s=_parse_float(env, AI_INCIDENTS_RETRIEVAL_TTL_S, cls.retrieval_ttl_s),
            containment=_parse_choice(
                env, AI_INCIDENTS_CONTAINMENT, ("enforce", "flags", "off"), cls.containment
            ),
            containment_policy=env.get(AI_INCIDENTS_CONTAINMENT_POLICY, ""),
            known_good_models=_parse_pairs(env, AI_INCIDENTS_KNOWN_GOOD_MODELS),
            fallback_answers=(
                {"*": env[AI_INCIDENTS_FALLBACK_ANSWER]}
                if env.get(AI_INCIDENTS_FALLBACK_ANSWER)
                else {}
            ),
            monitoring_s=_parse_float(env, AI_INCIDENTS_MONITORING_S, cls.monitoring_s),
            flagd_file=env.get(AI_INCIDENTS_FLAGD_FILE) or None,
            webhook_url=env.get(AI_INCIDENTS_WEBHOOK_URL) or None,
            webhook_secret=env.get(AI_INCIDENTS_WEBHOOK_SECRET) or None,
            pagerduty_routing_key=env.get(AI_INCIDENTS_PAGERDUTY_ROUTING_KEY) or None,
            pagerduty_url=env.get(AI_INCIDENTS_PAGERDUTY_URL) or cls.pagerduty_url,
            guardrails=frozenset(
                part.strip().lower()
                for part in env.get(AI_INCIDENTS_GUARDRAILS, "").split(",")
                if part.strip().lower() in ("input", "output")
            ),
            guardrail_features={
                feature: _guardrail_set(value)
                for feature, value in _parse_pairs(env, AI_INCIDENTS_GUARDRAIL_FEATURES).items()
            },
            guardrail_block_at=_parse_float(
                env, AI_INCIDENTS_GUARDRAIL_BLOCK_AT, cls.guardrail_block_at
            ),
            guardrail_review_at=_parse_float(
                env, AI_INCIDENTS_GUARDRAIL_REVIEW_AT, cls.guardrail_review_at
            ),
            recorder_max_rows=_parse_positive_int(
                env, AI_INCIDENTS_RECORDER_MAX_ROWS, cls.recorder_max_rows
            ),
            recorder_max_age_s=_parse_float(
                env, AI_INCIDENTS_RECORDER_MAX_AGE_S, cls.recorder_max_age_s
            ),
            trace_url=env.get(AI_INCIDENTS_TRACE_URL) or None,
            judge_url=env.get(AI_INCIDENTS_JUDGE_URL) or None,
            judge_model=env.get(AI_INCIDENTS_JUDGE_MODEL) or cls.judge_model,
            judge_api_key=env.get(AI_INCIDENTS_JUDGE_API_KEY) or None,
            judge_rubric=env.get(AI_INCIDENTS_JUDGE_RUBRIC) or None,
            judge_sample_rate=min(
                1.0, _parse_float(env, AI_INCIDENTS_JUDGE_SAMPLE_RATE, cls.judge_sample_rate)
            ),
            judge_timeout_s=_parse_float(env, AI_INCIDENTS_JUDGE_TIMEOUT_S, cls.judge_timeout_s),
            judge_concurrency=_parse_positive_int(
                env, AI_INCIDENTS_JUDGE_CONCURRENCY, cls.judge_concurrency
            ),
            judge_budget_per_minute=_parse_float(
                env, AI_INCIDENTS_JUDGE_BUDGET_PER_MINUTE, cls.judge_budget_per_minute
            ),
        )

    def replace(self, **changes: Any) -> Settings:
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise TypeError(f"unknown ai-incidents settings: {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **changes)


def get_settings() -> Settings:
    """The settings in force."""
    return _settings


def configure(**changes: Any) -> Settings:
    """Change settings in code; keyword names are the lower-case ``AI_INCIDENTS_*`` names."""
    global _settings
    if "evaluator_thresholds" in changes:
        changes["evaluator_thresholds"] = dict(changes["evaluator_thresholds"])
    for name in ("known_good_models", "fallback_answers"):
        if name in changes:
            changes[name] = dict(changes[name])
    if "guardrail_features" in changes:
        changes["guardrail_features"] = {
            feature: _guardrail_set(value)
            for feature, value in changes["guardrail_features"].items()
        }
    if isinstance(changes.get("guardrails"), str):
        changes["guardrails"] = frozenset(p.strip() for p in changes["guardrails"].split(","))
    elif "guardrails" in changes:
        changes["guardrails"] = frozenset(changes["guardrails"])
    if "evaluators_disabled" in changes:
        changes["evaluators_disabled"] = frozenset(changes["evaluators_disabled"])
    if isinstance(changes.get("capture_content"), str):
        changes["capture_content"] = _content_capture_from_text(changes["capture_content"])
    _settings = _settings.replace(**changes)
    return _settings


def reload_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read the environment again, forgetting ``configure(...)`` changes."""
    global _settings
    _settings = Settings.from_env(environ)
    return _settings


def _parse_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    value = raw.strip().lower()
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off"):
        return False
    _logger.warning("%s=%r is not a boolean; using %s", name, raw, default)
    return default


def _parse_positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value <= 0:
        _logger.warning("%s=%r is not a positive integer; using %d", name, raw, default)
        return default
    return value


def _parse_float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value < 0:
        _logger.warning("%s=%r is not a non-negative number; using %s", name, raw, default)
        return default
    return value


def _parse_choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw not in choices:
        _logger.warning("%s=%r is not one of %s; using %s", name, raw, ", ".join(choices), default)
        return default
    return raw


def _parse_thresholds(env: Mapping[str, str]) -> dict[str, float]:
    """``name=value,name=value`` into a mapping; bad pairs log and are skipped."""
    thresholds = {}
    for pair in env.get(AI_INCIDENTS_EVALUATOR_THRESHOLDS, "").split(","):
        if not pair.strip():
            continue
        name, _, value = pair.partition("=")
        try:
            thresholds[name.strip()] = float(value)
        except ValueError:
            _logger.warning(
                "%s: %r is not name=number; skipped", AI_INCIDENTS_EVALUATOR_THRESHOLDS, pair
            )
    return thresholds


def _guardrail_set(value: object) -> frozenset[str]:
    """``input``, ``output`` or both, from ``input+output`` or ``none`` or a collection."""
    parts = value.replace("+", ",").split(",") if isinstance(value, str) else value
    return frozenset(p.strip().lower() for p in parts if p.strip().lower() in ("input", "output"))


def _parse_pairs(env: Mapping[str, str], name: str) -> dict[str, str]:
    """``key=value,key=value`` into a mapping; pairs without ``=`` log and are skipped."""
    pairs = {}
    for pair in env.get(name, "").split(","):
        if not pair.strip():
            continue
        key, separator, value = pair.partition("=")
        if not separator or not key.strip():
            _logger.warning("%s: %r is not key=value; skipped", name, pair)
            continue
        pairs[key.strip()] = value.strip()
    return pairs


def _parse_content_capture(env: Mapping[str, str]) -> ContentCapture:
    raw = env.get(OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT)
    if raw is None or not raw.strip():
        return ContentCapture.NO_CONTENT
    try:
        return _content_capture_from_text(raw)
    except ValueError:
        _logger.warning(
            "%s=%r is not one of true, false, %s; content is not captured",
            OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT,
            raw,
            ", ".join(m.name for m in ContentCapture),
        )
        return ContentCapture.NO_CONTENT


def _content_capture_from_text(raw: str) -> ContentCapture:
    value = raw.strip().lower()
    if value in ("true", "1", "yes"):
        return ContentCapture.SPAN_ONLY
    if value in ("false", "0", "no"):
        return ContentCapture.NO_CONTENT
    return ContentCapture(value)


_settings = Settings.from_env()
