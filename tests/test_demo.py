"""``ai-incidents demo --no-live``, as CI and a newcomer run it: every failure mode raised,
contained and undone, no false alarm in the healthy phases, telemetry that replay reads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CLI = Path(sys.executable).parent / "ai-incidents"


def test_the_demo_raises_contains_and_undoes_every_failure_mode(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "OTEL_"))}
    env["COLUMNS"] = "220"
    result = subprocess.run(
        [str(CLI), "demo", "--no-live", "--speed", "0", "--out", str(tmp_path / "demo")],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("│ ")]
    table = {row.split("│")[1].strip(): row for row in rows if row.split("│")[1].strip()}
    for mode in ("quality_degradation", "model_regression", "context_issues", "prompt_injection"):
        assert mode in table, result.stdout
        cells = [cell.strip() for cell in table[mode].split("│")]
        assert cells[2] == "yes" and cells[4] == "0", table[mode]  # detected, no false alarm
    assert "rolled_back -> gpt-4o-2024-08-06" in table["model_regression"]
    assert "feature_disabled (users)" in table["prompt_injection"]
    assert "resolved by the operator; containment undone" in result.stdout

    telemetry = (tmp_path / "demo" / "telemetry.otlp.jsonl").read_text().splitlines()
    spans = [span for line in telemetry for rs in json.loads(line)["resourceSpans"]
             for ss in rs["scopeSpans"] for span in ss["spans"]]  # fmt: skip
    assert any(e["name"] == "ai.incident" for s in spans for e in s.get("events", []))
    assert (tmp_path / "demo" / "closing-table.svg").read_text().startswith("<svg")
