"""`ai-incidents cases`: an incident the real pipeline raised, as regression cases; the
promptfoo file under the real promptfoo (fails on the recorded answers, passes on fixed ones)."""

from __future__ import annotations

import json

from ai_incidents.cli import main as cli
from tests.investigation.conftest import REFUSAL, degraded_incident, run_promptfoo
from tests.test_containment import GOOD


def test_promptfoo_cases_fail_on_the_recorded_answers_and_pass_on_a_fixed_one(
    incidents, client, server, tmp_path, promptfoo, capsys
):
    incident = degraded_incident(incidents, client, server)
    out = tmp_path / "cases" / "promptfooconfig.json"
    out.parent.mkdir()

    assert cli(["cases", incident.id[:10], "--out", str(out), "--limit", "5",
                "--store", str(incidents.store.path)]) == 0  # fmt: skip
    assert "each failing on its recorded answer" in capsys.readouterr().err
    suite = json.loads(out.read_text())
    assert len(suite["tests"]) == 5
    assert all(t["providerOutput"] == REFUSAL for t in suite["tests"])
    assert "refusal" in suite["tests"][0]["assert"][0]["config"]["checks"]
    assert (out.parent / "ai_incidents_assert.py").exists()

    failing = run_promptfoo(promptfoo, out)
    assert failing.returncode == 100, failing.stdout + failing.stderr
    results = json.loads((out.parent / "results.json").read_text())["results"]["results"]
    assert [r["success"] for r in results] == [False] * 5
    assert "refusal" in results[0]["gradingResult"]["componentResults"][0]["reason"]

    for test in suite["tests"]:
        test["providerOutput"] = GOOD
    out.write_text(json.dumps(suite))
    passing = run_promptfoo(promptfoo, out)
    assert passing.returncode == 0, passing.stdout + passing.stderr


def test_cases_without_content_carry_ids_and_scores_and_say_so(
    incidents, client, server, tmp_path, capsys
):
    incident = degraded_incident(incidents, client, server, content=False)
    out = tmp_path / "cases.jsonl"
    store = str(incidents.store.path)

    assert cli(["cases", incident.id, "--format", "jsonl", "--out", str(out), "--store",
                store]) == 0  # fmt: skip
    assert "content was not captured" in capsys.readouterr().err
    items = [json.loads(line) for line in out.read_text().splitlines()]
    assert items and all(item["input"] is None for item in items)
    first = items[0]["metadata"]
    assert first["incident_id"] == incident.id and first["failure_mode"] == "quality_degradation"
    assert first["scores"]["quality"] < 0.5 and "refusal" in first["flags"]["quality"]
    assert len(first["trace_id"]) == 32 and len(first["span_id"]) == 16
    assert {e.hex()[1] for e in incident.examples} <= {i["metadata"]["span_id"] for i in items}
    assert cli(["cases", incident.id, "--store", store]) == 1  # promptfoo needs content
