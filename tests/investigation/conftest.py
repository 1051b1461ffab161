"""Incidents raised by the real pipeline (the openai SDK against the local provider server),
with message content exported, for the investigation commands to work on."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import openai
import pytest

import ai_incidents
from ai_incidents.config import configure
from ai_incidents.testing import Reply
from tests.test_containment import GOOD, SYSTEM, wait_for

QUESTION = "How do I reset my password?"
REFUSAL = "I'm sorry, but I can't help with that."


def ask(client, question: str = QUESTION) -> None:
    client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}],
    )


@pytest.fixture
def client(server):
    with openai.OpenAI(base_url=server.openai_base_url, api_key="t", max_retries=0) as c:
        yield c


def degraded_incident(incidents, client, server, content: bool = True):
    """40 good answers, then refusals until a quality degradation is stored; its incident."""
    if content:
        configure(capture_content="span_only")
    server.responder = lambda api, body: Reply(text=GOOD)
    with ai_incidents.feature("support-bot"):
        for _ in range(40):
            ask(client)
        server.responder = lambda api, body: Reply(text=REFUSAL)
        for _ in range(30):
            ask(client)
    incidents.manager.force_flush()

    def degradation():
        return next((i for i in incidents.store.list() if i.failure_mode == "quality_degradation"),
                    None)  # fmt: skip

    incident = wait_for(degradation)
    incidents.recorder.flush()
    return incident


PROMPTFOO_VERSION = "0.121.20"
"""The last promptfoo release that runs on Node 20."""


@pytest.fixture(scope="session")
def promptfoo() -> Path:
    """The real promptfoo from npm, installed once into the user's cache folder."""
    folder = Path.home() / ".cache" / "ai-incidents" / f"promptfoo-{PROMPTFOO_VERSION}"
    binary = folder / "node_modules" / ".bin" / "promptfoo"
    if not binary.exists():
        if shutil.which("npm") is None:
            pytest.fail("npm is needed to install promptfoo")
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--prefix", str(folder), "--no-audit", "--no-fund",
                        "--loglevel=error", f"promptfoo@{PROMPTFOO_VERSION}"],
                       check=True, capture_output=True, timeout=600)  # fmt: skip
    return binary


def run_promptfoo(binary: Path, config: Path) -> subprocess.CompletedProcess:
    """``promptfoo eval`` on ``config``, offline, with this interpreter for Python asserts."""
    src = Path(ai_incidents.__file__).resolve().parent.parent
    env = {**os.environ, "PROMPTFOO_PYTHON": sys.executable,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(src), os.environ.get("PYTHONPATH")])),
           "PROMPTFOO_DISABLE_TELEMETRY": "1", "PROMPTFOO_DISABLE_UPDATE": "1",
           "PROMPTFOO_CONFIG_DIR": str(config.parent / ".promptfoo")}  # fmt: skip
    return subprocess.run(
        [str(binary), "eval", "-c", str(config), "--no-cache", "--no-table",
         "-o", str(config.parent / "results.json")],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
