"""The real openai SDK against the local provider server: each call is one GenAI span."""

from __future__ import annotations

import openai
import pytest
from opentelemetry.trace import SpanKind, StatusCode

from ai_incidents.testing import Reply

MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is the capital of France?"},
]


@pytest.fixture
def client(server):
    with openai.OpenAI(base_url=server.openai_base_url, api_key="test", max_retries=0) as c:
        yield c


@pytest.fixture
async def async_client(server):
    async with openai.AsyncOpenAI(
        base_url=server.openai_base_url, api_key="test", max_retries=0
    ) as c:
        yield c


def test_chat_completion_becomes_one_client_span_with_genai_attributes(client, telemetry, server):
    server.responder = lambda api, body: Reply(text="Paris.", model="gpt-4o-mini-2024-07-18")

    result = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, max_tokens=50)

    span = telemetry.only_llm_span()
    assert result.choices[0].message.content == "Paris."
    assert span.name == "chat gpt-4o-mini"
    assert span.kind is SpanKind.CLIENT
    attributes = span.attributes
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.provider.name"] == "openai"
    assert attributes["gen_ai.request.model"] == "gpt-4o-mini"
    assert attributes["gen_ai.request.max_tokens"] == 50
    assert attributes["gen_ai.request.stream"] is False
    assert attributes["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"
    assert attributes["gen_ai.response.id"] == result.id
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert attributes["gen_ai.usage.input_tokens"] == result.usage.prompt_tokens
    assert attributes["gen_ai.usage.output_tokens"] == result.usage.completion_tokens
    assert attributes["server.address"] == "127.0.0.1"
    assert attributes["server.port"] == int(server.url.rsplit(":", 1)[1])
    assert attributes["ai.feature.name"] == "test-service"
    assert "gen_ai.input.messages" not in attributes
    assert span.status.status_code is StatusCode.UNSET


def test_interaction_record_holds_content_in_process(client, telemetry):
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    (interaction,) = telemetry.interactions
    assert interaction.system_instructions == ["You are a helpful assistant."]
    assert interaction.last_user_text == "What is the capital of France?"
    assert "capital of France" in interaction.output_text
    assert interaction.span_context == telemetry.only_llm_span().get_span_context()


@pytest.mark.parametrize("include_usage", [True, False])
def test_streamed_chat_completion_ends_span_when_stream_is_read(
    client, telemetry, server, include_usage
):
    server.responder = lambda api, body: Reply(text="one two three four", finish_reason="length")
    options = {"include_usage": True} if include_usage else openai.omit

    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options=options
    )
    assert telemetry.llm_spans() == []
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)

    span = telemetry.only_llm_span()
    assert text == "one two three four"
    assert span.attributes["gen_ai.request.stream"] is True
    assert span.attributes["gen_ai.response.finish_reasons"] == ("length",)
    assert span.attributes["gen_ai.response.time_to_first_chunk"] > 0
    assert ("gen_ai.usage.output_tokens" in span.attributes) is include_usage
    assert "ai.capture.stream_abandoned" not in span.attributes
    assert telemetry.interactions[0].output_text == text


def test_responses_api_plain_and_streamed(client, telemetry, server):
    server.responder = lambda api, body: Reply(text="Bonjour tout le monde")

    plain = client.responses.create(
        model="gpt-4.1", input="Say hello in French", instructions="Be brief"
    )
    with client.responses.stream(model="gpt-4.1", input="Say hello in French") as stream:
        streamed = stream.get_final_response()

    first, second = telemetry.llm_spans()
    assert plain.output_text == streamed.output_text == "Bonjour tout le monde"
    for span, response in ((first, plain), (second, streamed)):
        assert span.name == "chat gpt-4.1"
        assert span.attributes["gen_ai.response.id"] == response.id
        assert span.attributes["gen_ai.response.finish_reasons"] == ("stop",)
        assert span.attributes["gen_ai.usage.output_tokens"] == response.usage.output_tokens
    assert second.attributes["gen_ai.request.stream"] is True
    assert telemetry.interactions[0].system_instructions == ["Be brief"]
    assert telemetry.interactions[1].output_text == "Bonjour tout le monde"


