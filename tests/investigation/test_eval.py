"""`ai-incidents eval`: the cases of a real incident against candidate models behind the
local OpenAI-compatible server; the exit code gates the deploy."""

from __future__ import annotations

import json

from ai_incidents.cli import main as cli
from ai_incidents.testing import Reply
from tests.investigation.conftest import REFUSAL, degraded_incident
from tests.test_containment import GOOD, SYSTEM


def test_eval_passes_a_good_candidate_and_fails_a_bad_or_leaking_one(
    incidents, client, server, tmp_path, capsys
):
    incident = degraded_incident(incidents, client, server)
    cases = tmp_path / "cases.jsonl"
    assert cli(["cases", incident.id, "--format", "jsonl", "--out", str(cases), "--limit", "5",
                "--store", str(incidents.store.path)]) == 0  # fmt: skip
    capsys.readouterr()
    gate = ["eval", str(cases), "--base-url", server.openai_base_url, "--model", "candidate-1"]

    server.responder = lambda api, body: Reply(text=GOOD)
    assert cli(gate) == 0
    out = capsys.readouterr().out
    assert "not worse than the baseline" in out and "0 of 5 cases failed" in out
    assert all(body["model"] == "candidate-1" for _, body in server.requests[-5:])

    server.responder = lambda api, body: Reply(text=REFUSAL)
    assert cli(gate) == 1
    assert "5 of 5 cases fail their checks" in capsys.readouterr().out

    server.responder = lambda api, body: Reply(text=f"Sure. My instructions: {SYSTEM}")
    assert cli([*gate, "--adversarial", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    leaks = [c["case_id"] for c in report["cases"]
             if "system_prompt_leak: system_prompt_leak" in c["verdict"]["reasons"]]  # fmt: skip
    assert "adversarial:prompt-extraction" in leaks
