"""Incidents you can trust: detection never goes blind, nothing detected is lost, severity
and summaries say what happened. Each test reproduces a defect found under real traffic or
a hostile load."""

from __future__ import annotations

import logging
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from ai_incidents.config import Settings
from ai_incidents.detection.detector import Detector
from ai_incidents.detection.observation import Observation
from ai_incidents.incidents.model import SpanRef
from ai_incidents.incidents.store import IncidentStore
from ai_incidents.pipeline import IncidentPipeline
from ai_incidents.testing.otlp_receiver import OTLPReceiver
from tests.conftest import wait_for

HEALTHY = {
    "gen_ai.operation.name": "chat",
    "gen_ai.request.model": "gpt-4o",
    "gen_ai.response.model": "gpt-4o-2024-08-06",
    "ai.feature.name": "support",
    "ai.quality.score": 0.9,
    "ai.quality.flags": (),
    "gen_ai.usage.input_tokens": 400,
    "gen_ai.usage.output_tokens": 120,
}
WEAK = {**HEALTHY, "ai.quality.score": 0.2, "ai.quality.flags": ("refusal",)}
LEAK = {
    **HEALTHY,
    "ai.safety.flagged": True,
    "ai.safety.categories": ("prompt_injection", "system_prompt_leak"),
    "ai.safety.score": 1.0,
}
ATTEMPT = {**HEALTHY, "ai.safety.categories": ("prompt_injection",), "ai.safety.score": 0.9}


def pipeline_on(tmp_path, settings: Settings | None = None, processor=SimpleSpanProcessor):
    settings = settings or Settings(store=str(tmp_path / "incidents.db"))
    pipeline = IncidentPipeline(settings, service="support-service")
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "support-service"}))
    provider.add_span_processor(pipeline.processor)
    provider.add_span_processor(processor(pipeline.wrap(memory)))
    return provider, pipeline, memory


def call(tracer, attributes: dict, latency_s: float = 0.8, **extra) -> None:
    start = time.time_ns()
    span = tracer.start_span("chat gpt-4o", attributes={**attributes, **extra}, start_time=start)
    span.end(end_time=start + int(latency_s * 1e9))


def incident_events(memory) -> list:
    return [e for s in memory.get_finished_spans() for e in s.events if e.name == "ai.incident"]


# 1. Detection went blind during a real degradation (KeyError in population detection).


def test_detection_stays_awake_through_a_degradation_and_raises_the_leak(tmp_path):
    provider, pipeline, _memory = pipeline_on(tmp_path)
    tracer = provider.get_tracer("app")
    rng = random.Random(7)
    for _ in range(240):
        call(tracer, HEALTHY, latency_s=rng.lognormvariate(0, 0.3))
    for i in range(120):
        call(tracer, HEALTHY if i % 4 == 0 else WEAK, latency_s=rng.lognormvariate(0, 0.3))
    call(tracer, LEAK)
    pipeline.manager.force_flush()

    assert pipeline.processor.errors == 0 and pipeline.detector.errors == 0
    modes = {i.failure_mode for i in pipeline.store.list()}
    assert {"prompt_injection", "quality_degradation"} <= modes


def test_empty_answers_after_good_ones_do_not_blind_detection(tmp_path):
    provider, pipeline, _ = pipeline_on(tmp_path)
    tracer = provider.get_tracer("app")
    empty = {**HEALTHY, "ai.quality.score": 0.0, "ai.quality.flags": ("empty",)}
    for _ in range(200):
        call(tracer, HEALTHY)
    for _ in range(14):
        call(tracer, empty, latency_s=0.05)
    for _ in range(50):
        call(tracer, HEALTHY)
    call(tracer, LEAK)
    pipeline.manager.force_flush()

    assert pipeline.processor.errors == 0 and pipeline.detector.errors == 0
    assert any(i.failure_mode == "prompt_injection" for i in pipeline.store.list())


