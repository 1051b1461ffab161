"""The flight recorder: one row per LLM call, written off the app's thread, bounded, with
content only when the app opted in to exporting it."""

from __future__ import annotations

import openai

import ai_incidents
from ai_incidents.config import configure
from ai_incidents.testing import Reply


def ask(server, question: str) -> None:
    with openai.OpenAI(base_url=server.openai_base_url, api_key="t", max_retries=0) as client:
        client.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "system", "content": "You answer from the help center."},
                      {"role": "user", "content": question}],
        )  # fmt: skip


def test_each_call_is_recorded_without_content(server, telemetry, incidents):
    server.responder = lambda api, body: Reply(text="Write to jane@example.org.",
                                               model="gpt-4o-2024-08-06")  # fmt: skip
    with ai_incidents.feature("support-bot", user="alice"):
        ai_incidents.record_retrieval("refunds", [{"id": "kb-1", "text": "Refunds: 30 days."}],
                                      data_source_id="help-center")  # fmt: skip
        for question in ("How do refunds work?", "Where is my invoice?"):
            ask(server, question)
    incidents.recorder.flush()
    rows = incidents.recorder.calls("support-bot", 0, 2**40)

    assert len(rows) == 2
    first = rows[0]
    assert first.request_model == "gpt-4o" and first.response_model == "gpt-4o-2024-08-06"
    assert first.system_hash and first.context_hash and rows[1].system_hash == first.system_hash
    assert first.data_source == "help-center" and first.documents == 1
    assert "pii" in first.safety_categories
    assert first.user and "alice" not in first.user
    assert first.content is None
    assert first.span_id == f"{telemetry.llm_spans()[0].context.span_id:016x}"


def test_content_is_recorded_when_the_app_exports_it_and_rows_are_bounded(
    server, telemetry, incidents
):
    configure(capture_content="span_only")
    incidents.recorder.max_rows = 3
    incidents.recorder._pruned_at = -1e9
    for n in range(5):
        ask(server, f"Question {n}?")
        incidents.recorder._pruned_at = -1e9
        incidents.recorder.flush()
    rows = incidents.recorder.calls("test-service", 0, 2**40)

    assert len(rows) == 3
    assert "Question 4?" in rows[-1].content
