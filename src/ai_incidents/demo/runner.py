"""``ai-incidents demo``: the support app under ai-incidents, scenario after scenario.

Everything is real but the model: the openai SDK, capture, evaluation, detection, the
incident manager and store, containment in ``enforce`` mode, the OTLP JSON file of every
span (``telemetry.otlp.jsonl``, which ``ai-incidents replay`` and the collector's file
receiver read), optionally a collector at ``--otlp-endpoint``. Each scenario plays a healthy
phase, then its failure until it is detected and contained and a few calls more; then an
operator resolves the incident, which undoes the containment.
"""

from __future__ import annotations

import dataclasses
import os
import random
import time
from collections.abc import Callable
from pathlib import Path

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

import ai_incidents
from ai_incidents import semconv
from ai_incidents.config import get_settings
from ai_incidents.containment.responder import resolve
from ai_incidents.demo.scenarios import Scenario, SupportApp, scenarios
from ai_incidents.export.otlp_file import OTLPJsonFileExporter
from ai_incidents.incidents.model import Incident
from ai_incidents.pipeline import IncidentPipeline
from ai_incidents.testing import ProviderServer

CALLS_AFTER_DETECTION = 40
_BASE_DELAY_S = 0.02


@dataclasses.dataclass
class Progress:
    """What one scenario did so far (read by the live view)."""

    scenario: Scenario
    phase: str = "waiting"
    calls: int = 0
    started: float = 0.0
    flagged: int = 0
    blocked: int = 0
    false_alarms: int = 0
    failing_since: float | None = None
    failing_wall: float | None = None
    failing_calls: int = 0
    detected_after_calls: int | None = None
    detected_after_s: float | None = None
    incident: Incident | None = None
    containment: str = ""
    undone: bool = False
    postmortem: str = ""

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self.started if self.started else 0.0
        return self.calls / elapsed if elapsed > 0 else 0.0


class _Signals(SpanProcessor):
    """Counts the demo's LLM calls that raised a signal, per feature."""

    def __init__(self) -> None:
        self.flagged: dict[str, int] = {}

    def on_end(self, span: ReadableSpan) -> None:
        attributes = span.attributes or {}
        if attributes.get(semconv.GEN_AI_OPERATION_NAME) != semconv.OPERATION_CHAT:
            return
        if any(attributes.get(name) for name in (semconv.AI_QUALITY_FLAGS,
                                                 semconv.AI_SAFETY_CATEGORIES,
                                                 semconv.AI_RETRIEVAL_FLAGS)):  # fmt: skip
            feature = str(attributes.get(semconv.AI_FEATURE_NAME))
            self.flagged[feature] = self.flagged.get(feature, 0) + 1


