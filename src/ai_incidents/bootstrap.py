"""Everything in code, what the launcher does with no code: settings, capture and
evaluation, and the incident pipeline on the SDK providers."""

from __future__ import annotations

from typing import Any

from opentelemetry import _logs, metrics
from opentelemetry.sdk.trace import TracerProvider

from ai_incidents.capture.instrumentor import AIIncidentsInstrumentor
from ai_incidents.config import configure, get_settings
from ai_incidents.pipeline import IncidentPipeline
from ai_incidents.pipeline import install as install_pipeline


def install(
    tracer_provider: TracerProvider | None = None,
    meter_provider: metrics.MeterProvider | None = None,
    logger_provider: _logs.LoggerProvider | None = None,
    **settings: Any,
) -> IncidentPipeline | None:
    """Apply ``settings`` (as ``configure``), capture LLM calls, and raise incidents through
    the tracer provider's exporters. Returns the pipeline (None when disabled)."""
    if settings:
        configure(**settings)
    if not get_settings().enabled:
        return None
    AIIncidentsInstrumentor().instrument(
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        logger_provider=logger_provider,
    )
    return install_pipeline(tracer_provider, meter_provider, logger_provider)