def test_responses_api_truncation_maps_to_length(client, telemetry, server):
    server.responder = lambda api, body: Reply(text="cut", finish_reason="length")

    client.responses.create(model="gpt-4.1", input="Tell me a long story", max_output_tokens=3)

    span = telemetry.only_llm_span()
    assert span.attributes["gen_ai.response.finish_reasons"] == ("length",)
    assert span.attributes["gen_ai.request.max_tokens"] == 3


def test_embeddings_span_has_dimensions_and_usage(client, telemetry):
    result = client.embeddings.create(
        model="text-embedding-3-small", input=["a", "b"], dimensions=16
    )

    span = telemetry.only_llm_span()
    assert len(result.data[0].embedding) == 16
    assert span.name == "embeddings text-embedding-3-small"
    assert span.attributes["gen_ai.operation.name"] == "embeddings"
    assert span.attributes["gen_ai.embeddings.dimension.count"] == 16
    assert span.attributes["gen_ai.usage.input_tokens"] == 6


def test_provider_error_sets_error_type_and_app_gets_the_sdk_exception(client, telemetry, server):
    server.responder = lambda api, body: Reply(status=429, error_type="rate_limit_exceeded")

    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    span = telemetry.only_llm_span()
    assert span.attributes["error.type"] == "rate_limit_exceeded"
    assert span.status.status_code is StatusCode.ERROR


def test_connection_refused_records_the_exception_type(telemetry):
    dead = openai.OpenAI(base_url="http://127.0.0.1:9/v1", api_key="test", max_retries=0)

    with pytest.raises(openai.APIConnectionError):
        dead.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    span = telemetry.only_llm_span()
    assert span.attributes["error.type"] == "ConnectError"
    assert span.events[0].name == "exception"


def test_metrics_follow_genai_conventions(client, telemetry):
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    durations = telemetry.metric_points("gen_ai.client.operation.duration")
    tokens = telemetry.metric_points("gen_ai.client.token.usage")
    assert any(p.attributes["gen_ai.request.model"] == "gpt-4o-mini" for p in durations)
    assert {p.attributes["gen_ai.token.type"] for p in tokens} == {"input", "output"}


async def test_async_chat_plain_and_streamed(async_client, telemetry, server):
    server.responder = lambda api, body: Reply(text="async answer")

    plain = await async_client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    stream = await async_client.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, stream=True
    )
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])

    first, second = telemetry.llm_spans()
    assert plain.choices[0].message.content == text == "async answer"
    assert first.attributes["gen_ai.response.id"] == plain.id
    assert second.attributes["gen_ai.request.stream"] is True
    assert second.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert [i.output_text for i in telemetry.interactions] == ["async answer", "async answer"]


def test_with_the_openai_instrumentation_there_is_one_span_of_ours_under_theirs(client, telemetry):
    from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor

    OpenAIInstrumentor().instrument(tracer_provider=telemetry.tracer_provider)
    try:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    finally:
        OpenAIInstrumentor().uninstrument()

    ours = telemetry.only_llm_span()
    theirs = [
        s
        for s in telemetry.span_exporter.get_finished_spans()
        if s.instrumentation_scope.name != "ai_incidents"
        and s.attributes.get("gen_ai.operation.name") == "chat"
    ]
    assert len(theirs) == 1
    assert ours.parent.span_id == theirs[0].context.span_id
    assert "ai.feature.name" not in theirs[0].attributes


def chunk(**fields) -> dict:
    """A streamed chat completion chunk."""
    return {"id": "chatcmpl-7", "object": "chat.completion.chunk", "model": "llama-3", **fields}