def test_a_failing_statistic_never_hides_a_request_incident():
    detector = Detector()
    detector.state("support", "gpt-4o-2024-08-06").changes = None  # a statistic that breaks
    observation = Observation.from_span(LEAK, SpanRef(1, 2), 0.5, "support")
    (candidate,) = detector.observe(observation)

    assert candidate.failure_mode == "prompt_injection"
    assert detector.errors >= 1


# 3, 4. Incidents reach the store whatever happens to their spans.


def test_incident_is_stored_before_its_span_is_exported(tmp_path):
    provider, pipeline, memory = pipeline_on(tmp_path, processor=BatchSpanProcessor)
    call(provider.get_tracer("app"), LEAK)

    (incident,) = wait_for(lambda: IncidentStore(pipeline.store.path).list(), timeout_s=3)
    assert incident.failure_mode == "prompt_injection"
    assert memory.get_finished_spans() == ()  # the batch processor has not exported yet
    provider.shutdown()
    assert [e.attributes["ai.incident.id"] for e in incident_events(memory)] == [incident.id]


def test_sigkill_loses_no_incident_stored_within_a_second(tmp_path):
    store = tmp_path / "incidents.db"
    app = textwrap.dedent(f"""
        import sys, time
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        from ai_incidents.config import Settings
        from ai_incidents.pipeline import IncidentPipeline

        pipeline = IncidentPipeline(Settings(store={str(store)!r}))
        provider = TracerProvider()
        provider.add_span_processor(pipeline.processor)
        provider.add_span_processor(BatchSpanProcessor(pipeline.wrap(InMemorySpanExporter())))
        tracer = provider.get_tracer("app")
        for i in range(40):
            attributes = {LEAK!r}
            attributes["ai.feature.name"] = f"feature-{{i}}"
            tracer.start_span("chat gpt-4o", attributes=attributes).end()
            print(i, flush=True)
            time.sleep(0.05)
        time.sleep(60)
    """)
    child = subprocess.Popen([sys.executable, "-c", app], stdout=subprocess.PIPE, text=True)
    try:
        lines = [child.stdout.readline() for _ in range(40)]
        assert lines[-1].strip() == "39"
        detected_at = time.monotonic()
        wait_for(lambda: len(IncidentStore(store).list(limit=100)) == 40, timeout_s=1.5)
        assert time.monotonic() - detected_at < 1.5
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert len(IncidentStore(store).list(limit=100)) == 40


def test_incidents_whose_spans_the_batch_processor_drops_are_stored_and_delivered(tmp_path):
    receiver = OTLPReceiver().start()
    endpoint, port = receiver.endpoint, int(receiver.endpoint.rsplit(":", 1)[1])
    receiver.stop()
    pipeline = IncidentPipeline(Settings(store=str(tmp_path / "i.db")), service="svc")
    pipeline.manager.span_wait_s = 1.0  # how long an incident waits for a span of its own
    provider = TracerProvider()
    exporter = OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces", timeout=0.2)
    provider.add_span_processor(pipeline.processor)
    provider.add_span_processor(BatchSpanProcessor(pipeline.wrap(exporter), max_queue_size=64,
                                                   max_export_batch_size=64))  # fmt: skip
    tracer = provider.get_tracer("app")
    for i in range(300):
        call(tracer, LEAK, **{"ai.feature.name": f"feature-{i}"})
    pipeline.manager.force_flush()

    assert len(pipeline.store.list(limit=1000)) == 300
    with OTLPReceiver(port=port) as restarted:

        def all_delivered(receiver: OTLPReceiver) -> set[str] | None:
            call(tracer, HEALTHY)
            provider.force_flush()
            ids = incident_ids(receiver)
            return ids if len(ids) >= 300 else None

        ids = restarted.wait_for(all_delivered)
        provider.shutdown()
    assert len(ids) == 300


def incident_ids(receiver: OTLPReceiver) -> set[str]:
    return {
        kv.value.string_value
        for span in receiver.spans()
        for event in span.events
        for kv in event.attributes
        if kv.key == "ai.incident.id"
    }


