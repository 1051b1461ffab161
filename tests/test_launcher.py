"""`opentelemetry-instrument` on an unmodified app, exporting OTLP/HTTP to a real receiver."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ai_incidents.testing.otlp_receiver import OTLPReceiver

EXAMPLE = Path(__file__).parent.parent / "examples" / "chat_app.py"
LAUNCHER = Path(sys.executable).parent / "opentelemetry-instrument"


def attributes(span) -> dict:
    result = {}
    for kv in span.attributes:
        value = kv.value
        kind = value.WhichOneof("value")
        result[kv.key] = (
            [v.string_value for v in value.array_value.values]
            if kind == "array_value"
            else getattr(value, kind)
        )
    return result


def run_app(
    receiver: OTLPReceiver, server, store: Path, **extra_env: str
) -> subprocess.CompletedProcess:
    env = {
        "AI_INCIDENTS_STORE": str(store),
        **os.environ,
        "OTEL_SERVICE_NAME": "chat-app",
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OPENAI_BASE_URL": server.openai_base_url,
        "ANTHROPIC_BASE_URL": server.anthropic_base_url,
        **extra_env,
    }
    return subprocess.run(
        [str(LAUNCHER), sys.executable, str(EXAMPLE)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def receiver():
    with OTLPReceiver() as r:
        yield r


def llm_spans(receiver: OTLPReceiver) -> list:
    return [s for s in receiver.spans() if attributes(s).get("gen_ai.operation.name") == "chat"]


def test_launcher_captures_llm_calls_with_no_code_change(receiver, server, tmp_path):
    result = run_app(receiver, server, tmp_path / "incidents.db")
    assert result.returncode == 0, result.stderr
    assert "openai: Here is what I found" in result.stdout

    spans = receiver.wait_for(lambda r: len(llm_spans(r)) >= 4 and llm_spans(r))
    ours = [s for s in receiver.spans("ai_incidents") if s in spans]
    by_feature = sorted((attributes(s)["ai.feature.name"], s.name) for s in ours)
    assert by_feature == [
        ("summaries", "chat claude-local-1"),
        ("summaries", "chat gpt-4o-mini"),
        ("summaries", "chat gpt-4o-mini"),
        ("support-bot", "chat gpt-4o-mini"),
    ]
    names = {s.name for s in receiver.spans()}
    assert {"retrieval help-center", "ai.feedback"} <= names
    streamed = next(s for s in ours if attributes(s)["gen_ai.request.stream"] is True)
    assert attributes(streamed)["gen_ai.usage.output_tokens"] > 0
    http_spans = [s for s in receiver.spans() if s.name == "POST"]
    assert {h.parent_span_id for h in http_spans} >= {s.span_id for s in ours if "gpt" in s.name}


def test_launcher_raises_the_injection_attempt_as_an_incident(receiver, server, tmp_path):
    result = run_app(receiver, server, tmp_path / "incidents.db")
    assert result.returncode == 0, result.stderr

    def injection_incidents(r: OTLPReceiver) -> list[dict]:
        events = [e for s in r.spans("ai_incidents") for e in s.events if e.name == "ai.incident"]
        found = [{kv.key: kv.value.string_value for kv in e.attributes} for e in events]
        return [a for a in found if a["ai.incident.failure_mode"] == "prompt_injection"]

    (attributes,) = receiver.wait_for(injection_incidents)
    assert attributes["ai.incident.failure_mode"] == "prompt_injection"
    assert attributes["ai.incident.severity"] == "low"  # one attempt, nothing leaked
    assert attributes["ai.incident.feature"] == "summaries"
    listing = subprocess.run(
        [str(Path(sys.executable).parent / "ai-incidents"), "incidents", "list", "--json"],
        env={**os.environ, "AI_INCIDENTS_STORE": str(tmp_path / "incidents.db")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listing.returncode == 0, listing.stderr
    assert attributes["ai.incident.id"] in listing.stdout


def test_disabling_the_instrumentor_leaves_the_app_uninstrumented(receiver, server, tmp_path):
    result = run_app(
        receiver, server, tmp_path / "i.db", OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="ai_incidents"
    )
    assert result.returncode == 0, result.stderr

    receiver.wait_for(lambda r: any(s.name == "POST" for s in r.spans()))
    assert not any(s.name.startswith("chat") for s in receiver.spans("ai_incidents"))


def test_ai_incidents_enabled_false_turns_capture_off(receiver, server, tmp_path):
    result = run_app(receiver, server, tmp_path / "i.db", AI_INCIDENTS_ENABLED="false")
    assert result.returncode == 0, result.stderr

    receiver.wait_for(lambda r: any(s.name == "POST" for s in r.spans()))
    assert not any(s.name.startswith("chat") for s in receiver.spans("ai_incidents"))


def test_in_code_install_raises_the_same_incident(receiver, tmp_path):
    result = subprocess.run(
        [sys.executable, str(EXAMPLE.parent / "in_code_setup.py")],
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")},
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "AI_INCIDENTS_STORE": str(tmp_path / "incidents.db"),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr

    events = receiver.wait_for(
        lambda r: [e for s in r.spans() for e in s.events if e.name == "ai.incident"]
    )
    attributes = {kv.key: kv.value.string_value for kv in events[0].attributes}
    assert attributes["ai.incident.severity"] == "critical"  # a secret left in the answer
    assert attributes["ai.incident.feature"] == "billing"
    assert "Acme42" not in str(receiver.spans())


def test_the_launcher_works_without_a_distro_configuring_the_sdk(receiver, server, tmp_path):
    # OTEL_PYTHON_CONFIGURATOR naming no installed configurator: the launcher then
    # configures no SDK, as when opentelemetry-distro is not installed.
    result = run_app(receiver, server, tmp_path / "incidents.db",
                     OTEL_PYTHON_CONFIGURATOR="none-installed")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "incidents are off" not in result.stderr

    spans = receiver.wait_for(lambda r: llm_spans(r))
    assert any("ai.quality.score" in attributes(s) for s in spans)
