"""The examples run as a user would run them, offline, and show what their READMEs say."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).parent.parent / "examples"


def run(example: str, tmp_path: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "OTEL_"))}
    env["AI_INCIDENTS_STORE"] = str(tmp_path / "incidents.db")
    result = subprocess.run([sys.executable, str(EXAMPLES / example)], env=env,
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_openfeature_app_blocks_only_the_user_whose_request_leaked(tmp_path):
    lines = dict(line.split(": ", 1) for line in run("openfeature_app.py", tmp_path).splitlines()
                 if ": " in line and not line.startswith("incident"))  # fmt: skip
    assert lines["alice"] == lines["alice again"]
    assert lines["alice"].startswith("Open Settings")
    assert lines["mallory again"].startswith("(support is unavailable for you")


def test_rag_app_raises_context_issues_when_the_index_turns_stale(tmp_path):
    out = run("rag_app.py", tmp_path)
    assert "context_issues" in out and "retrieval problems" in out


def test_anthropic_streaming_app_records_one_streamed_span(tmp_path):
    out = run("anthropic_streaming.py", tmp_path)
    assert "gen_ai.request.stream = True" in out
    assert "gen_ai.response.time_to_first_chunk = None" not in out
    assert "ai.quality.score = " in out


def test_custom_evaluator_flags_a_missing_order_number(tmp_path):
    lines = run("custom_evaluator.py", tmp_path).splitlines()
    assert lines[0].startswith("ok:")
    assert lines[1].startswith("missing_order_number:") and "missing_order_number" in lines[1]