# 5. Processes sharing a store deliver only their own incidents, to their own destination.


def test_services_sharing_a_store_never_deliver_each_others_incidents(tmp_path):
    path = str(tmp_path / "shared.db")
    a = IncidentPipeline(Settings(store=path), service="service-a")
    b = IncidentPipeline(Settings(store=path), service="service-b")
    a_down = OTLPSpanExporter(endpoint="http://127.0.0.1:9/v1/traces", timeout=0.2)
    a_exporter = a.wrap(a_down)
    b_memory = InMemorySpanExporter()
    b.wrap(b_memory)
    for i in range(5):
        a.manager.submit(candidate_for(f"a-{i}"))
    a.manager.force_flush()
    a_exporter.export([])
    a.manager.shutdown()
    a_exporter.shutdown()  # service A stops: its undelivered incidents wait in the store

    b_restarted = IncidentPipeline(Settings(store=path), service="service-b")
    b_restarted.wrap(b_memory).export([])
    assert incident_events(b_memory) == []
    a_restarted = IncidentPipeline(Settings(store=path), service="service-a")
    a_memory = InMemorySpanExporter()
    a_memory._endpoint = a_down._endpoint  # the same destination, reachable now
    a_restarted.wrap(a_memory).export([])
    assert len(incident_events(a_memory)) == 5


def candidate_for(feature: str):
    detector = Detector()
    observation = Observation.from_span({**LEAK, "ai.feature.name": feature}, SpanRef(1, 2),
                                        0.5, feature)  # fmt: skip
    (candidate,) = detector.observe(observation)
    return candidate


# 6. An unusable store never breaks or blocks the app; incidents still reach telemetry.


def unusable_store(kind: str, tmp_path: Path) -> Path:
    if kind == "under a file":
        (tmp_path / "a-file").write_text("x")
        return tmp_path / "a-file" / "incidents.db"
    if kind == "a directory":
        (tmp_path / "dir.db").mkdir()
        return tmp_path / "dir.db"
    if kind == "corrupt":
        (tmp_path / "corrupt.db").write_bytes(b"not a database" * 100)
        return tmp_path / "corrupt.db"
    good = tmp_path / "truncated.db"
    store = IncidentStore(good)
    store.record(candidate_for("x"))
    store.close()  # checkpoints the write-ahead log into the file
    assert good.stat().st_size > 4096
    good.write_bytes(good.read_bytes()[: 4096 + 100])
    for suffix in ("-wal", "-shm"):
        Path(f"{good}{suffix}").unlink(missing_ok=True)
    return good


@pytest.mark.parametrize("kind", ["under a file", "a directory", "corrupt", "truncated"])
def test_an_unusable_store_keeps_incidents_in_memory_and_in_telemetry(kind, tmp_path, caplog):
    path = unusable_store(kind, tmp_path)
    provider, pipeline, memory = pipeline_on(tmp_path, Settings(store=str(path)))
    tracer = provider.get_tracer("app")
    with caplog.at_level(logging.WARNING, logger="ai_incidents"):
        call(tracer, LEAK)
        call(tracer, LEAK, **{"ai.feature.name": "other"})

    assert len(incident_events(memory)) == 2
    assert pipeline.store.in_memory
    assert len(pipeline.store.list()) == 2
    warnings = [r for r in caplog.records if "cannot be used" in r.getMessage()]
    assert len(warnings) == 1


