"""The incident pipeline joined to an OpenTelemetry SDK: processor first, exporters wrapped.

``install()`` is what the ``opentelemetry-instrument`` launcher runs (through the
``opentelemetry_post_instrument`` entry point) after the SDK is configured, and what code
calls for the same result. Explicit composition works too::

    pipeline = IncidentPipeline()
    provider.add_span_processor(pipeline.processor)
    provider.add_span_processor(BatchSpanProcessor(pipeline.wrap(OTLPSpanExporter())))

Detection runs in the processor; the incident manager stores and routes what it finds (log
events and metrics at once, span events through the wrapped exporters), so incidents are
handled whether or not spans are exported. At exit, the manager stores and hands over what
is pending before the SDK providers flush (its exit handler is registered after theirs).
"""

from __future__ import annotations

import atexit
import logging
import os
import weakref

from opentelemetry import _logs, metrics, trace
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk.trace import ReadableSpan, SynchronousMultiSpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter

from ai_incidents.capture import gate
from ai_incidents.capture.feedback import record_feedback
from ai_incidents.capture.listeners import add_listener, remove_listener
from ai_incidents.config import Settings, get_settings
from ai_incidents.containment.flagd import FlagdFileWriter
from ai_incidents.containment.guardrails import from_settings as guardrails_from_settings
from ai_incidents.containment.policy import ContainmentPolicy, parse_overrides
from ai_incidents.containment.responder import Containment
from ai_incidents.containment.review import Review, ReviewQueue
from ai_incidents.containment.state import ContainmentState
from ai_incidents.detection.detector import DetectionConfig, Detector
from ai_incidents.detection.processor import IncidentSpanProcessor
from ai_incidents.evaluation import evaluators
from ai_incidents.export.events import IncidentEvents
from ai_incidents.export.exporter import IncidentExporter, destination_of
from ai_incidents.export.logs import wrap_log_exporters
from ai_incidents.export.metrics import IncidentMetrics
from ai_incidents.incidents.manager import IncidentManager
from ai_incidents.incidents.recorder import CallRecord, FlightRecorder
from ai_incidents.incidents.store import IncidentStore
from ai_incidents.notify.channels import pagerduty, webhook
from ai_incidents.notify.sender import Notifier

_logger = logging.getLogger(__name__)


