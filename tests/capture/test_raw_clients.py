"""Raw httpx and httpx2 clients, sync and async: odd bodies, broken streams, abandoned streams."""

from __future__ import annotations

import gc
import json

import httpx
import httpx2
import pytest
from opentelemetry.instrumentation.utils import suppress_instrumentation

from ai_incidents import endpoints
from ai_incidents.testing import Reply
from tests.conftest import wait_for

MODULES = [httpx, httpx2]
CHAT = {"model": "llama-3", "messages": [{"role": "user", "content": "hello"}]}


def chat_body(stream: bool = False, **extra) -> dict:
    return {**CHAT, "stream": stream, **extra}


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_sync_client_non_streaming_chat(module, server, telemetry):
    with module.Client(base_url=server.url) as client:
        response = client.post("/v1/chat/completions", json=chat_body())

    span = telemetry.only_llm_span()
    assert response.json()["choices"][0]["message"]["content"].startswith("Here is")
    assert span.name == "chat llama-3"
    assert span.attributes["gen_ai.response.id"] == response.json()["id"]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
async def test_async_client_streaming_chat(module, server, telemetry):
    server.responder = lambda api, body: Reply(text="streamed words here", include_usage=True)
    async with module.AsyncClient(base_url=server.url) as client:
        async with client.stream("POST", "/v1/chat/completions", json=chat_body(True)) as response:
            raw = b"".join([chunk async for chunk in response.aiter_raw()])

    span = telemetry.only_llm_span()
    assert b"data: [DONE]" in raw
    assert span.attributes["gen_ai.usage.output_tokens"] == 3
    assert span.attributes["ai.capture.chunks"] >= 1
    assert telemetry.interactions[0].output_text == "streamed words here"


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_app_receives_the_same_bytes_with_and_without_capture(module, server, telemetry):
    server.responder = lambda api, body: Reply(text="same bytes", response_id="fixed", chunks=7)
    with module.Client(base_url=server.url) as client:
        with client.stream("POST", "/v1/chat/completions", json=chat_body(True)) as response:
            captured = list(response.iter_raw())
        with suppress_instrumentation():
            with client.stream("POST", "/v1/chat/completions", json=chat_body(True)) as response:
                plain = list(response.iter_raw())

    assert b"".join(captured) == b"".join(plain)
    assert len(telemetry.llm_spans()) == 1


def test_gzip_response_is_decoded_for_capture_not_for_the_app(server, telemetry):
    server.responder = lambda api, body: Reply(text="compressed answer", gzip=True)
    with httpx.Client(base_url=server.url) as client:
        with client.stream("POST", "/v1/chat/completions", json=chat_body()) as response:
            raw = b"".join(response.iter_raw())
            assert response.headers["content-encoding"] == "gzip"

    assert raw[:2] == b"\x1f\x8b"
    assert telemetry.interactions[0].output_text == "compressed answer"


def test_stream_closed_early_ends_span_as_abandoned_with_what_was_seen(server, telemetry):
    server.responder = lambda api, body: Reply(text="w1 w2 w3 w4 w5 w6 w7 w8")
    with httpx.Client(base_url=server.url) as client:
        with client.stream("POST", "/v1/chat/completions", json=chat_body(True)) as response:
            lines = response.iter_lines()
            seen = [next(lines) for _ in range(6)]

    span = telemetry.only_llm_span()
    assert seen[0].startswith("data: ")
    assert span.attributes["ai.capture.stream_abandoned"] is True
    assert telemetry.interactions[0].output_text.startswith("w1")


def test_stream_dropped_without_close_ends_span_when_collected(server, telemetry):
    with httpx.Client(base_url=server.url) as client:
        response = client.send(
            client.build_request("POST", "/v1/chat/completions", json=chat_body(True)),
            stream=True,
        )
        next(response.iter_raw())
        assert telemetry.llm_spans() == []
        response.stream = None
        del response
        gc.collect()

        (span,) = wait_for(telemetry.llm_spans)
    assert span.attributes["ai.capture.stream_abandoned"] is True


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_connection_cut_mid_stream_reaches_app_unchanged_and_marks_span(module, server, telemetry):
    server.responder = lambda api, body: Reply(text="a b c d e f", cut_stream_after=3)
    with module.Client(base_url=server.url) as client:
        with pytest.raises(module.RemoteProtocolError):
            with client.stream("POST", "/v1/chat/completions", json=chat_body(True)) as response:
                for _ in response.iter_raw():
                    pass

    span = telemetry.only_llm_span()
    assert span.attributes["error.type"] == "RemoteProtocolError"
    assert telemetry.interactions[0].output_text.startswith("a")