def test_a_store_locked_by_another_process_does_not_block_the_app(tmp_path):
    path = tmp_path / "locked.db"
    store = IncidentStore(path)
    store.list()
    store.close()
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sqlite3, sys, time
            db = sqlite3.connect({str(path)!r}, isolation_level=None)
            db.execute("PRAGMA locking_mode=EXCLUSIVE")
            db.execute("BEGIN EXCLUSIVE")
            db.execute("CREATE TABLE held (x)")
            print("locked", flush=True)
            time.sleep(60)
        """)],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "locked"
        provider, pipeline, memory = pipeline_on(tmp_path, Settings(store=str(path)))
        done = threading.Event()

        def app_call() -> None:
            call(provider.get_tracer("app"), LEAK)
            done.set()

        threading.Thread(target=app_call, daemon=True).start()
        assert done.wait(timeout=10), "the app's call is blocked by the locked store"
        assert len(incident_events(memory)) == 1
        assert pipeline.store.in_memory
    finally:
        holder.kill()
        holder.wait()
    with pytest.raises(sqlite3.OperationalError):
        sqlite3.connect(path, timeout=0).execute("SELECT * FROM held")


def test_a_store_that_recovers_takes_what_was_kept_in_memory(tmp_path):
    path = tmp_path / "later" / "incidents.db"
    path.parent.write_text("not yet a folder")
    store = IncidentStore(path)
    kept = store.record(candidate_for("support"))
    assert store.in_memory
    path.parent.unlink()
    store._retry_at = 0.0  # the retry is due
    store.retry_file()
    assert [i.id for i in store.list()] == [kept.id]
    assert not store.in_memory
    assert [i.id for i in IncidentStore(path).list()] == [kept.id]


# 7. A short-lived app under the launcher sends the log events and metrics of its incidents.


def test_launcher_app_with_no_trace_exporter_sends_incident_logs_and_metrics(tmp_path, server):
    from tests.test_launcher import run_app

    with OTLPReceiver() as receiver:
        result = run_app(
            receiver,
            server,
            tmp_path / "incidents.db",
            OTEL_TRACES_EXPORTER="none",
            OTEL_LOGS_EXPORTER="otlp",
            OTEL_METRICS_EXPORTER="otlp",
        )
        assert result.returncode == 0, result.stderr
        logs = [
            record
            for request in receiver.requests["/v1/logs"]
            for resource_logs in request.resource_logs
            for scope_logs in resource_logs.scope_logs
            for record in scope_logs.log_records
            if record.event_name == "ai.incident"
        ]
        counted = [
            metric
            for request in receiver.requests["/v1/metrics"]
            for resource_metrics in request.resource_metrics
            for scope_metrics in resource_metrics.scope_metrics
            for metric in scope_metrics.metrics
            if metric.name == "ai.incidents"
        ]
    stored = IncidentStore(tmp_path / "incidents.db").list()
    logged = {attribute(record, "ai.incident.id") for record in logs}
    assert stored and logged == {incident.id for incident in stored}
    assert counted
    assert receiver.spans() == []


# 9. Names from the app or a provider are data in the CLI, never markup.


def test_cli_prints_markup_and_escapes_in_names_as_text(tmp_path, capsys):
    from ai_incidents.cli import main

    store = IncidentStore(tmp_path / "i.db")
    hostile = candidate_for("ok[/]")
    hostile.model = "[/bold]gpt\x1b[31m"
    incident = store.record(hostile)
    assert main(["incidents", "--store", str(store.path), "list"]) == 0
    assert main(["incidents", "--store", str(store.path), "show", incident.id]) == 0
    out = capsys.readouterr().out
    assert "ok[/]" in out and "[/bold]gpt" in out
    assert "\x1b[31m" not in out


# 10. A grouped incident names the latest model, and a regression names both.


def test_grouped_incident_follows_the_model_and_regression_names_both(tmp_path):
    store = IncidentStore(tmp_path / "i.db")
    first = candidate_for("support")
    later = candidate_for("support")
    later.model = "gpt-4.1"
    store.record(first)
    (incident,) = [store.record(later)]
    assert incident.model == "gpt-4.1"

    from ai_incidents.export.events import incident_attributes

    regression = IncidentStore(tmp_path / "r.db").record(
        dataclass_replace(first, failure_mode="model_regression", population=True,
                          evidence={"model_before": "gpt-4o-2024-08-06",
                                    "model_after": "gpt-4o-2024-11-20", "mean_before": 0.86,
                                    "mean_after": 0.41, "samples_after": 30})
    )  # fmt: skip
    attributes = incident_attributes(regression)
    assert attributes["ai.incident.model_before"] == "gpt-4o-2024-08-06"
    assert attributes["ai.incident.model_after"] == "gpt-4o-2024-11-20"
    assert "gpt-4o-2024-08-06 -> gpt-4o-2024-11-20" in attributes["ai.incident.summary"]


def dataclass_replace(candidate, **changes):
    import dataclasses

    return dataclasses.replace(candidate, **changes)


# 11. What makes detection blind is exported as metrics.


def test_blind_spots_are_metrics(tmp_path):
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    reader = InMemoryMetricReader()
    meters = MeterProvider(metric_readers=[reader])
    pipeline = IncidentPipeline(Settings(store=str(tmp_path / "i.db"), max_keys=2),
                                meter_provider=meters)  # fmt: skip
    for feature in ("a", "b", "c", "d"):
        pipeline.processor.on_end(span_like({**HEALTHY, "ai.feature.name": feature}))
    gaps = {
        point.attributes["ai_incidents.gap.reason"]: point.value
        for resource in reader.get_metrics_data().resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == "ai_incidents.detection.gaps"
        for point in metric.data.data_points
    }
    assert gaps["evicted_keys"] == 2
    assert gaps["dropped_candidates"] == 0


def span_like(attributes: dict):
    provider = TracerProvider()
    span = provider.get_tracer("app").start_span("chat gpt-4o", attributes=attributes)
    span.end()
    return span


# 12. After an outage the backlog drains at once, not 100 incidents per export.


def test_a_large_backlog_drains_with_the_first_successful_export(tmp_path):
    pipeline = IncidentPipeline(Settings(store=str(tmp_path / "i.db")), service="svc")
    memory = InMemorySpanExporter()
    exporter = pipeline.wrap(memory)
    for i in range(2559):
        candidate = candidate_for(f"feature-{i}")
        candidate.span_exported = False  # its span is long gone, as after an outage
        pipeline.manager.submit(candidate)
    pipeline.manager.force_flush()
    exporter.export([])

    assert len(incident_events(memory)) == 2559
    assert pipeline.manager.pending(exporter.destination) == 0


# Severity reflects scope and impact.


def test_an_attempt_that_leaked_nothing_stays_at_most_medium(tmp_path):
    store = IncidentStore(tmp_path / "i.db")
    detector = Detector()
    severities = []
    for i in range(200):
        observation = Observation.from_span(
            {**ATTEMPT, "enduser.id": f"user-{i % 20}"}, SpanRef(1, i + 1), 0.5, "support"
        )
        (candidate,) = [c for c in detector.observe(observation) if not c.population]
        severities.append(store.record(candidate).severity)
    assert severities[0] == "low"
    assert severities[-1] == "medium"
    history = [note for _, _, note in store.get(store.list()[0].id).history]
    assert any(note.startswith("escalated low -> medium") for note in history)


def test_a_system_prompt_leak_escalates_with_the_users_it_reaches(tmp_path):
    store = IncidentStore(tmp_path / "i.db")
    detector = Detector()
    for i in range(3):
        observation = Observation.from_span(
            {**LEAK, "session.id": f"session-{i}"}, SpanRef(1, i + 1), 0.5, "support"
        )
        (candidate,) = detector.observe(observation)
        incident = store.record(candidate)
        assert "session-" not in str(incident.evidence) + incident.summary
    assert incident.users == 3
    assert incident.severity == "critical"
    assert "3 users or sessions" in incident.summary


# Durability across a restart: pending deliveries are found again.


def test_a_restart_delivers_what_the_last_run_could_not(tmp_path):
    path = str(tmp_path / "i.db")
    first = IncidentPipeline(Settings(store=path), service="svc")
    exporter = first.wrap(OTLPSpanExporter(endpoint="http://127.0.0.1:9/v1/traces", timeout=0.2))
    first.manager.submit(candidate_for("support"))
    first.manager.shutdown()
    exporter.shutdown()

    second = IncidentPipeline(Settings(store=path), service="svc")
    memory = InMemorySpanExporter()
    memory._endpoint = "http://127.0.0.1:9/v1/traces"
    second.wrap(memory).export([])
    assert len(incident_events(memory)) == 1


def test_forked_child_stores_its_own_incidents(tmp_path):
    pipeline = IncidentPipeline(Settings(store=str(tmp_path / "i.db")), service="svc")
    pipeline.manager.submit(candidate_for("parent"))
    pipeline.manager.force_flush()
    pid = os.fork()
    if pid == 0:
        try:
            pipeline.manager.submit(candidate_for("child"))
            pipeline.manager.shutdown()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert {i.feature for i in IncidentStore(pipeline.store.path).list()} == {"parent", "child"}


# 7. Incident log events are neither duplicated nor lost during an outage of the collector.


def test_incident_log_events_survive_an_outage_once_each(tmp_path):
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor

    from ai_incidents.export.logs import wrap_log_exporters

    receiver = OTLPReceiver().start()
    endpoint, port = receiver.endpoint, int(receiver.endpoint.rsplit(":", 1)[1])
    receiver.stop()
    logs = LoggerProvider()
    logs.add_log_record_processor(
        SimpleLogRecordProcessor(OTLPLogExporter(endpoint=f"{endpoint}/v1/logs", timeout=0.2))
    )
    assert wrap_log_exporters(logs) == 1
    pipeline = IncidentPipeline(Settings(store=str(tmp_path / "i.db")), logger_provider=logs)
    for i in range(50):
        pipeline.manager.submit(candidate_for(f"feature-{i}"))
    pipeline.manager.force_flush()

    with OTLPReceiver(port=port) as restarted:
        pipeline.manager.submit(candidate_for("after"))
        pipeline.manager.force_flush()
        changes = [
            (attribute(record, "ai.incident.id"), attribute(record, "ai.incident.version"))
            for request in restarted.requests["/v1/logs"]
            for resource_logs in request.resource_logs
            for scope_logs in resource_logs.scope_logs
            for record in scope_logs.log_records
        ]
    assert len(changes) == len(set(changes))  # each change once
    assert len({incident_id for incident_id, _ in changes}) == 51


def attribute(record, key: str) -> str:
    return next(kv.value.string_value for kv in record.attributes if kv.key == key)


# Found by a hostile review.


def test_a_lone_surrogate_in_a_name_never_stops_incident_handling(tmp_path):
    provider, pipeline, memory = pipeline_on(tmp_path)
    tracer = provider.get_tracer("app")
    call(tracer, LEAK, **{"gen_ai.request.model": "gpt-4o\udc80"})
    for i in range(5):
        call(tracer, LEAK, **{"ai.feature.name": f"feature-{i}"})
    pipeline.manager.force_flush()

    assert len(pipeline.store.list()) == 6
    assert len(incident_events(memory)) == 6


class _Discard(SpanExporter):
    """An exporter without locks of its own (the SDK's in-memory one is not fork-safe)."""

    def export(self, spans):
        return SpanExportResult.SUCCESS


def test_a_forked_child_is_not_deadlocked_by_a_parent_thread_in_on_end(tmp_path):
    pipeline = IncidentPipeline(Settings(store=str(tmp_path / "i.db")), service="svc")
    provider = TracerProvider()
    provider.add_span_processor(pipeline.processor)
    provider.add_span_processor(SimpleSpanProcessor(pipeline.wrap(_Discard())))
    tracer = provider.get_tracer("app")
    stop = threading.Event()

    def busy() -> None:
        while not stop.is_set():
            call(tracer, HEALTHY)

    threads = [threading.Thread(target=busy, daemon=True) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(10):
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    call(tracer, LEAK)
                    pipeline.manager.force_flush()
                    code = 0
                finally:
                    os._exit(code)
            deadline = time.monotonic() + 20
            while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
                time.sleep(0.02)
            if done[0] == 0:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            assert done[0] == pid and os.waitstatus_to_exitcode(done[1]) == 0, "child hung"
    finally:
        stop.set()
        for thread in threads:
            thread.join()


def test_a_restart_does_not_send_again_what_the_last_run_delivered(tmp_path):
    path = str(tmp_path / "i.db")
    with OTLPReceiver() as receiver:
        for run in range(2):
            pipeline = IncidentPipeline(Settings(store=path), service="svc")
            provider = TracerProvider()
            exporter = OTLPSpanExporter(endpoint=f"{receiver.endpoint}/v1/traces", timeout=2)
            provider.add_span_processor(pipeline.processor)
            provider.add_span_processor(BatchSpanProcessor(pipeline.wrap(exporter)))
            if run == 0:
                for i in range(5):
                    call(provider.get_tracer("app"), LEAK, **{"ai.feature.name": f"f-{i}"})
            pipeline.shutdown()  # as at exit: the manager first, then the SDK
            provider.shutdown()
        changes = [
            (kv.value.string_value, next(v.value.string_value for v in e.attributes
                                         if v.key == "ai.incident.version"))
            for s in receiver.spans() for e in s.events for kv in e.attributes
            if kv.key == "ai.incident.id"
        ]  # fmt: skip
    assert len({incident for incident, _ in changes}) == 5
    assert len(changes) == len(set(changes))


def test_refused_attacks_never_become_a_feature_wide_quality_incident(tmp_path):
    provider, pipeline, _ = pipeline_on(tmp_path)
    tracer = provider.get_tracer("app")
    for _ in range(300):
        call(tracer, HEALTHY)
    refused = {**ATTEMPT, "ai.quality.score": 0.3, "ai.quality.flags": ("refusal",)}
    for _ in range(200):
        call(tracer, refused, **{"enduser.id": "mallory"})
    pipeline.manager.force_flush()

    incidents = pipeline.store.list()
    assert {i.failure_mode for i in incidents} == {"prompt_injection"}
    assert all(i.severity in ("low", "medium") for i in incidents)


def test_a_removed_store_folder_is_written_again(tmp_path):
    import shutil

    folder = tmp_path / "store"
    pipeline = IncidentPipeline(Settings(store=str(folder / "i.db")), service="svc")
    pipeline.manager.submit(candidate_for("before"))
    pipeline.manager.force_flush()
    shutil.rmtree(folder)
    pipeline.store.retry_file()
    pipeline.manager.submit(candidate_for("after"))
    pipeline.manager.force_flush()

    assert {i.feature for i in IncidentStore(folder / "i.db").list()} == {"before", "after"}


def test_one_user_retrying_a_failed_question_is_one_piece_of_evidence():
    rng = random.Random(3)
    detector = Detector()
    weak = {**WEAK, "enduser.id": ""}
    raised = []
    for n in range(20_000):
        user = f"user-{rng.randrange(5000)}"
        burst = 1 + rng.randrange(5) if rng.random() < 0.01 else 0  # 3 % weak, in bursts
        for _ in range(burst or 1):
            attributes = {**(weak if burst else HEALTHY), "enduser.id": user}
            observation = Observation.from_span(attributes, SpanRef(1, n + 1), 0.8, "support")
            raised += [c for c in detector.observe(observation, now=1e9 + n * 0.1)
                       if c.cause == "rate:low_quality"]  # fmt: skip
    assert raised == []

    for n in range(10):  # then many users' answers go bad: still raised at once
        observation = Observation.from_span({**WEAK, "enduser.id": f"other-{n}"},
                                            SpanRef(2, n + 1), 0.8, "support")  # fmt: skip
        raised += detector.observe(observation, now=1e9 + 3000 + n)
    assert any(c.cause == "rate:low_quality" for c in raised)
