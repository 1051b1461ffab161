"""End to end with the real components: an instrumented app -> collector -> Jaeger, and
-> Prometheus -> Alertmanager -> a webhook. Nothing is faked; a component that cannot be
built or installed fails the test with the reason (collector-config/stack.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from ai_incidents.testing._loopback import LoopbackServer, QuietHandler

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "collector-config"))

from stack import Stack  # noqa: E402


class WebhookReceiver(LoopbackServer):
    """Alertmanager's webhook target: keeps every notification with its arrival time."""

    def __init__(self) -> None:
        super().__init__(_WebhookHandler)
        self.received: list[tuple[float, str, dict]] = []
        self.lock = threading.Lock()

    def alerts(self, path: str) -> list[tuple[float, dict]]:
        with self.lock:
            return [
                (at, alert)
                for at, where, body in self.received
                if where == path
                for alert in body.get("alerts", [])
            ]


class _WebhookHandler(QuietHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)))
        receiver: WebhookReceiver = self.server.owner
        with receiver.lock:
            receiver.received.append((time.time(), self.path, body))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def wait_for(condition, timeout_s: float = 90.0, message: str = ""):
    deadline = time.monotonic() + timeout_s
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not met in {timeout_s} s: {message}")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def webhook():
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def stack(tmp_path_factory, webhook):
    run_dir = tmp_path_factory.mktemp("stack")
    running = Stack(run_dir, f"{webhook.url}/pager", f"{webhook.url}/tickets")
    try:
        yield running.start()
    finally:
        running.stop()
        print(f"stack logs kept in {run_dir}")


def run_example(stack: Stack, example: str, tmp_path: Path, launcher: bool) -> float:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")},
        "OTEL_EXPORTER_OTLP_ENDPOINT": stack.otlp_http,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_METRIC_EXPORT_INTERVAL": "1000",
        "AI_INCIDENTS_STORE": str(tmp_path / f"{example}.db"),
    }
    command = [sys.executable, str(ROOT / "examples" / example)]
    if launcher:
        env.update(OTEL_SERVICE_NAME="chat-app", OTEL_LOGS_EXPORTER="none")
        command = [str(Path(sys.executable).parent / "opentelemetry-instrument"), *command]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return time.time()


def test_critical_incident_reaches_jaeger_prometheus_and_pages(stack, webhook, tmp_path):
    raised_at = run_example(stack, "in_code_setup.py", tmp_path, launcher=False)

    def critical_page():
        return [(at, a) for at, a in webhook.alerts("/pager")
                if a["labels"].get("ai_incident_feature") == "billing"]  # fmt: skip

    received_at, alert = wait_for(
        critical_page, message="critical page\n" + stack.log("collector")
    )[0]
    print(f"incident raised -> webhook received: {received_at - raised_at:.1f} s")
    assert alert["labels"]["alertname"] == "AICriticalIncident"
    assert alert["labels"]["severity"] == "critical"
    assert alert["labels"]["ai_incident_failure_mode"] == "prompt_injection"

    series = get_json(
        f"{stack.prometheus}/api/v1/query?"
        + urllib.parse.urlencode(
            {"query": 'ai_incident_events_total{ai_incident_feature="billing"}'}
        )
    )["data"]["result"]
    assert series[0]["metric"]["ai_incident_severity"] == "critical"
    assert series[0]["metric"]["gen_ai_request_model"] == "gpt-4o-mini"
    firing = get_json(
        f"{stack.prometheus}/api/v1/query?"
        + urllib.parse.urlencode(
            {"query": 'ALERTS{alertname="AICriticalIncident",alertstate="firing"}'}
        )
    )["data"]["result"]
    assert firing

    traces = wait_for(
        lambda: get_json(f"{stack.jaeger}/api/traces?service=billing-bot&limit=20")["data"],
        message="trace in Jaeger\n" + stack.log("jaeger"),
    )
    events = [
        {field["key"]: field["value"] for field in log["fields"]}
        for trace in traces
        for span in trace["spans"]
        for log in span.get("logs", [])
    ]
    incident = next(e for e in events if e.get("event") == "ai.incident")
    assert incident["ai.incident.severity"] == "critical"
    assert incident["ai.incident.feature"] == "billing"


def test_low_severity_incidents_open_tickets_and_never_page(stack, webhook, tmp_path):
    run_example(stack, "chat_app.py", tmp_path, launcher=True)

    tickets = wait_for(
        lambda: [a for _, a in webhook.alerts("/tickets") if a["labels"].get("severity") == "low"],
        message="low incident ticket\n" + stack.log("prometheus"),
    )
    assert tickets[0]["labels"]["alertname"] == "AIIncident"
    assert all(a["labels"]["severity"] == "critical" for _, a in webhook.alerts("/pager"))


@pytest.mark.parametrize("config", ["collector.yaml", "collector-otlp-backend.yaml"])
def test_collector_configurations_validate(config):
    from stack import _script

    collector = _script("build-collector.sh")
    result = subprocess.run(
        [str(collector), "validate", "--config", str(ROOT / "collector-config" / config)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
