"""What a webhook and PagerDuty receive: the incident as JSON (signed), and the PagerDuty
Events API v2 shape (``trigger`` / ``acknowledge`` / ``resolve``, ``dedup_key`` = incident
id, severity mapped to critical / error / warning / info). Neither carries content or what a
detector found: the incident's summary, names and numbers only."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json

from ai_incidents.incidents.model import Incident
from ai_incidents.notify.sender import Request

SIGNATURE_HEADER = "X-AI-Incidents-Signature"
"""``sha256=<hex HMAC of the body with the webhook secret>``."""
_PAGERDUTY_SEVERITY = {"critical": "critical", "high": "error", "medium": "warning", "low": "info"}
_PAGERDUTY_ACTION = {"acknowledged": "acknowledge", "resolved": "resolve"}


def incident_document(incident: Incident, what: str) -> dict:
    """The incident as the webhook receives it."""
    return {
        "event": what,
        "id": incident.id,
        "version": incident.version,
        "summary": incident.summary,
        "severity": incident.severity,
        "failure_mode": incident.failure_mode,
        "status": incident.status,
        "action": incident.action,
        "feature": incident.feature,
        "model": incident.model,
        "signals": list(incident.signals),
        "count": incident.count,
        "users": incident.users,
        "first_seen": _iso(incident.first_seen),
        "last_seen": _iso(incident.last_seen),
        "examples": [
            {"trace_id": t, "span_id": s} for t, s in (e.hex() for e in incident.examples)
        ],
    }


def webhook(url: str, secret: str | None):
    """A builder of signed webhook requests to ``url``."""

    def build(incident: Incident, what: str) -> Request:
        body = json.dumps(incident_document(incident, what), sort_keys=True).encode()
        headers = {"content-type": "application/json", "user-agent": "ai-incidents"}
        if secret:
            digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            headers[SIGNATURE_HEADER] = f"sha256={digest}"
        return url, body, headers

    return build


def pagerduty(url: str, routing_key: str, source: str):
    """A builder of PagerDuty Events API v2 requests (``source``: this service)."""

    def build(incident: Incident, what: str) -> Request | None:
        action = _PAGERDUTY_ACTION.get(incident.status, "trigger")
        if what == "contained":
            return None  # still triggered: containment is in the incident's custom details
        event: dict = {"routing_key": routing_key, "event_action": action,
                       "dedup_key": incident.id[:255]}  # fmt: skip
        if action == "trigger":
            event["payload"] = {
                "summary": (incident.summary or f"{incident.failure_mode} in {incident.feature}")[
                    :1024
                ],
                "source": source,
                "severity": _PAGERDUTY_SEVERITY[incident.severity],
                "component": incident.feature,
                "class": incident.failure_mode,
                "custom_details": incident_document(incident, what),
            }
        return url, json.dumps(event).encode(), {"content-type": "application/json"}

    return build


def _iso(timestamp: float) -> str:
    return datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc).isoformat()
