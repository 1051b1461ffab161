"""A local HTTP server that speaks the OpenAI and Anthropic wire formats.

Real HTTP/1.1 on loopback (keep-alive, chunked server-sent events), so that the real ``openai``
and ``anthropic`` SDKs and raw httpx clients can be pointed at it. What it answers is a
``Reply`` chosen by a responder function the test or demo sets; by default it answers the
last user message politely.

    with ProviderServer() as server:
        client = openai.OpenAI(base_url=server.openai_base_url, api_key="test")
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import time
import zlib
from collections.abc import Callable, Iterator
from typing import Any

from ai_incidents.testing._loopback import LoopbackServer, QuietHandler

_ids = itertools.count(1)


@dataclasses.dataclass
class Reply:
    """What the server answers to one request."""

    text: str = "Hello! How can I help you today?"
    model: str | None = None
    """Response model; defaults to the requested model."""
    finish_reason: str = "stop"
    input_tokens: int = 12
    output_tokens: int | None = None
    status: int = 200
    error_type: str = "server_error"
    chunks: int | None = None
    """Number of content chunks when streaming; defaults to one per word."""
    chunk_delay_s: float = 0.0
    malformed: bool = False
    """Send a body (or events) that is not valid JSON."""
    cut_stream_after: int | None = None
    """Drop the connection after this many content chunks."""
    include_usage: bool | None = None
    """Send usage in a streamed chat completion; defaults to ``stream_options.include_usage``."""
    gzip: bool = False
    stream_encoding: str | None = None
    """A ``content-encoding`` for a stream: ``gzip`` compresses each event (sync-flushed);
    any other value is sent as the header with the events left as they are."""
    response_id: str | None = None
    """Fixed response id; by default each response gets a fresh one."""
    body: Any = None
    """Sent instead of the body made from the other fields, with ``status``: JSON-encoded, or
    as they are if bytes."""
    events: list[Any] | None = None
    """Sent as the stream instead of the events made from the other fields: a mapping as its
    ``data:`` line, an ``(event, mapping)`` pair with an ``event:`` line too, bytes as they are."""
    headers: dict[str, str | None] = dataclasses.field(default_factory=dict)
    """Response headers to add or replace; ``None`` leaves a header out (``content-type``)."""


Responder = Callable[[str, dict[str, Any]], Reply]


def echo_responder(api: str, body: dict[str, Any]) -> Reply:
    """The default: a short, relevant answer to the last user message."""
    question = _last_user_text(api, body)
    return Reply(text=f"Here is what I found about your question: {question[:200]}")


class ProviderServer(LoopbackServer):
    """The server, on a free loopback port, in a background thread."""

    def __init__(
        self, responder: Responder = echo_responder, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        super().__init__(_Handler, host, port)
        self.responder = responder
        self.requests: list[tuple[str, dict[str, Any]]] = []

    @property
    def openai_base_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        return self.url


class _Handler(QuietHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            self._send_json(400, {"error": {"type": "invalid_request_error", "message": "bad"}})
            return
        api = _api_for(self.path)
        if api is None:
            self._send_json(404, {"error": {"type": "not_found", "message": self.path}})
            return
        provider: ProviderServer = self.server.owner
        provider.requests.append((api, body))
        reply = provider.responder(api, body)
        model = reply.model or body.get("model") or _deployment(self.path) or "local-model"
        if reply.body is not None:
            self._send_json(reply.status, reply.body, reply)
        elif reply.status >= 400:
            self._send_json(reply.status, _error_body(api, reply))
        elif reply.events is not None:
            self._send_stream(map(_event, reply.events), reply)
        elif api == "embeddings":
            self._send_json(200, _embeddings_body(body, model), reply)
        elif body.get("stream"):
            self._send_stream(_stream_events(api, body, reply, model), reply)
        else:
            self._send_json(200, _completion_body(api, body, reply, model), reply)

    def _send_json(self, status: int, payload: Any, reply: Reply | None = None) -> None:
        if reply and reply.malformed:
            data = b'{"id": "broken'
        else:
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers: dict[str, str | None] = {"content-type": "application/json"}
        if reply is not None and reply.gzip:
            encoder = _Encoder("gzip")
            data = encoder.encode(data) + encoder.finish()
            headers["content-encoding"] = "gzip"
        self.send_response(status)
        self._send_headers({**headers, **(reply.headers if reply else {})})
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_headers(self, headers: dict[str, str | None]) -> None:
        for name, value in headers.items():
            if value is not None:
                self.send_header(name, value)

    def _send_stream(self, events: Iterator[bytes], reply: Reply) -> None:
        self.send_response(200)
        encoder = _Encoder(reply.stream_encoding)
        self._send_headers(
            {
                "content-type": "text/event-stream; charset=utf-8",
                "cache-control": "no-cache",
                "transfer-encoding": "chunked",
                "content-encoding": reply.stream_encoding,
                **reply.headers,
            }
        )
        self.end_headers()
        for index, event in enumerate(events):
            if reply.cut_stream_after is not None and index > reply.cut_stream_after:
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if reply.chunk_delay_s and index:
                time.sleep(reply.chunk_delay_s)
            self._write_chunk(encoder.encode(event))
        ending = encoder.finish()
        if ending:
            self._write_chunk(ending)
        self._write_chunk(b"")

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()


class _Encoder:
    """A ``content-encoding`` applied piece by piece, each piece flushed so that it can be
    decoded on arrival: ``gzip``, ``br`` (with ``brotli``), ``zstd`` (with ``zstandard``); any
    other name leaves the bytes as they are (only the header claims it)."""

    def __init__(self, encoding: str | None) -> None:
        self._encode: Callable[[bytes], bytes] = lambda data: data
        self._finish: Callable[[], bytes] = bytes
        if encoding == "gzip":
            gzip = zlib.compressobj(wbits=zlib.MAX_WBITS | 16)
            self._encode = lambda data: gzip.compress(data) + gzip.flush(zlib.Z_SYNC_FLUSH)
            self._finish = gzip.flush
        elif encoding == "br":
            import brotli

            br = brotli.Compressor()
            self._encode = lambda data: br.process(data) + br.flush()
            self._finish = br.finish
        elif encoding == "zstd":
            import zstandard

            zstd = zstandard.ZstdCompressor().compressobj()
            block = zstandard.COMPRESSOBJ_FLUSH_BLOCK
            self._encode = lambda data: zstd.compress(data) + zstd.flush(block)
            self._finish = zstd.flush

    def encode(self, data: bytes) -> bytes:
        return self._encode(data)

    def finish(self) -> bytes:
        return self._finish()


def _api_for(path: str) -> str | None:
    path = path.split("?", 1)[0].rstrip("/")
    for suffix, api in (
        ("/chat/completions", "chat"),
        ("/completions", "completions"),
        ("/responses", "responses"),
        ("/embeddings", "embeddings"),
        ("/v1/messages", "messages"),
    ):
        if path.endswith(suffix):
            return api
    return None


def _deployment(path: str) -> str | None:
    parts = path.split("/")
    if "deployments" in parts:
        index = parts.index("deployments")
        return parts[index + 1] if index + 1 < len(parts) else None
    return None


def _last_user_text(api: str, body: dict[str, Any]) -> str:
    if api == "completions":
        prompt = body.get("prompt")
        return prompt if isinstance(prompt, str) else " ".join(prompt or ())
    if api == "responses":
        items = body.get("input")
        if isinstance(items, str):
            return items
        messages = [i for i in items or () if isinstance(i, dict)]
    else:
        messages = body.get("messages") or []
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def _pieces(reply: Reply) -> list[str]:
    words = reply.text.split(" ")
    count = max(1, min(reply.chunks or len(words), len(reply.text) or 1))
    if reply.chunks is None:
        return [w if i == 0 else " " + w for i, w in enumerate(words)]
    size = -(-len(reply.text) // count) or 1
    pieces = [reply.text[i : i + size] for i in range(0, len(reply.text), size)]
    return pieces + [""] * (count - len(pieces))


def _output_tokens(reply: Reply) -> int:
    return reply.output_tokens if reply.output_tokens is not None else len(reply.text.split())


def _anthropic_reason(reason: str) -> str:
    return {"stop": "end_turn", "length": "max_tokens"}.get(reason, reason)


def _completion_body(api: str, body: dict[str, Any], reply: Reply, model: str) -> dict[str, Any]:
    rid = reply.response_id or next(_ids)
    usage_out = _output_tokens(reply)
    if api in ("chat", "completions"):
        chat = api == "chat"
        if chat:
            answer: dict[str, Any] = {"message": {"role": "assistant", "content": reply.text}}
        else:
            answer = {"text": reply.text, "logprobs": None}
        return {
            "id": f"{'chatcmpl' if chat else 'cmpl'}-{rid}",
            "object": "chat.completion" if chat else "text_completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, **answer, "finish_reason": reply.finish_reason}],
            "usage": {
                "prompt_tokens": reply.input_tokens,
                "completion_tokens": usage_out,
                "total_tokens": reply.input_tokens + usage_out,
            },
        }
    if api == "responses":
        return _response_object(rid, model, reply, usage_out)
    return {
        "id": f"msg_{rid}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": reply.text}],
        "stop_reason": _anthropic_reason(reply.finish_reason),
        "stop_sequence": None,
        "usage": {"input_tokens": reply.input_tokens, "output_tokens": usage_out},
    }


def _response_object(rid: int | str, model: str, reply: Reply, usage_out: int) -> dict[str, Any]:
    incomplete = reply.finish_reason == "length"
    return {
        "id": f"resp_{rid}",
        "object": "response",
        "created_at": int(time.time()),
        "status": "incomplete" if incomplete else "completed",
        "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
        "model": model,
        "output": [
            {
                "type": "message",
                "id": f"msg_{rid}",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": reply.text, "annotations": []}],
            }
        ],
        "usage": {
            "input_tokens": reply.input_tokens,
            "output_tokens": usage_out,
            "total_tokens": reply.input_tokens + usage_out,
        },
    }


def _embeddings_body(body: dict[str, Any], model: str) -> dict[str, Any]:
    inputs = body.get("input")
    inputs = inputs if isinstance(inputs, list) else [inputs]
    dimensions = int(body.get("dimensions") or 8)
    return {
        "object": "list",
        "data": [
            {"object": "embedding", "index": i, "embedding": [0.1] * dimensions}
            for i in range(len(inputs))
        ],
        "model": model,
        "usage": {"prompt_tokens": 3 * len(inputs), "total_tokens": 3 * len(inputs)},
    }


def _error_body(api: str, reply: Reply) -> dict[str, Any]:
    error = {"type": reply.error_type, "message": f"simulated {reply.error_type}"}
    return {"type": "error", "error": error} if api == "messages" else {"error": error}


def _event(item: Any) -> bytes:
    """One item of ``Reply.events`` as it goes on the wire."""
    if isinstance(item, bytes):
        return item
    if isinstance(item, tuple):
        return _sse(item[1], item[0])
    return _sse(item)


def _sse(data: Any, event: str | None = None, malformed: bool = False) -> bytes:
    text = "{not json" if malformed else json.dumps(data)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {text}\n\n".encode()


def _stream_events(api: str, body: dict[str, Any], reply: Reply, model: str) -> Iterator[bytes]:
    rid = reply.response_id or next(_ids)
    pieces = _pieces(reply)
    out = _output_tokens(reply)
    bad = reply.malformed
    if api in ("chat", "completions"):
        chat = api == "chat"
        kind = "chat.completion.chunk" if chat else "text_completion"
        base = {"id": f"{'chatcmpl' if chat else 'cmpl'}-{rid}", "object": kind, "model": model}
        if chat:
            yield _sse({**base, "choices": [{"index": 0, "delta": {"role": "assistant"}}]})
        for piece in pieces:
            part = {"delta": {"content": piece}} if chat else {"text": piece, "logprobs": None}
            choice = {"index": 0, **part, "finish_reason": None}
            yield _sse({**base, "choices": [choice]}, malformed=bad)
        ending = {"delta": {}} if chat else {"text": "", "logprobs": None}
        end = {"index": 0, **ending, "finish_reason": reply.finish_reason}
        yield _sse({**base, "choices": [end]})
        options = body.get("stream_options") or {}
        include = reply.include_usage
        if include is None:
            include = bool(options.get("include_usage"))
        if include:
            usage = {"prompt_tokens": reply.input_tokens, "completion_tokens": out}
            usage["total_tokens"] = reply.input_tokens + out
            yield _sse({**base, "choices": [], "usage": usage})
        yield b"data: [DONE]\n\n"
    elif api == "responses":
        yield from _responses_events(rid, model, reply, out, pieces)
    else:
        message = {
            "id": f"msg_{rid}",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "usage": {"input_tokens": reply.input_tokens, "output_tokens": 1},
        }
        yield _sse({"type": "message_start", "message": message}, "message_start")
        block = {"type": "content_block_start", "index": 0}
        yield _sse({**block, "content_block": {"type": "text", "text": ""}}, block["type"])
        for piece in pieces:
            delta = {"type": "content_block_delta", "index": 0}
            delta["delta"] = {"type": "text_delta", "text": piece}
            yield _sse(delta, "content_block_delta", malformed=bad)
        yield _sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
        stop = {"stop_reason": _anthropic_reason(reply.finish_reason), "stop_sequence": None}
        message_delta = {"type": "message_delta", "delta": stop, "usage": {"output_tokens": out}}
        yield _sse(message_delta, "message_delta")
        yield _sse({"type": "message_stop"}, "message_stop")


def _responses_events(
    rid: int | str, model: str, reply: Reply, out: int, pieces: list[str]
) -> Iterator[bytes]:
    final = _response_object(rid, model, reply, out)
    item = final["output"][0]
    seq = itertools.count()

    def event(kind: str, malformed: bool = False, **fields: Any) -> bytes:
        return _sse({"type": kind, "sequence_number": next(seq), **fields}, kind, malformed)

    started = {**final, "status": "in_progress", "output": [], "usage": None}
    yield event("response.created", response=started)
    yield event(
        "response.output_item.added",
        output_index=0,
        item={**item, "status": "in_progress", "content": []},
    )
    where = {"item_id": item["id"], "output_index": 0, "content_index": 0}
    empty_part = {"type": "output_text", "text": "", "annotations": []}
    yield event("response.content_part.added", **where, part=empty_part)
    for piece in pieces:
        yield event(
            "response.output_text.delta", reply.malformed, **where, delta=piece, logprobs=[]
        )
    yield event("response.output_text.done", **where, text=reply.text, logprobs=[])
    yield event("response.content_part.done", **where, part=item["content"][0])
    yield event("response.output_item.done", output_index=0, item=item)
    kind = "response.incomplete" if final["status"] == "incomplete" else "response.completed"
    yield event(kind, response=final)
