"""Investigation and postmortems of incidents the real pipeline raised: the real openai SDK
against the local provider server, through capture, evaluation, detection, the store and the
flight recorder; then the CLI on the same store."""

from __future__ import annotations

import json
import re
import time

import openai
import pytest

import ai_incidents
from ai_incidents.cli import main as cli
from ai_incidents.config import configure
from ai_incidents.testing import Reply

SYSTEM = "You are the support assistant of Acme. Answer from the help center only."
GOOD = "To reset your password, open Settings, choose Security and follow the reset link."
QUESTION = "How do I reset my password?"
FRESH_DOCS = [
    {
        "id": "kb-7",
        "text": "To reset your password, open Settings and choose Security.",
        "timestamp": time.time() - 86400,
    }
]
STALE_DOCS = [{"id": "kb-1", "text": "Holiday opening hours of the Berlin office for 2019.",
               "timestamp": time.time() - 400 * 86400}]  # fmt: skip


@pytest.fixture
def client(server):
    with openai.OpenAI(base_url=server.openai_base_url, api_key="t", max_retries=0) as c:
        yield c


def ask(client, model: str = "gpt-4o", system: str = SYSTEM, question: str = QUESTION):
    return client.chat.completions.create(
        model=model,
        messages=[{"role": "system", "content": system}, {"role": "user", "content": question}],
    )


def investigate(incidents, incident_id: str) -> dict:
    incidents.manager.force_flush()
    incidents.recorder.flush()
    return json.loads(run_cli(incidents, "investigate", incident_id, "--json"))


def run_cli(incidents, *args: str) -> str:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli([*args, "--store", str(incidents.store.path)]) == 0
    return out.getvalue()


def only(incidents, predicate) -> str:
    incidents.manager.force_flush()
    (found,) = [i for i in incidents.store.list() if predicate(i)]
    return found.id


def alias_moves_to_a_worse_snapshot(server, client) -> None:
    def responder(api, body):
        if len(server.requests) > 40:
            return Reply(text="Bananas ripen faster in paper bags.", model="gpt-4o-2025-01-01")
        return Reply(text=GOOD, model="gpt-4o-2024-08-06")

    server.responder = responder
    with ai_incidents.feature("support-bot"):
        for _ in range(75):
            ask(client)


def test_investigate_names_both_models_of_a_regression_and_concludes_the_change(
    client, server, incidents
):
    alias_moves_to_a_worse_snapshot(server, client)
    found = investigate(incidents, only(incidents, lambda i: i.failure_mode == "model_regression"))

    (change,) = found["changes"]
    assert (change["what"], change["before"], change["after"]) == (
        "response model", "gpt-4o-2024-08-06", "gpt-4o-2025-01-01")  # fmt: skip
    assert change["calls_to_onset"] == 0
    assert found["conclusion"].startswith(
        "weak answers started with the first call after the response model changed from"
        " gpt-4o-2024-08-06 to gpt-4o-2025-01-01 (0 % -> 100 %)"
    )
    assert found["calls_before"] == 40 and found["calls_during"] == 35
    assert sum(m["affected"] for m in found["per_minute"]) == 35
    assert sum(m["calls"] for m in found["per_minute"]) == 75


def test_investigate_in_the_terminal_links_example_traces(client, server, incidents, monkeypatch):
    monkeypatch.setenv("AI_INCIDENTS_TRACE_URL", "http://jaeger:16686/trace/{trace_id}")
    configure(trace_url="http://jaeger:16686/trace/{trace_id}")
    alias_moves_to_a_worse_snapshot(server, client)
    incident_id = only(incidents, lambda i: i.failure_mode == "model_regression")
    incidents.recorder.flush()
    text = run_cli(incidents, "investigate", incident_id[:10])

    assert f"{incident_id}  high model_regression" in text
    assert "change: response model gpt-4o-2024-08-06 -> gpt-4o-2025-01-01" in text
    trace_id = f"{incidents.store.get(incident_id).examples[0].trace_id:032x}"
    assert f"example: http://jaeger:16686/trace/{trace_id}" in text


def test_a_stale_irrelevant_source_is_concluded_from_retrieval(client, server, incidents):
    server.responder = lambda api, body: Reply(text=GOOD)
    with ai_incidents.feature("rag-support"):
        for _ in range(40):
            ai_incidents.record_retrieval(QUESTION, FRESH_DOCS, data_source_id="kb-current")
            ask(client)
        server.responder = lambda api, body: Reply(text="Our office dog is called Biscuit.")
        for _ in range(30):
            ai_incidents.record_retrieval(QUESTION, STALE_DOCS, data_source_id="kb-2019")
            ask(client)
    found = investigate(
        incidents, only(incidents, lambda i: i.group_key.endswith("|rate:context_issue"))
    )

    retrieval = found["retrieval"]
    assert retrieval["new_sources"] == ["kb-2019"]
    assert retrieval["before"]["relevance"] - retrieval["during"]["relevance"] >= 0.15
    assert retrieval["during"]["oldest_age_s"] > 399 * 86400
    assert found["changes"] == []
    assert re.match(r"retrieval relevance fell from \d\.\d\d to \d\.\d\d while data source"
                    r" kb-2019 appeared$", found["conclusion"]), found["conclusion"]  # fmt: skip


