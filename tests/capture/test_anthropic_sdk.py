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


def message(content: list[dict], stop_reason: str = "end_turn") -> dict:
    """A Messages API response body with these content blocks."""
    return {
        "id": "msg_01Blocks",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 20, "output_tokens": 40},
    }


CITED = {
    "type": "web_search_result_location",
    "url": "https://weather.example/sf",
    "title": "SF weather",
    "encrypted_index": "Eo8BCioIAhgB",
    "cited_text": "Temperature: 66°F",
}
WEB_SEARCH_ANSWER = [
    {"type": "thinking", "thinking": "They want today's weather.", "signature": "EqQBCgIYAhIM"},
    {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"},
    {"type": "text", "text": "I'll look that up."},
    {
        "type": "server_tool_use",
        "id": "srvtoolu_01",
        "name": "web_search",
        "input": {"query": "San Francisco weather today"},
    },
    {
        "type": "web_search_tool_result",
        "tool_use_id": "srvtoolu_01",
        "content": [
            {
                "type": "web_search_result",
                "url": "https://weather.example/sf",
                "title": "SF weather",
                "encrypted_content": "EqgfCioIARgBIiQ3YTAw",
                "page_age": "1 hour ago",
            }
        ],
    },
    {"type": "text", "text": "Today in San Francisco:\n- "},
    {"type": "text", "text": "Temperature: 66°F", "citations": [CITED]},
    {"type": "text", "text": ", light wind."},
]


def test_answer_is_the_text_blocks_joined_as_the_provider_wrote_them(client, telemetry, server):
    server.responder = lambda api, body: Reply(body=message(WEB_SEARCH_ANSWER))

    result = client.messages.create(model=MODEL, max_tokens=256, messages=MESSAGES)

    sdk_text = "".join(block.text for block in result.content if block.type == "text")
    assert sdk_text.endswith("Today in San Francisco:\n- Temperature: 66°F, light wind.")
    assert telemetry.interactions[0].output_text == sdk_text


def test_beta_blocks_are_not_answer_text(client, telemetry, server):
    blocks = [
        {"type": "compaction", "content": "Summary: the user asked about the weather."},
        {
            "type": "mcp_tool_use",
            "id": "mcptoolu_01",
            "name": "lookup",
            "server_name": "crm",
            "input": {"customer": "42"},
        },
        {
            "type": "mcp_tool_result",
            "tool_use_id": "mcptoolu_01",
            "is_error": False,
            "content": [{"type": "text", "text": "Customer 42: premium plan"}],
        },
        {
            "type": "mcp_tool_result",
            "tool_use_id": "mcptoolu_02",
            "is_error": True,
            "content": "timeout",
        },
        {"type": "text", "text": "Customer 42 is on the premium plan."},
    ]
    server.responder = lambda api, body: Reply(body=message(blocks))

    result = client.beta.messages.create(model=MODEL, max_tokens=256, messages=MESSAGES)

    assert [block.type for block in result.content][-1] == "text"
    assert telemetry.interactions[0].output_text == "Customer 42 is on the premium plan."


def test_tool_use_answer_has_no_answer_text(client, telemetry, server):
    blocks = [
        {"type": "text", "text": "Let me check."},
        {"type": "tool_use", "id": "toolu_01", "name": "weather", "input": {"city": "SF"}},
    ]
    server.responder = lambda api, body: Reply(body=message(blocks, stop_reason="tool_use"))

    client.messages.create(model=MODEL, max_tokens=256, messages=MESSAGES)

    span = telemetry.only_llm_span()
    assert span.attributes["gen_ai.response.finish_reasons"] == ("tool_use",)
    assert telemetry.interactions[0].output_text == "Let me check."


def streamed(blocks: list[tuple[dict, list[dict]]]) -> list:
    """The events of a streamed message: each block's start, its deltas and its stop."""
    start = message([], stop_reason=None)
    start["usage"] = {"input_tokens": 20, "output_tokens": 1}
    events: list = [("message_start", {"type": "message_start", "message": start})]
    for index, (block, deltas) in enumerate(blocks):
        events.append(
            (
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": block},
            )
        )
        for delta in deltas:
            events.append(
                (
                    "content_block_delta",
                    {"type": "content_block_delta", "index": index, "delta": delta},
                )
            )
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    delta = {"stop_reason": "end_turn", "stop_sequence": None}
    events.append(
        ("message_delta", {"type": "message_delta", "delta": delta, "usage": {"output_tokens": 40}})
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return events


def test_streamed_answer_is_the_text_deltas_of_text_blocks(client, telemetry, server):
    blocks = [
        (
            {"type": "thinking", "thinking": "", "signature": ""},
            [
                {"type": "thinking_delta", "thinking": "Weather, then."},
                {"type": "signature_delta", "signature": "EqQBCgIYAhIM"},
            ],
        ),
        (
            {"type": "compaction", "content": None},
            [{"type": "compaction_delta", "content": "Summary of earlier turns."}],
        ),
        ({"type": "text", "text": ""}, [{"type": "text_delta", "text": "Today:\n- "}]),
        (
            {"type": "text", "text": "", "citations": []},
            [
                {"type": "citations_delta", "citation": CITED},
                {"type": "text_delta", "text": "Temperature: 66°F"},
            ],
        ),
        (
            {"type": "tool_use", "id": "toolu_01", "name": "weather", "input": {}},
            [{"type": "input_json_delta", "partial_json": '{"city": "SF"}'}],
        ),
    ]
    server.responder = lambda api, body: Reply(events=streamed(blocks))

    with client.beta.messages.stream(model=MODEL, max_tokens=256, messages=MESSAGES) as stream:
        text = stream.get_final_text()

    assert text == "Today:\n- Temperature: 66°F"
    assert telemetry.interactions[0].output_text == text


@pytest.mark.parametrize(
    ("status", "error_type", "exception"),
    [
        (401, "authentication_error", anthropic.AuthenticationError),
        (429, "rate_limit_error", anthropic.RateLimitError),
        (529, "overloaded_error", anthropic.APIStatusError),
    ],
)
def test_error_bodies_give_the_error_type(status, error_type, exception, client, telemetry, server):
    body = {
        "type": "error",
        "error": {"type": error_type, "message": "documented message"},
        "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy",
    }
    server.responder = lambda api, request: Reply(status=status, body=body)

    with pytest.raises(exception) as raised:
        client.messages.create(model=MODEL, max_tokens=10, messages=MESSAGES)

    span = telemetry.only_llm_span()
    assert raised.value.status_code == status
    assert span.attributes["error.type"] == error_type
    assert span.status.status_code is StatusCode.ERROR
    assert "ai.capture.error" not in span.attributes
    assert "ai.quality.score" not in span.attributes


def test_error_event_mid_stream_gives_the_error_type_and_is_no_abandon(client, telemetry, server):
    events = streamed([({"type": "text", "text": ""}, [{"type": "text_delta", "text": "Par"}])])
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    server.responder = lambda api, body: Reply(events=[*events[:3], ("error", error)])

    with pytest.raises(anthropic.APIStatusError, match="Overloaded"):
        with client.messages.stream(model=MODEL, max_tokens=64, messages=MESSAGES) as stream:
            stream.get_final_text()

    span = telemetry.only_llm_span()
    assert span.attributes["error.type"] == "overloaded_error"
    assert span.status.status_code is StatusCode.ERROR
    assert "ai.capture.stream_abandoned" not in span.attributes
