"""Notifications against a real local HTTP server: a signed webhook retried after a failure,
and PagerDuty Events API v2 trigger, acknowledge and resolve for one incident."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading

from ai_incidents.config import Settings
from ai_incidents.notify.channels import SIGNATURE_HEADER
from ai_incidents.pipeline import IncidentPipeline
from ai_incidents.testing._loopback import LoopbackServer, QuietHandler
from tests.conftest import wait_for
from tests.detection.test_trust import candidate_for


class _Receiver(QuietHandler):
    def do_POST(self) -> None:
        server: Collector = self.server.owner
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        with server.lock:
            failing = server.fail_next > 0
            server.fail_next -= failing
            if not failing:
                server.received.append((self.path, dict(self.headers), body))
        self.send_response(503 if failing else 202)
        self.send_header("content-length", "0")
        self.end_headers()


class Collector(LoopbackServer):
    def __init__(self, fail_next: int = 0) -> None:
        super().__init__(_Receiver)
        self.fail_next = fail_next
        self.received: list[tuple[str, dict, bytes]] = []
        self.lock = threading.Lock()


def test_webhook_is_signed_and_retried(tmp_path):
    with Collector(fail_next=2) as hook:
        settings = Settings(store=str(tmp_path / "i.db"), webhook_url=f"{hook.url}/incidents",
                            webhook_secret="s3cret")  # fmt: skip
        pipeline = IncidentPipeline(settings, service="svc")
        pipeline.notifiers[0].backoff_s = 0.05
        pipeline.manager.submit(candidate_for("support"))
        pipeline.manager.force_flush()
        (path, headers, body) = wait_for(lambda: hook.received, timeout_s=20.0)[0]

    document = json.loads(body)
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert path == "/incidents"
    headers = {name.lower(): value for name, value in headers.items()}
    assert headers[SIGNATURE_HEADER.lower()] == f"sha256={expected}"
    assert document["event"] == "triggered"
    assert document["failure_mode"] == "prompt_injection"
    assert "s3cret" not in body.decode()


def test_pagerduty_follows_the_incident_lifecycle(tmp_path):
    with Collector() as pagerduty:
        settings = Settings(store=str(tmp_path / "i.db"), pagerduty_routing_key="R0UTING",
                            pagerduty_url=f"{pagerduty.url}/v2/enqueue")  # fmt: skip
        pipeline = IncidentPipeline(settings, service="svc")
        pipeline.manager.submit(candidate_for("support"))
        pipeline.manager.force_flush()
        (incident,) = pipeline.store.list()
        pipeline.store.set_status(incident.id, "acknowledged", "on it")
        pipeline.manager.force_flush()
        pipeline.store.set_status(incident.id, "resolved", "fixed")
        pipeline.manager.force_flush()
        events = wait_for(lambda: [json.loads(b) for _, _, b in pagerduty.received]
                          if len(pagerduty.received) >= 3 else None, timeout_s=20.0)  # fmt: skip

    actions = [e["event_action"] for e in events]
    assert actions == ["trigger", "acknowledge", "resolve"]
    assert {e["dedup_key"] for e in events} == {incident.id}
    assert events[0]["routing_key"] == "R0UTING"
    assert events[0]["payload"]["severity"] == "error"  # a high incident: the prompt leaked
    assert events[0]["payload"]["source"] == "svc"
    assert events[0]["payload"]["summary"] == incident.summary