def test_stream_ending_in_an_error_with_usage_keeps_both(client, telemetry, server):
    # OpenAI-compatible hosts (OpenRouter, vLLM) end a failed stream with a numeric code.
    usage = {"prompt_tokens": 31, "completion_tokens": 2, "total_tokens": 33}
    error = {"code": 400, "message": "context length exceeded"}
    server.responder = lambda api, body: Reply(
        events=[
            chunk(choices=[{"index": 0, "delta": {"role": "assistant", "content": "Hel"}}]),
            chunk(choices=[], error=error, usage=usage),
            b"data: [DONE]\n\n",
        ]
    )

    with pytest.raises(openai.APIError, match="context length exceeded"):
        for _ in client.chat.completions.create(model="llama-3", messages=MESSAGES, stream=True):
            pass

    span = telemetry.only_llm_span()
    assert span.attributes["error.type"] == "400"
    assert span.attributes["gen_ai.usage.input_tokens"] == 31
    assert span.attributes["gen_ai.usage.output_tokens"] == 2
    assert "ai.capture.stream_abandoned" not in span.attributes
    assert span.status.status_code is StatusCode.ERROR


@pytest.mark.parametrize("n", [1, 3])
def test_choice_count_is_set_only_when_not_one(client, telemetry, n):
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, n=n)

    attributes = telemetry.only_llm_span().attributes
    assert attributes.get("gen_ai.request.choice.count") == (n if n != 1 else None)


def test_stream_without_content_type_is_read_as_a_stream(client, telemetry, server):
    server.responder = lambda api, body: Reply(
        text="no header here", include_usage=True, headers={"content-type": None}
    )

    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    chunks = list(stream)

    span = telemetry.only_llm_span()
    assert span.attributes["gen_ai.response.id"] == chunks[0].id
    assert span.attributes["gen_ai.response.model"] == "gpt-4o-mini"
    assert span.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert span.attributes["gen_ai.usage.output_tokens"] == 3
    assert "ai.capture.error" not in span.attributes
    assert telemetry.interactions[0].output_text == "no header here"


def response_object(status: str, text: str | None = "Partial answer", **fields) -> dict:
    """A Responses API response object."""
    output = []
    if text is not None:
        part = {"type": "output_text", "text": text, "annotations": []}
        output.append({"type": "message", "id": "msg_1", "status": "incomplete",
                       "role": "assistant", "content": [part]})  # fmt: skip
    usage = {"input_tokens": 11, "output_tokens": 4, "total_tokens": 15}
    return {"id": "resp_1", "object": "response", "created_at": 1, "status": status,
            "model": "gpt-4.1", "output": output, "usage": usage, "error": None,
            "incomplete_details": None, **fields}  # fmt: skip


def response_events(last: dict, *middle: dict) -> list:
    """A streamed response: created, ``middle``, then the ``last`` event."""
    started = {**response_object("in_progress", text=None), "usage": None}
    events = [{"type": "response.created", "response": started}, *middle, last]
    return [(e["type"], {**e, "sequence_number": n}) for n, e in enumerate(events)]


ITEM = {"type": "message", "id": "msg_1", "status": "in_progress", "role": "assistant",
        "content": []}  # fmt: skip
WHERE = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
TEXT_STREAMED = [
    {"type": "response.output_item.added", "output_index": 0, "item": ITEM},
    {"type": "response.content_part.added", **WHERE,
     "part": {"type": "output_text", "text": "", "annotations": []}},
    {"type": "response.output_text.delta", **WHERE, "delta": "Partial answer", "logprobs": []},
]  # fmt: skip


def test_streamed_response_incomplete_gives_its_reason(client, telemetry, server):
    details = {"reason": "content_filter"}
    final = response_object("incomplete", incomplete_details=details)
    server.responder = lambda api, body: Reply(
        events=response_events({"type": "response.incomplete", "response": final}, *TEXT_STREAMED)
    )

    with client.responses.stream(model="gpt-4.1", input="Tell me") as stream:
        last = list(stream)[-1]

    span = telemetry.only_llm_span()
    assert last.response.status == "incomplete"
    assert span.attributes["gen_ai.response.finish_reasons"] == ("content_filter",)
    assert span.attributes["gen_ai.usage.output_tokens"] == 4
    assert "ai.capture.stream_abandoned" not in span.attributes
    assert telemetry.interactions[0].output_text == "Partial answer"