def test_malformed_json_body_is_a_capture_error_not_an_app_error(server, telemetry):
    server.responder = lambda api, body: Reply(malformed=True)
    with httpx.Client(base_url=server.url) as client:
        response = client.post("/v1/chat/completions", json=chat_body())

    span = telemetry.only_llm_span()
    assert response.content == b'{"id": "broken'
    assert span.attributes["ai.capture.error"] == "malformed_response_body"
    assert telemetry.metric_points("ai_incidents.capture.errors")


def test_malformed_stream_events_are_skipped(server, telemetry):
    server.responder = lambda api, body: Reply(text="x y z", malformed=True)
    with httpx.Client(base_url=server.url) as client:
        with client.stream("POST", "/v1/chat/completions", json=chat_body(True)) as response:
            body = response.read()

    span = telemetry.only_llm_span()
    assert b"{not json" in body
    assert span.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert "ai.capture.stream_abandoned" not in span.attributes


def test_response_over_the_size_limit_is_counted_not_kept(server, telemetry):
    from ai_incidents import configure

    configure(capture_max_body_bytes=64)
    server.responder = lambda api, body: Reply(text="long " * 100)
    with httpx.Client(base_url=server.url) as client:
        response = client.post("/v1/chat/completions", json={"model": "m", "messages": []})

    span = telemetry.only_llm_span()
    assert len(response.content) > 500
    assert span.attributes["ai.capture.error"] == "response_body_too_large"
    assert span.attributes["ai.capture.dropped_bytes"] == len(response.content) - 64


def test_stream_past_the_size_limit_is_counted_not_parsed(server, telemetry):
    from ai_incidents import configure

    configure(capture_max_body_bytes=2000)
    server.responder = lambda api, body: Reply(text="word " * 400, include_usage=True)
    with httpx.Client(base_url=server.url) as client:
        with client.stream("POST", "/v1/chat/completions", json=chat_body(True)) as response:
            raw = response.read()

    span = telemetry.only_llm_span()
    text = telemetry.interactions[0].output_text
    assert span.attributes["ai.capture.dropped_bytes"] == len(raw) - 2000
    assert span.attributes["ai.capture.error"] == "response_body_too_large"
    assert "gen_ai.usage.output_tokens" not in span.attributes  # sent last, past the limit
    assert "ai.capture.stream_abandoned" not in span.attributes
    assert 0 < len(text) < 2000
    assert ("word " * 400).startswith(text)


def test_requests_that_are_not_llm_calls_are_left_alone(server, telemetry):
    with httpx.Client(base_url=server.url) as client:
        client.post("/v1/chat/completions", content=b"not json")
        client.post("/v1/chat/completions", json={"unrelated": True})
        client.get("/v1/models")
        client.post("/v1/files", json={"purpose": "x"})

    assert telemetry.llm_spans() == []


def test_azure_deployment_url_gives_model_from_deployment(server, telemetry):
    with httpx.Client(base_url=server.url) as client:
        client.post(
            "/openai/deployments/gpt4o-prod/chat/completions",
            params={"api-version": "2024-10-21"},
            json={"messages": [{"role": "user", "content": "hi"}]},
        )

    span = telemetry.only_llm_span()
    assert span.name == "chat gpt4o-prod"
    assert span.attributes["gen_ai.request.model"] == "gpt4o-prod"


def test_user_registered_endpoint_is_captured(server, telemetry):
    rule = endpoints.register("/api/generate-chat", "openai.chat_completions", provider="inhouse")
    try:
        with httpx.Client(base_url=server.url) as client:
            client.post("/api/generate-chat", json=chat_body())
    finally:
        endpoints.clear()

    span = telemetry.only_llm_span()
    assert rule.provider == "inhouse"
    assert span.attributes["gen_ai.provider.name"] == "inhouse"
    assert span.attributes["error.type"] == "not_found"


def test_register_rejects_unknown_wire_format():
    with pytest.raises(ValueError, match="unknown wire format"):
        endpoints.register("/x", "grpc.llm")


def test_request_body_over_limit_still_gives_a_span(server, telemetry):
    from ai_incidents import configure

    configure(capture_max_body_bytes=32)
    with httpx.Client(base_url=server.url) as client:
        client.post("/v1/chat/completions", content=json.dumps(chat_body()).encode())

    span = telemetry.only_llm_span()
    assert span.attributes["ai.capture.error"] == "request_body_too_large"