@dataclasses.dataclass
class DemoRun:
    """The running demo: its pipeline, app, provider and the progress of each scenario."""

    out: Path
    seed: int = 7
    speed: float = 1.0
    only: str | None = None
    otlp_endpoint: str | None = None
    progress: list[Progress] = dataclasses.field(default_factory=list)
    notify: Callable[[Progress, str | None], None] = lambda progress, message: None
    """Called on every call (``None``) and on every event worth a log line."""

    def __post_init__(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        self.store_path = self.out / "incidents.sqlite3"
        self.telemetry_path = self.out / "telemetry.otlp.jsonl"
        for path in (self.store_path, self.telemetry_path):
            path.unlink(missing_ok=True)
        chosen = [s for s in scenarios(self.seed) if self.only in (None, "all", s.name)]
        self.progress = [Progress(s) for s in chosen]

    def start(self) -> None:
        ai_incidents.configure(
            store=str(self.store_path), containment="enforce", population_interval_s=15,
            drift_window=50,
            fallback_answers={"*": "Our assistant is paused while we fix a problem; a person"
                              " will answer you shortly."},
        )  # fmt: skip
        resource = Resource.create({"service.name": "acme-support"})
        self.provider = TracerProvider(resource=resource)
        self.signals = _Signals()
        self.provider.add_span_processor(self.signals)
        self.provider.add_span_processor(
            SimpleSpanProcessor(OTLPJsonFileExporter(self.telemetry_path))
        )
        if self.otlp_endpoint:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            endpoint = self.otlp_endpoint.rstrip("/") + "/v1/traces"
            self.provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint)))
        installed = ai_incidents.install(tracer_provider=self.provider)
        assert installed is not None, "ai-incidents is disabled (AI_INCIDENTS_ENABLED=false)"
        self.pipeline: IncidentPipeline = installed
        self.server = ProviderServer().start()
        import openai

        self.client = openai.OpenAI(base_url=self.server.openai_base_url, api_key="demo",
                                    max_retries=2)  # fmt: skip
        self.app = SupportApp(self.client)

    def play(self, progress: Progress) -> None:
        """One scenario: healthy, failing until detected (and some calls more), resolved."""
        scenario, rng = progress.scenario, random.Random(self.seed)
        progress.started = time.monotonic()
        progress.phase = "healthy"
        self.notify(progress, f"healthy phase: {scenario.healthy_calls} calls")
        self.server.responder = scenario.responder_healthy
        for i in range(scenario.healthy_calls):
            self._call(progress, scenario.healthy(self.app, i, rng))
        self.pipeline.manager.force_flush()
        progress.false_alarms = len(self._incidents(scenario))
        progress.phase = "failing"
        self.notify(progress, f"{scenario.title} (false alarms so far: {progress.false_alarms})")
        self.server.responder = scenario.responder_failing
        progress.failing_since = time.monotonic()
        progress.failing_wall = time.time()
        remaining = None
        for i in range(scenario.failing_calls):
            self._call(progress, scenario.failing(self.app, i, rng))
            progress.failing_calls += 1
            self._detect(progress)
            if progress.incident is not None and remaining is None:
                remaining = CALLS_AFTER_DETECTION
            if remaining is not None:
                remaining -= 1
                if remaining <= 0:
                    break
        self.pipeline.manager.force_flush()
        self._detect(progress)
        if progress.incident is None:
            self.notify(progress, f"not detected in {progress.failing_calls} calls")
        else:
            progress.containment = self._containment(progress)
            self.notify(progress, f"contained: {progress.containment}; {progress.blocked} calls"
                        " answered without the model")  # fmt: skip
            progress.phase = "resolving"
            for incident in self._failing_incidents(progress):
                resolve(self.pipeline.store, self.pipeline.containment_state, incident.id,
                        "demo operator", "fixed in the demo")  # fmt: skip
            self.pipeline.manager.force_flush()
            progress.undone = self.pipeline.containment_state.get(scenario.feature) is None
            self.notify(progress, "resolved by the operator; containment undone")
            progress.postmortem = self._postmortem(progress.incident)
        progress.phase = "done"
        self.notify(progress, None)

    def _call(self, progress: Progress, outcome) -> None:
        progress.calls += 1
        progress.blocked += outcome.blocked
        progress.flagged = self.signals.flagged.get(progress.scenario.feature, 0)
        self.notify(progress, None)
        if self.speed > 0:
            time.sleep(_BASE_DELAY_S / self.speed)

    def _detect(self, progress: Progress) -> None:
        if progress.incident is not None:
            progress.incident = self.pipeline.store.get(progress.incident.id)
            return
        self.pipeline.manager.force_flush()
        found = [i for i in self._incidents(progress.scenario)
                 if i.failure_mode == progress.scenario.failure_mode
                 and i.last_seen >= (progress.failing_wall or 0)]  # fmt: skip
        if found and progress.failing_since is not None:
            progress.incident = min(found, key=lambda i: i.first_seen)
            progress.detected_after_calls = progress.failing_calls
            progress.detected_after_s = time.monotonic() - progress.failing_since
            incident = progress.incident
            self.notify(progress, f"detected after {progress.failing_calls} calls"
                        f" ({progress.detected_after_s:.1f} s): {incident.severity}"
                        f" {incident.failure_mode}: {incident.summary}")  # fmt: skip

    def _incidents(self, scenario: Scenario) -> list[Incident]:
        return [i for i in self.pipeline.store.list(limit=1000) if i.feature == scenario.feature]

    def _postmortem(self, incident: Incident) -> str:
        """Write the incident's postmortem (markdown and HTML); the HTML file's path."""
        from ai_incidents.investigation.investigate import investigate
        from ai_incidents.investigation.postmortem import write_postmortem

        self.pipeline.recorder.flush()
        settings = get_settings()
        found = investigate(self.pipeline.store, incident.id, settings)
        written = write_postmortem(found, self.out / "postmortems" / incident.id, settings)
        html = [path for path in written if path.suffix == ".html"]
        path = html[0] if html else written[0]
        return os.path.relpath(path) if not os.path.isabs(self.out) else str(path)

    def _failing_incidents(self, progress: Progress) -> list[Incident]:
        since = progress.failing_wall or 0.0
        return [i for i in self._incidents(progress.scenario) if i.last_seen >= since]

    def _containment(self, progress: Progress) -> str:
        """Every containment action taken for the scenario's incidents."""
        actions = [a for incident in self._failing_incidents(progress)
                   for a in self.pipeline.containment_state.history(incident.id)]  # fmt: skip
        names = []
        for action in sorted(actions, key=lambda a: a.started):
            whom = "" if action.subject == "*" else " (users)"
            label = action.action + whom + (f" -> {action.model}" if action.model else "")
            if label not in names:
                names.append(label)
        return ", ".join(names)

    def stop(self) -> None:
        self.pipeline.stop_enforcing()
        self.server.stop()
        self.client.close()
        self.pipeline.shutdown()
        self.provider.shutdown()
