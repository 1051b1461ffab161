"""The real anthropic SDK (which traces its own calls) against the local provider server."""

from __future__ import annotations

import anthropic
import pytest
from opentelemetry import trace
from opentelemetry.trace import StatusCode

from ai_incidents.testing import Reply

MODEL = "claude-local-1"
MESSAGES = [{"role": "user", "content": "Name three primary colors."}]


@pytest.fixture
def client(server, telemetry):
    # The SDK's own span goes to the same tracer provider, as it would under the launcher.
    with anthropic.Anthropic(
        base_url=server.anthropic_base_url,
        api_key="test",
        max_retries=0,
        open_telemetry={"tracer_provider": telemetry.tracer_provider},
    ) as c:
        yield c


def test_messages_call_is_one_span_of_ours_under_the_sdk_span(client, telemetry, server):
    server.responder = lambda api, body: Reply(text="Red, yellow and blue.", input_tokens=9)

    message = client.messages.create(
        model=MODEL, max_tokens=64, system="Answer briefly.", messages=MESSAGES
    )

    ours = telemetry.only_llm_span()
    sdk_spans = [
        s
        for s in telemetry.span_exporter.get_finished_spans()
        if s.instrumentation_scope.name == "com.anthropic.sdk.python"
    ]
    assert message.content[0].text == "Red, yellow and blue."
    assert ours.name == f"chat {MODEL}"
    assert ours.attributes["gen_ai.provider.name"] == "anthropic"
    assert ours.attributes["gen_ai.response.id"] == message.id
    assert ours.attributes["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert ours.attributes["gen_ai.usage.input_tokens"] == 9
    assert ours.attributes["gen_ai.request.max_tokens"] == 64
    assert len(sdk_spans) == 1
    assert ours.parent.span_id == sdk_spans[0].context.span_id
    assert telemetry.interactions[0].system_instructions == ["Answer briefly."]


def test_sdk_tracing_off_still_gives_our_span(server, telemetry, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_OPEN_TELEMETRY", "false")
    with anthropic.Anthropic(base_url=server.anthropic_base_url, api_key="t") as client:
        client.messages.create(model=MODEL, max_tokens=10, messages=MESSAGES)

    assert telemetry.only_llm_span().parent is None


def test_streamed_messages_span_ends_with_stop_reason_and_usage(client, telemetry, server):
    server.responder = lambda api, body: Reply(
        text="a b c d e", finish_reason="length", output_tokens=5
    )

    with client.messages.stream(model=MODEL, max_tokens=5, messages=MESSAGES) as stream:
        text = stream.get_final_text()

    span = telemetry.only_llm_span()
    assert text == "a b c d e"
    assert span.attributes["gen_ai.request.stream"] is True
    assert span.attributes["gen_ai.response.finish_reasons"] == ("max_tokens",)
    assert span.attributes["gen_ai.usage.output_tokens"] == 5
    assert span.attributes["gen_ai.response.time_to_first_chunk"] > 0
    assert telemetry.interactions[0].output_text == "a b c d e"


def test_overloaded_error_body_gives_error_type(client, telemetry, server):
    server.responder = lambda api, body: Reply(status=529, error_type="overloaded_error")

    with pytest.raises(anthropic.APIStatusError) as raised:
        client.messages.create(model=MODEL, max_tokens=10, messages=MESSAGES)

    span = telemetry.only_llm_span()
    assert raised.value.status_code == 529
    assert span.attributes["error.type"] == "overloaded_error"
    assert span.status.status_code is StatusCode.ERROR


async def test_async_client_plain_and_streamed(server, telemetry):
    server.responder = lambda api, body: Reply(text="Cyan, magenta, yellow.")
    async with anthropic.AsyncAnthropic(
        base_url=server.anthropic_base_url, api_key="t", max_retries=0
    ) as client:
        plain = await client.messages.create(model=MODEL, max_tokens=32, messages=MESSAGES)
        async with client.messages.stream(model=MODEL, max_tokens=32, messages=MESSAGES) as s:
            streamed = await s.get_final_message()

    first, second = telemetry.llm_spans()
    assert first.attributes["gen_ai.response.id"] == plain.id
    assert second.attributes["gen_ai.response.id"] == streamed.id
    assert second.attributes["gen_ai.response.finish_reasons"] == ("end_turn",)


def test_our_span_is_current_while_the_request_is_sent(client, telemetry, server):
    seen = []

    def responder(api, body):
        return Reply(text="ok")

    server.responder = responder
    tracer = telemetry.tracer_provider.get_tracer("test")
    with tracer.start_as_current_span("request handler") as outer:
        client.messages.create(model=MODEL, max_tokens=10, messages=MESSAGES)
        seen.append(trace.get_current_span())

    ours = telemetry.only_llm_span()
    assert ours.context.trace_id == outer.get_span_context().trace_id
    assert seen == [outer]