def test_httpx_instrumentation_nests_http_span_under_ours(server, telemetry):
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    HTTPXClientInstrumentor().instrument(tracer_provider=telemetry.tracer_provider)
    try:
        with httpx.Client(base_url=server.url) as client:
            client.post("/v1/chat/completions", json=chat_body())
    finally:
        HTTPXClientInstrumentor().uninstrument()

    ours = telemetry.only_llm_span()
    http_spans = [s for s in telemetry.span_exporter.get_finished_spans() if s.name == "POST"]
    assert len(http_spans) == 1
    assert http_spans[0].parent.span_id == ours.context.span_id


def test_event_stream_read_inside_send_is_parsed_as_events(server, telemetry):
    server.responder = lambda api, body: Reply(text="read at once", include_usage=True)
    with httpx.Client(base_url=server.url) as client:
        response = client.post("/v1/chat/completions", json=chat_body(True))

    span = telemetry.only_llm_span()
    assert response.headers["content-type"].startswith("text/event-stream")
    assert span.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert span.attributes["gen_ai.usage.output_tokens"] == 3
    assert "ai.capture.error" not in span.attributes
    assert telemetry.interactions[0].output_text == "read at once"


def test_unread_error_response_is_not_an_abandoned_stream(server, telemetry):
    server.responder = lambda api, body: Reply(status=500, error_type="server_error")
    with httpx.Client(base_url=server.url) as client:
        with client.stream("POST", "/v1/chat/completions", json=chat_body(True)) as response:
            assert response.status_code == 500

    span = telemetry.only_llm_span()
    assert span.attributes["error.type"] == "500"
    assert "ai.capture.stream_abandoned" not in span.attributes


@pytest.mark.parametrize("encoding", ["gzip", "x-unknown"])
def test_fully_read_stream_is_judged_only_when_capture_could_read_it(encoding, server, telemetry):
    server.responder = lambda api, body: Reply(text="a fine answer", stream_encoding=encoding)
    with httpx.Client(base_url=server.url) as client:
        with client.stream("POST", "/v1/chat/completions", json=chat_body(True)) as response:
            response.read()

    span = telemetry.only_llm_span()
    assert "ai.capture.stream_abandoned" not in span.attributes
    if encoding == "gzip":
        assert telemetry.interactions[0].output_text == "a fine answer"
        assert span.attributes["ai.quality.score"] > 0.5
    else:
        assert span.attributes["ai.capture.error"] == "unsupported_content_encoding"
        assert telemetry.interactions[0].response_unread
        assert "ai.quality.score" not in span.attributes
        assert "ai.quality.flags" not in span.attributes


def test_unparseable_body_is_unknown_not_a_bad_answer(server, telemetry):
    server.responder = lambda api, body: Reply(malformed=True)
    with httpx.Client(base_url=server.url) as client:
        client.post("/v1/chat/completions", json=chat_body())

    span = telemetry.only_llm_span()
    assert span.attributes["ai.capture.error"] == "malformed_response_body"
    assert "ai.quality.score" not in span.attributes


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_time_to_first_chunk_is_only_for_streamed_responses(module, server, telemetry):
    with module.Client(base_url=server.url) as client:
        with client.stream("POST", "/v1/chat/completions", json=chat_body()) as response:
            response.read()

    span = telemetry.only_llm_span()
    assert span.attributes["gen_ai.request.stream"] is False
    assert "gen_ai.response.time_to_first_chunk" not in span.attributes


@pytest.mark.parametrize("stream", [True, False])
def test_body_without_content_type_is_told_by_the_request_and_its_first_bytes(
    stream, server, telemetry
):
    server.responder = lambda api, body: Reply(text="plain", headers={"content-type": None})
    with httpx2.Client(base_url=server.url) as client:
        with client.stream("POST", "/v1/chat/completions", json=chat_body(stream)) as response:
            response.read()

    span = telemetry.only_llm_span()
    assert "content-type" not in response.headers
    assert span.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert ("gen_ai.response.time_to_first_chunk" in span.attributes) is stream
    assert telemetry.interactions[0].output_text == "plain"


def test_json_error_body_to_a_stream_request_is_read_as_json(server, telemetry):
    server.responder = lambda api, body: Reply(
        status=400,
        body={"error": {"type": "invalid_request_error", "message": "bad"}},
        headers={"content-type": "text/event-stream"},
    )
    with httpx.Client(base_url=server.url) as client:
        with client.stream("POST", "/v1/chat/completions", json=chat_body(True)) as response:
            response.read()

    assert telemetry.only_llm_span().attributes["error.type"] == "invalid_request_error"