class IncidentPipeline:
    """Detector, span processor, incident manager, store and metrics, from one set of
    settings. ``service`` names this service in the keys of its destinations."""

    def __init__(
        self,
        settings: Settings | None = None,
        meter_provider: metrics.MeterProvider | None = None,
        logger_provider: _logs.LoggerProvider | None = None,
        default_feature: str = "unknown",
        service: str | None = None,
    ) -> None:
        settings = settings or get_settings()
        self.service = service or default_feature
        self.detector = Detector(DetectionConfig.from_settings(settings))
        self.store = IncidentStore(settings.store, cooldown_s=settings.incident_cooldown_s)
        self.manager = IncidentManager(self.store)
        self.metrics = IncidentMetrics(
            self.detector, meter_provider, gaps=self.gaps, demoted=lambda: set(evaluators.demoted)
        )
        self.recorder = FlightRecorder(
            self.store, settings.recorder_max_rows, settings.recorder_max_age_s
        )
        self.processor = IncidentSpanProcessor(
            self.detector,
            self.manager,
            default_feature=settings.feature or default_feature,
            on_observation=self._observed,
        )
        if isinstance(logger_provider, LoggerProvider):
            wrap_log_exporters(logger_provider)
        self.manager.add_sink(IncidentEvents(logger_provider, self.metrics))
        self.containment_state = ContainmentState(self.store)
        self.reviews = ReviewQueue(self.store)
        self.containment = Containment(
            self.store,
            self.containment_state,
            ContainmentPolicy(_overrides(settings.containment_policy), settings.known_good_models),
            mode=settings.containment,
            fallbacks=settings.fallback_answers,
            monitoring_s=settings.monitoring_s,
        )
        if settings.guardrails or settings.guardrail_features:
            self.containment.guardrails = guardrails_from_settings(settings)
        self.manager.add_sink(self.containment)
        if settings.flagd_file:
            self.containment_state.on_change(FlagdFileWriter(settings.flagd_file))
        self.notifiers = _notifiers(settings, self.service)
        for notifier in self.notifiers:
            self.manager.add_sink(notifier)
        self.manager.add_ticker(self._tick)
        self._review_listener = self.reviews.listener(self.containment.in_review)

    def _observed(self, observation, span: ReadableSpan, attributes) -> None:
        """Each LLM call, on the app's thread: its scores counted, its flight-recorder row."""
        self.metrics.record_scores(attributes)
        self.recorder.add(CallRecord.from_span(observation, attributes, (span.end_time or 0) / 1e9))

    def _tick(self) -> None:
        """The manager's worker, every second: the flight recorder, containment in force,
        the review queue."""
        self.recorder.flush()
        self.containment_state.refresh()
        self.reviews.flush()
        self.reviews.feed_back(_as_feedback)

    def enforce(self) -> None:
        """Let containment act on this process's calls (the gate and the review listener)."""
        guard = self.containment.guardrails
        gate.set_gate(self.containment.decide, self.containment.heightened,
                      guard.redactor if guard is not None else None)  # fmt: skip
        add_listener(self._review_listener)

    def stop_enforcing(self) -> None:
        gate.set_gate(None)
        remove_listener(self._review_listener)

    def wrap(self, exporter: SpanExporter, destination: str | None = None) -> IncidentExporter:
        """``exporter``, with incidents added to what it sends; deliveries to it are tracked
        under ``destination`` (default: this service and the exporter's endpoint)."""
        if destination is None:
            destination = base = destination_of(exporter, self.service)
            taken = self.store.destinations
            number = 1
            while destination in taken:
                number += 1
                destination = f"{base}#{number}"
        return IncidentExporter(exporter, self.manager, destination)

    def gaps(self) -> dict[str, int]:
        """Running totals of what detection could not use, by reason."""
        return {
            "evicted_keys": self.detector.evicted_keys,
            "detection_errors": self.detector.errors + self.processor.errors,
            "dropped_candidates": self.manager.dropped,
            "store_fallbacks": self.store.fallbacks,
            "store_errors": self.manager.store_errors,
            "evaluator_demotions": evaluators.demotions,
        }

    def shutdown(self) -> None:
        """Store and hand over everything pending (also run at exit)."""
        self.manager.shutdown()
        self.reviews.flush()
        self.recorder.flush()

    def attach(self, provider: TracerProvider) -> int:
        """Put the processor first in ``provider`` and wrap the exporters of its batch and
        simple span processors; return how many exporters were wrapped.

        Needs the SDK's default synchronous multi-processor (detection must run before the
        export processors see the span). Exporters already wrapped are left as they are.
        """
        multi = provider._active_span_processor
        if not isinstance(multi, SynchronousMultiSpanProcessor):
            raise TypeError(
                f"ai-incidents needs SynchronousMultiSpanProcessor, not {type(multi).__name__}"
            )
        wrapped = 0
        for span_processor in multi._span_processors:
            if isinstance(span_processor, BatchSpanProcessor):
                holder, attribute = span_processor._batch_processor, "_exporter"
            elif isinstance(span_processor, SimpleSpanProcessor):
                holder, attribute = span_processor, "span_exporter"
            else:
                continue
            exporter = getattr(holder, attribute)
            if isinstance(exporter, IncidentExporter):
                continue
            setattr(holder, attribute, self.wrap(exporter))
            wrapped += 1
        with multi._lock:
            if self.processor not in multi._span_processors:
                multi._span_processors = (self.processor, *multi._span_processors)
        return wrapped


