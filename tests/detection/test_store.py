"""The SQLite incident store: grouping, status history, restarts and several processes."""

from __future__ import annotations

import multiprocessing
import sqlite3

import pytest

from ai_incidents.incidents.model import Candidate, SpanRef
from ai_incidents.incidents.store import IncidentStore


def candidate(at: float, severity="medium", cause="refusal", span=1) -> Candidate:
    return Candidate(
        failure_mode="quality_degradation",
        severity=severity,
        signals=("low_quality", "anomaly_detected"),
        feature="support",
        model="gpt-4o",
        cause=cause,
        evidence={"quality_score": 0.2},
        examples=(SpanRef(trace_id=10**30 + span, span_id=span),),
        detected_at=at,
    )


def test_repeats_within_cooldown_update_one_incident(tmp_path):
    store = IncidentStore(tmp_path / "s.db", cooldown_s=600)
    first = store.record(candidate(1000.0, span=1))
    again = store.record(candidate(1300.0, severity="high", span=2))
    other = store.record(candidate(1300.0, cause="truncated", span=3))

    assert again.id == first.id
    assert again.count == 2
    assert again.severity == "high"
    assert again.action == "rolled_back"
    assert [e.span_id for e in again.examples] == [2, 1]
    assert other.id != first.id


def test_after_cooldown_a_new_incident_starts(tmp_path):
    store = IncidentStore(tmp_path / "s.db", cooldown_s=600)
    first = store.record(candidate(1000.0))
    later = store.record(candidate(5000.0))
    assert later.id != first.id


@pytest.mark.parametrize("later", [1100.0, 9000.0], ids=["within cooldown", "after cooldown"])
def test_resolved_incident_reopens_when_it_recurs(tmp_path, later):
    store = IncidentStore(tmp_path / "s.db", cooldown_s=600)
    incident = store.record(candidate(1000.0))
    store.set_status(incident.id, "resolved", "fixed the prompt")
    again = store.record(candidate(later))

    assert again.id == incident.id
    assert again.status == "open"
    assert [status for _, status, _ in store.get(incident.id).history] == [
        "open",
        "resolved",
        "open",
    ]


def store_for(path, *destinations) -> IncidentStore:
    store = IncidentStore(path)
    store.destinations.update(destinations)
    return store


def test_incidents_survive_a_restart_and_stay_pending_until_delivered(tmp_path):
    path = tmp_path / "s.db"
    incident = store_for(path, "otlp").record(candidate(1000.0))

    reopened = store_for(path, "otlp")
    (pending,) = reopened.pending_delivery("otlp")
    assert pending.id == incident.id
    assert reopened.get(incident.id).examples[0].trace_id == 10**30 + 1
    reopened.mark_delivered("otlp", [pending])
    assert store_for(path, "otlp").pending_delivery("otlp") == []


def test_each_destination_keeps_its_own_pending_incidents(tmp_path):
    store = store_for(tmp_path / "s.db", "otlp", "console")
    incident = store.record(candidate(1000.0))
    store.mark_delivered("console", [incident])

    assert store.pending_delivery("console") == []
    assert [i.id for i in store.pending_delivery("otlp")] == [incident.id]


def test_a_change_made_during_delivery_is_delivered_too(tmp_path):
    store = store_for(tmp_path / "s.db", "otlp")
    first = store.record(candidate(1000.0))
    escalated = store.record(candidate(1010.0, severity="critical", span=2))
    store.mark_delivered("otlp", [first])

    (pending,) = store.pending_delivery("otlp")
    assert pending.severity == "critical"
    assert pending.version == escalated.version


def test_unknown_status_and_incident_are_errors(tmp_path):
    store = IncidentStore(tmp_path / "s.db")
    with pytest.raises(ValueError):
        store.set_status("inc-x", "gone")
    with pytest.raises(KeyError):
        store.set_status("inc-x", "resolved")


def _write_many(path: str, worker: int) -> None:
    store = IncidentStore(path, cooldown_s=10**9)
    for i in range(50):
        store.record(candidate(1000.0 + i, span=worker * 1000 + i))


def test_processes_sharing_a_file_group_into_one_incident(tmp_path):
    path = str(tmp_path / "shared.db")
    IncidentStore(path)
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_write_many, args=(path, w)) for w in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)

    (incident,) = IncidentStore(path).list()
    assert all(worker.exitcode == 0 for worker in workers)
    assert incident.count == 150


def test_a_store_from_before_delivery_versions_is_upgraded(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE incidents (id TEXT PRIMARY KEY, group_key TEXT NOT NULL,"
            " failure_mode TEXT NOT NULL, severity TEXT NOT NULL, signals TEXT NOT NULL,"
            " feature TEXT NOT NULL, model TEXT NOT NULL, action TEXT NOT NULL,"
            " status TEXT NOT NULL, first_seen REAL NOT NULL, last_seen REAL NOT NULL,"
            " count INTEGER NOT NULL, evidence TEXT NOT NULL, examples TEXT NOT NULL,"
            " export_pending INTEGER NOT NULL DEFAULT 1)"
        )
    store = store_for(path, "otlp")
    first = store.record(candidate(1000.0, span=1))
    again = store_for(path, "otlp").record(candidate(1010.0, span=2))
    assert again.id == first.id and again.count == 2
    assert [i.id for i in store.pending_delivery("otlp")] == [first.id]
