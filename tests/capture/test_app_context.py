"""What the app adds: the feature, retrieved documents, later feedback; content opt-in."""

from __future__ import annotations

import datetime
import json
import time

import httpx
import pytest

from ai_incidents import (
    RetrievedDocument,
    configure,
    feature,
    no_retrieval,
    record_feedback,
    record_retrieval,
    retrieval,
)

CHAT = {"model": "m", "messages": [{"role": "user", "content": "What is our refund policy?"}]}


def ask(server) -> httpx.Response:
    with httpx.Client(base_url=server.url) as client:
        return client.post("/v1/chat/completions", json=CHAT)


def test_feature_context_manager_names_the_calls_inside(server, telemetry):
    with feature("support-bot"):
        ask(server)
    ask(server)

    inside, outside = telemetry.llm_spans()
    assert inside.attributes["ai.feature.name"] == "support-bot"
    assert outside.attributes["ai.feature.name"] == "test-service"


async def test_feature_decorator_covers_async_functions(server, telemetry):
    @feature("async-summary")
    async def summarize() -> None:
        async with httpx.AsyncClient(base_url=server.url) as client:
            await client.post("/v1/chat/completions", json=CHAT)

    await summarize()

    assert telemetry.only_llm_span().attributes["ai.feature.name"] == "async-summary"


def test_feature_setting_replaces_service_name(server, telemetry):
    configure(feature="checkout")
    ask(server)

    assert telemetry.only_llm_span().attributes["ai.feature.name"] == "checkout"


def test_retrieval_span_and_documents_reach_the_next_llm_call(server, telemetry):
    old = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=400)
    with feature("rag"):
        with retrieval("refund policy", data_source_id="kb") as step:
            step.add(
                {"id": "d1", "text": "Refunds within 30 days.", "score": 0.9, "timestamp": old},
                RetrievedDocument(id="d2", text="Shipping takes 5 days.", score=0.4),
            )
        ask(server)

    (retrieval_span,) = telemetry.spans_named("retrieval kb")
    llm_span = telemetry.only_llm_span()
    interaction = telemetry.interactions[0]
    assert retrieval_span.attributes["gen_ai.operation.name"] == "retrieval"
    assert retrieval_span.attributes["gen_ai.data_source.id"] == "kb"
    assert retrieval_span.attributes["ai.retrieval.document_count"] == 2
    assert retrieval_span.attributes["ai.retrieval.max_age_s"] > 399 * 86400
    assert "gen_ai.retrieval.query.text" not in retrieval_span.attributes
    assert llm_span.attributes["ai.retrieval.document_count"] == 2
    assert interaction.retrieval.query == "refund policy"
    assert [d.id for d in interaction.retrieval.documents] == ["d1", "d2"]


def test_retrieval_is_forgotten_when_the_feature_block_ends(server, telemetry):
    with feature("rag"):
        record_retrieval("q", ["some text"])
    ask(server)
    record_retrieval("q", [{"page_content": "langchain style", "metadata": {"id": 7}}])
    with no_retrieval():
        ask(server)
    ask(server)

    first, second, third = telemetry.interactions
    assert first.retrieval is None
    assert second.retrieval is None
    assert third.retrieval.documents[0] == RetrievedDocument(id="7", text="langchain style")


def test_age_in_seconds_becomes_a_timestamp():
    record = record_retrieval("q", [{"text": "t", "age_s": 120}])
    assert time.time() - record.documents[0].timestamp == pytest.approx(120, abs=5)


def test_feedback_by_response_id_links_to_the_rated_call(server, telemetry):
    with feature("support-bot"):
        response_id = ask(server).json()["id"]
    record_feedback(response_id, thumbs_up=False, comment="wrong answer")

    (feedback,) = telemetry.spans_named("ai.feedback")
    llm_span = telemetry.only_llm_span()
    (event,) = [
        r.log_record
        for r in telemetry.log_exporter.get_finished_logs()
        if r.log_record.event_name == "ai.feedback"
    ]
    assert feedback.links[0].context.span_id == llm_span.context.span_id
    assert feedback.attributes["ai.feedback.score"] == 0.0
    assert feedback.attributes["ai.feedback.label"] == "negative"
    assert feedback.attributes["ai.feature.name"] == "support-bot"
    assert feedback.attributes["gen_ai.response.id"] == response_id
    assert "ai.feedback.comment" not in feedback.attributes
    assert event.span_id == llm_span.context.span_id
    assert event.attributes["ai.feedback.label"] == "negative"


def test_feedback_needs_a_target_and_a_verdict():
    with pytest.raises(ValueError, match="response_id or the span_context"):
        record_feedback(thumbs_up=True)
    with pytest.raises(ValueError, match="thumbs_up or score"):
        record_feedback("resp-1")
    with pytest.raises(ValueError, match="between 0 and 1"):
        record_feedback("resp-1", score=5)


def test_content_is_exported_only_when_opted_in(server, telemetry):
    ask(server)
    configure(capture_content="span_and_event")
    record_retrieval("refund policy", ["Refunds within 30 days."], data_source_id="kb")
    ask(server)

    plain, opted_in = telemetry.llm_spans()
    (retrieval_span,) = telemetry.spans_named("retrieval kb")
    events = [
        r.log_record
        for r in telemetry.log_exporter.get_finished_logs()
        if r.log_record.event_name == "gen_ai.client.inference.operation.details"
    ]
    assert "gen_ai.input.messages" not in plain.attributes
    messages = json.loads(opted_in.attributes["gen_ai.input.messages"])
    assert messages == [
        {"role": "user", "parts": [{"type": "text", "content": "What is our refund policy?"}]}
    ]
    output = json.loads(opted_in.attributes["gen_ai.output.messages"])
    assert output[0]["finish_reason"] == "stop"
    assert retrieval_span.attributes["gen_ai.retrieval.query.text"] == "refund policy"
    assert len(events) == 1
    assert events[0].span_id == opted_in.context.span_id


def test_content_with_a_lone_surrogate_survives_otlp_encoding(server, telemetry):
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    configure(capture_content="span_only")
    record_retrieval("refund", ["Refunds \ud800 within 30 days."], data_source_id="kb")
    question = {"role": "user", "content": "Refund \ud800 policy?"}
    body = json.dumps({**CHAT, "messages": [question]}).encode()  # "\ud800" escaped, as JSON may
    with httpx.Client(base_url=server.url) as client:
        client.post(
            "/v1/chat/completions", content=body, headers={"content-type": "application/json"}
        )

    (span,) = telemetry.llm_spans()
    (retrieval_span,) = telemetry.spans_named("retrieval kb")
    scopes = encode_spans([span, retrieval_span]).resource_spans[0].scope_spans
    encoded = [item for scope in scopes for item in scope.spans]
    exported = {kv.key: kv.value.string_value for item in encoded for kv in item.attributes}
    messages = json.loads(exported["gen_ai.input.messages"])
    assert messages[0]["parts"][0]["content"] == "Refund \ud800 policy?"
    documents = json.loads(exported["gen_ai.retrieval.documents"])
    assert documents[0]["content"] == "Refunds \ud800 within 30 days."


def test_feature_name_must_be_text():
    with pytest.raises(ValueError):
        feature("")


def test_an_old_retrieval_no_longer_reaches_later_calls(server, telemetry):
    configure(retrieval_ttl_s=0)
    record_retrieval("q", ["some text"])
    ask(server)

    assert telemetry.interactions[0].retrieval is None