@pytest.mark.parametrize("cut", [1, 3, 4])
async def test_byte_order_mark_before_the_first_event_is_skipped(cut, server, telemetry):
    def chunk(**fields) -> bytes:
        return b"data: " + json.dumps({"id": "chatcmpl-bom", "model": "m", **fields}).encode()

    first = b"\xef\xbb\xbf" + chunk(choices=[{"index": 0, "delta": {"content": "after "}}])
    server.responder = lambda api, body: Reply(
        events=[
            first[:cut],
            first[cut:] + b"\n\n",
            chunk(choices=[{"index": 0, "delta": {"content": "a BOM"}}]) + b"\n\n",
            b"data: [DONE]\n\n",
        ]
    )
    async with httpx2.AsyncClient(base_url=server.url) as client:
        async with client.stream("POST", "/v1/chat/completions", json=chat_body(True)) as response:
            await response.aread()

    assert telemetry.interactions[0].output_text == "after a BOM"


DEEP = b"[" * 100_000 + b"]" * 100_000


def test_deeply_nested_json_is_malformed_not_a_failure_of_capture(server, telemetry, caplog):
    server.responder = lambda api, body: Reply(body=b'{"id": "deep", "choices": ' + DEEP + b"}")
    with httpx.Client(base_url=server.url) as client:
        response = client.post("/v1/chat/completions", json=chat_body())
        client.post("/v1/chat/completions", content=b'{"messages": ' + DEEP + b"}")

    span = telemetry.only_llm_span()
    assert response.content.endswith(b"]]}")
    assert span.attributes["ai.capture.error"] == "malformed_response_body"
    assert telemetry.metric_points("gen_ai.client.operation.duration")
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_deeply_nested_event_is_skipped_and_the_stream_read_on(server, telemetry):
    def chunk(content: str) -> dict:
        return {"id": "c1", "model": "m", "choices": [{"index": 0, "delta": {"content": content}}]}

    events = [chunk("before "), b"data: " + DEEP + b"\n\n", chunk("after"), b"data: [DONE]\n\n"]
    server.responder = lambda api, body: Reply(events=events)
    with httpx.Client(base_url=server.url) as client:
        with client.stream("POST", "/v1/chat/completions", json=chat_body(True)) as response:
            response.read()

    span = telemetry.only_llm_span()
    assert "ai.capture.error" not in span.attributes
    assert telemetry.interactions[0].output_text == "before after"


def test_attributes_from_the_body_are_exportable_over_otlp(server, telemetry, caplog):
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    huge = 2**70
    completion = {
        "id": "chatcmpl-\udfff",
        "model": "gpt-\ud800",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"},
                     "finish_reason": "stop\ud800"}],
        "usage": {"prompt_tokens": huge, "completion_tokens": 5},
    }  # fmt: skip
    failure = {"error": {"type": "rate_\udc00limit", "message": "slow down"}}
    replies = iter([Reply(body=completion), Reply(status=429, body=failure)])
    server.responder = lambda api, body: next(replies)
    request = b'{"model": "m\\ud800", "max_tokens": %d, "messages": []}' % huge
    with httpx.Client(base_url=server.url) as client:
        client.post("/v1/chat/completions", content=request)
        client.post("/v1/chat/completions", json=chat_body())

    ok, failed = telemetry.llm_spans()
    encoded = encode_spans([ok, failed]).SerializeToString()
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    assert b"gpt-\\ud800" in encoded
    assert ok.name == "chat m\\ud800"
    assert ok.attributes["gen_ai.response.id"] == "chatcmpl-\\udfff"
    assert ok.attributes["gen_ai.response.finish_reasons"] == ("stop\\ud800",)
    assert ok.attributes["gen_ai.usage.output_tokens"] == 5
    assert "gen_ai.usage.input_tokens" not in ok.attributes
    assert "gen_ai.request.max_tokens" not in ok.attributes
    assert failed.attributes["error.type"] == "rate_\\udc00limit"
    assert telemetry.metric_points("gen_ai.client.token.usage")


SCRIPT_SETUP = """
import gc, os, time
import httpx
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from ai_incidents import AIIncidentsInstrumentor
from ai_incidents.testing import ProviderServer

provider = TracerProvider()
exported = InMemorySpanExporter()
provider.add_span_processor(SimpleSpanProcessor(exported))
provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
AIIncidentsInstrumentor().instrument(tracer_provider=provider)
server = ProviderServer().start()
body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True}

def open_stream(client):
    request = client.build_request("POST", "/v1/chat/completions", json=body)
    response = client.send(request, stream=True)
    next(response.iter_raw())
    return response

def spans_within(count, seconds=10):
    deadline = time.monotonic() + seconds
    while len(exported.get_finished_spans()) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return len(exported.get_finished_spans())
"""