def _notifiers(settings: Settings, service: str) -> list[Notifier]:
    notifiers = []
    if settings.webhook_url:
        notifiers.append(
            Notifier("webhook", webhook(settings.webhook_url, settings.webhook_secret))
        )
    if settings.pagerduty_routing_key:
        build = pagerduty(settings.pagerduty_url, settings.pagerduty_routing_key, service)
        notifiers.append(Notifier("pagerduty", build))
    return notifiers


def _overrides(text: str) -> dict[tuple[str, str], str]:
    try:
        return parse_overrides(text)
    except ValueError as error:
        _logger.warning("AI_INCIDENTS_CONTAINMENT_POLICY: %s; using the default policy", error)
        return {}


def _as_feedback(review: Review) -> None:
    """A reviewer's verdict as the user feedback of the answer reviewed."""
    if review.response_id:
        record_feedback(review.response_id, thumbs_up=review.verdict == "approved",
                        comment=f"{review.verdict} in review")  # fmt: skip


_installed: IncidentPipeline | None = None


def install(
    tracer_provider: TracerProvider | None = None,
    meter_provider: metrics.MeterProvider | None = None,
    logger_provider: _logs.LoggerProvider | None = None,
) -> IncidentPipeline | None:
    """Join the incident pipeline to the SDK tracer provider (the global one by default)."""
    global _installed
    settings = get_settings()
    if not settings.enabled:
        return None
    if _installed is not None and tracer_provider is None:
        return _installed
    provider = tracer_provider or trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        _logger.warning(
            "ai-incidents: no OpenTelemetry SDK tracer provider is set; incidents are off"
        )
        return None
    service = provider.resource.attributes.get("service.name")
    pipeline = IncidentPipeline(
        settings,
        meter_provider or metrics.get_meter_provider(),
        logger_provider or _logs.get_logger_provider(),
        default_feature=str(service) if service else "unknown",
    )
    weak = weakref.ref(pipeline)
    atexit.register(lambda: (found := weak()) is not None and found.shutdown())
    try:
        wrapped = pipeline.attach(provider)
    except (AttributeError, TypeError) as error:
        _logger.warning("ai-incidents: cannot join this tracer provider (%s); incidents are off",
                        error)  # fmt: skip
        return None
    pipeline.enforce()
    if wrapped == 0:
        _logger.info("ai-incidents: no span exporter to wrap: incidents go out as log events"
                     " and metrics only")  # fmt: skip
    _installed = pipeline
    return pipeline


def install_from_launcher() -> None:
    """The ``opentelemetry_post_instrument`` hook: never raises into the app's start-up.

    Without ``opentelemetry-distro`` the launcher configures no SDK, so installing this
    package would give no spans; then the SDK is configured here, as the distro does
    (OTLP exporters unless ``OTEL_*_EXPORTER`` says otherwise)."""
    try:
        if get_settings().enabled and not isinstance(trace.get_tracer_provider(), TracerProvider):
            _configure_sdk()
        install()
    except Exception:
        _logger.exception("ai-incidents could not join the OpenTelemetry pipeline")


def _configure_sdk() -> None:
    """Configure the OpenTelemetry SDK from the environment, as opentelemetry-distro does."""
    from opentelemetry.environment_variables import (
        OTEL_LOGS_EXPORTER,
        OTEL_METRICS_EXPORTER,
        OTEL_TRACES_EXPORTER,
    )
    from opentelemetry.instrumentation.version import __version__ as instrumentation_version
    from opentelemetry.sdk._configuration import _OTelSDKConfigurator
    from opentelemetry.sdk.environment_variables import OTEL_EXPORTER_OTLP_PROTOCOL

    for name in (OTEL_TRACES_EXPORTER, OTEL_METRICS_EXPORTER, OTEL_LOGS_EXPORTER):
        os.environ.setdefault(name, "otlp")
    os.environ.setdefault(OTEL_EXPORTER_OTLP_PROTOCOL, "grpc")
    _OTelSDKConfigurator().configure(auto_instrumentation_version=instrumentation_version)
    _logger.info("ai-incidents configured the OpenTelemetry SDK (no distro is installed)")