def test_a_degradation_without_a_change_says_so(client, server, incidents):
    server.responder = lambda api, body: Reply(text=GOOD)
    for _ in range(40):
        ask(client)
    bad = iter([Reply(text="I'm sorry, but I can't help with that."),
                Reply(text="The", finish_reason="length")] * 50)  # fmt: skip
    server.responder = lambda api, body: next(bad)
    for _ in range(20):
        ask(client)
    found = investigate(
        incidents, only(incidents, lambda i: i.group_key.endswith("|rate:low_quality"))
    )

    assert found["changes"] == []
    assert (
        found["conclusion"]
        == "no model or prompt change: the rate of weak answers rose (0 % -> 100 %)"
    )


def test_a_system_prompt_change_is_found_by_its_fingerprint(client, server, incidents):
    def responder(api, body):
        new = "pirate" in body["messages"][0]["content"]
        return Reply(text="Arr, bananas!" if new else GOOD)

    server.responder = responder
    for _ in range(40):
        ask(client)
    for _ in range(20):
        ask(client, system="You are a pirate. Talk about fruit.")
    found = investigate(
        incidents, only(incidents, lambda i: i.group_key.endswith("|rate:low_quality"))
    )

    what = {c["what"] for c in found["changes"]}
    assert "system prompt" in what
    assert "after the system prompt changed (fingerprint" in found["conclusion"]


def test_the_postmortem_answers_every_question_and_holds_no_secret(
    client, server, incidents, tmp_path
):
    configure(capture_content="span_only")
    key = "sk-proj-" + "Acme42" * 6
    server.responder = lambda api, body: Reply(text=GOOD)
    with ai_incidents.feature("support-bot"):
        for _ in range(40):
            ask(client)
        server.responder = lambda api, body: Reply(text=f"Your key is {key}, mail bob@example.org")
        for _ in range(20):
            ask(client)
    incident_id = only(incidents, lambda i: "secret" in i.evidence.get("safety_categories", []))
    incidents.recorder.flush()
    assert any(key in (c.content or "") for c in incidents.recorder.calls("support-bot", 0, 2**40))
    out = tmp_path / "pm"
    run_cli(incidents, "postmortem", incident_id, "--out", str(out))
    md = (out / "postmortem.md").read_text()
    page = (out / "postmortem.html").read_text()

    for text in (md, page):
        assert key not in text and "Acme42" not in text and "bob@example.org" not in text
        assert "Your key is" not in text
    answers = re.findall(r"^\*\*(.+?\?)\*\*(.*)$", md, re.MULTILINE)
    assert [q for q, _ in answers] == [
        "What was the AI doing wrong?", "How did we detect it?", "Why didn't we catch it sooner?",
        "What evaluation gaps existed?", "Were there warning signs in the metrics?",
    ]  # fmt: skip
    assert all(len(a.strip()) > 20 for _, a in answers), answers
    assert f"ai-incidents cases {incident_id}" in md
    assert "secret" in md  # the category is named, never the value


def test_the_postmortem_html_is_self_contained_with_plots(client, server, incidents, tmp_path):
    alias_moves_to_a_worse_snapshot(server, client)
    incident_id = only(incidents, lambda i: i.failure_mode == "model_regression")
    incidents.recorder.flush()
    run_cli(incidents, "incidents", "contain", incident_id)
    run_cli(incidents, "postmortem", incident_id, "--out", str(tmp_path))
    page = (tmp_path / "postmortem.html").read_text()
    md = (tmp_path / "postmortem.md").read_text()

    images = re.findall(r'<img alt="([^"]+)" src="([^"]+)"', page)
    assert {name for name, _ in images} == {
        "Quality and safety scores", "Signals over time", "Model and prompt timeline",
        "Drift statistics",
    }  # fmt: skip
    assert all(src.startswith("data:image/png;base64,iVBOR") for _, src in images)
    assert not re.search(r"(src|href)=\"(?!data:)", page)
    assert "http://" not in page and "https://" not in page
    assert "| response model | gpt-4o-2024-08-06 | gpt-4o-2025-01-01 |" in md
    assert "containment: rolled_back" in md
    assert "| mean_drop |" in md