def run_script(code: str):
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run(
        [sys.executable, "-c", SCRIPT_SETUP + code],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_stream_still_open_at_exit_is_exported():
    done = run_script(
        """
response = open_stream(httpx.Client(base_url=server.url))
print("read one chunk", flush=True)
"""
    )

    assert done.returncode == 0, done.stderr
    assert "read one chunk" in done.stdout
    assert '"name": "chat m"' in done.stdout
    assert '"ai.capture.stream_abandoned": true' in done.stdout
    assert done.stderr == ""


def test_stream_dropped_in_a_forked_child_is_finished_there():
    done = run_script(
        """
open_stream(httpx.Client(base_url=server.url)).stream = None
gc.collect()
assert spans_within(1) == 1
pid = os.fork()
if pid == 0:
    open_stream(httpx.Client(base_url=server.url)).stream = None
    gc.collect()
    os._exit(0 if spans_within(2) == 2 else 1)
_, status = os.waitpid(pid, 0)
print("child exit", os.waitstatus_to_exitcode(status), flush=True)
"""
    )

    assert "child exit 0" in done.stdout, done.stderr


@pytest.mark.parametrize("encoding", ["br", "zstd"])
@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_brotli_and_zstd_streams_are_decoded_for_capture(module, encoding, server, telemetry):
    server.responder = lambda api, body: Reply(
        text="a squeezed answer", stream_encoding=encoding, include_usage=True
    )
    with module.Client(base_url=server.url) as client:
        with client.stream("POST", "/v1/chat/completions", json=chat_body(True)) as response:
            raw = b"".join(response.iter_raw())

    span = telemetry.only_llm_span()
    assert response.headers["content-encoding"] == encoding
    assert not raw.startswith(b"data:")
    assert "ai.capture.error" not in span.attributes
    assert span.attributes["gen_ai.usage.output_tokens"] == 3
    assert telemetry.interactions[0].output_text == "a squeezed answer"


def test_brotli_json_body_is_decoded_for_capture(server, telemetry):
    import brotli
    import openai

    answer = {"role": "assistant", "content": "brotli says hi"}
    choice = {"index": 0, "finish_reason": "stop", "message": answer}
    completion = {"id": "c-br", "model": "m", "object": "chat.completion", "choices": [choice]}
    server.responder = lambda api, body: Reply(
        body=brotli.compress(json.dumps(completion).encode()), headers={"content-encoding": "br"}
    )
    with openai.OpenAI(base_url=server.openai_base_url, api_key="t", max_retries=0) as client:
        result = client.chat.completions.create(model="m", messages=CHAT["messages"])

    assert result.choices[0].message.content == "brotli says hi"
    assert telemetry.interactions[0].output_text == "brotli says hi"


def redirect_once(server, location: str) -> None:
    """The server answers the first request with a 307 to ``location``, the next normally."""
    moved = Reply(status=307, body=b"", headers={"location": location, "content-type": None})
    replies = iter([moved])
    server.responder = lambda api, body: next(replies, Reply(text="after the redirect"))


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_after_a_redirect_the_server_is_the_one_that_answered(module, server, telemetry):
    port = int(server.url.rsplit(":", 1)[1])
    redirect_once(server, f"http://localhost:{port}/v1/chat/completions")
    with module.Client(base_url=server.url, follow_redirects=True) as client:
        response = client.post("/v1/chat/completions", json=chat_body())

    span = telemetry.only_llm_span()
    assert [r.status_code for r in response.history] == [307]
    assert span.attributes["server.address"] == "localhost"
    assert span.attributes["server.port"] == port
    assert telemetry.interactions[0].output_text == "after the redirect"
    durations = telemetry.metric_points("gen_ai.client.operation.duration")
    assert any(p.attributes["server.address"] == "localhost" for p in durations)


def test_unfollowed_redirect_is_no_answer_and_no_capture_error(server, telemetry):
    redirect_once(server, "https://elsewhere.example/v1/chat/completions")
    with httpx.Client(base_url=server.url) as client:
        response = client.post("/v1/chat/completions", json=chat_body())

    span = telemetry.only_llm_span()
    assert response.status_code == 307
    assert span.attributes["error.type"] == "307"
    assert "ai.capture.error" not in span.attributes
    assert "ai.quality.score" not in span.attributes
    assert telemetry.interactions[0].response_unread