@pytest.mark.parametrize("output", [[], None])
def test_streamed_response_failed_gives_the_error_code(output, client, telemetry, server):
    # Like the SDK, the streamed text stands for an output the final event leaves out.
    error = {"code": "server_error", "message": "The model failed."}
    final = {**response_object("failed", text=None, error=error), "output": output}
    server.responder = lambda api, body: Reply(
        events=response_events({"type": "response.failed", "response": final}, *TEXT_STREAMED)
    )

    with client.responses.stream(model="gpt-4.1", input="Tell me") as stream:
        kinds = [event.type for event in stream]

    span = telemetry.only_llm_span()
    assert kinds[-1] == "response.failed"
    assert span.attributes["error.type"] == "server_error"
    assert span.attributes["gen_ai.response.finish_reasons"] == ("error",)
    assert span.status.status_code is StatusCode.ERROR
    assert "ai.capture.stream_abandoned" not in span.attributes
    assert telemetry.interactions[0].output_text == ("" if output == [] else "Partial answer")


def test_failed_response_body_gives_the_error_code(client, telemetry, server):
    error = {"code": "rate_limit_exceeded", "message": "Slow down."}
    body = response_object("failed", text=None, error=error)
    server.responder = lambda api, request: Reply(body=body)

    response = client.responses.create(model="gpt-4.1", input="Tell me")

    span = telemetry.only_llm_span()
    assert response.status == "failed"
    assert span.attributes["error.type"] == "rate_limit_exceeded"


def test_error_event_in_a_responses_stream_gives_its_code(client, telemetry, server):
    error = {"type": "error", "code": "ERR_SERVER", "message": "boom", "param": None}
    events = response_events(error, *TEXT_STREAMED)
    server.responder = lambda api, body: Reply(events=events)

    with client.responses.stream(model="gpt-4.1", input="Tell me") as stream:
        kinds = [event.type for event in stream]

    span = telemetry.only_llm_span()
    assert kinds[-1] == "error"
    assert span.attributes["error.type"] == "ERR_SERVER"
    assert "ai.capture.stream_abandoned" not in span.attributes


def test_legacy_completion_is_a_text_completion_span(client, telemetry, server):
    server.responder = lambda api, body: Reply(text=" Paris.", finish_reason="length")

    result = client.completions.create(
        model="gpt-3.5-turbo-instruct", prompt="The capital of France is", max_tokens=3, n=1
    )

    span = telemetry.only_llm_span()
    assert result.choices[0].text == " Paris."
    assert span.name == "text_completion gpt-3.5-turbo-instruct"
    assert span.attributes["gen_ai.operation.name"] == "text_completion"
    assert span.attributes["gen_ai.request.max_tokens"] == 3
    assert span.attributes["gen_ai.request.stream"] is False
    assert "gen_ai.request.choice.count" not in span.attributes
    assert span.attributes["gen_ai.response.id"] == result.id
    assert span.attributes["gen_ai.response.finish_reasons"] == ("length",)
    assert span.attributes["gen_ai.usage.input_tokens"] == result.usage.prompt_tokens
    assert "truncated" in span.attributes["ai.quality.flags"]
    (interaction,) = telemetry.interactions
    assert interaction.last_user_text == "The capital of France is"
    assert interaction.output_text == " Paris."


async def test_streamed_legacy_completion(async_client, telemetry, server):
    server.responder = lambda api, body: Reply(text="one two three", include_usage=True)

    stream = await async_client.completions.create(
        model="gpt-3.5-turbo-instruct",
        prompt=["Count to three:"],
        stream=True,
        stream_options={"include_usage": True},
    )
    text = "".join([c.choices[0].text async for c in stream if c.choices])

    span = telemetry.only_llm_span()
    assert text == "one two three"
    assert span.attributes["gen_ai.request.stream"] is True
    assert span.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert span.attributes["gen_ai.usage.output_tokens"] == 3
    assert span.attributes["gen_ai.response.time_to_first_chunk"] > 0
    assert telemetry.interactions[0].output_text == text
