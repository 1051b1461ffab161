"""Parsers never raise: malformed, truncated, non-UTF-8 and oversized input."""

from __future__ import annotations

import itertools
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from ai_incidents.capture.interaction import Interaction
from ai_incidents.capture.sse import SSEDecoder
from ai_incidents.capture.wire import WIRE_FORMATS

WIRES = sorted(WIRE_FORMATS)
KEYS = [
    "id",
    "model",
    "choices",
    "delta",
    "content",
    "text",
    "type",
    "usage",
    "messages",
    "message",
    "output",
    "status",
    "input",
    "error",
    "response",
    "stop_reason",
    "role",
    "finish_reason",
    "prompt_tokens",
    "input_tokens",
    "data",
    "embedding",
    "system",
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS), children, max_size=6)
    ),
    max_leaves=20,
)


def new_interaction() -> Interaction:
    return Interaction(operation="chat", provider="p", wire_format="w", feature="f")


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


@given(st.binary(max_size=2000), st.lists(st.integers(min_value=0), max_size=10))
def test_sse_decoder_takes_any_bytes_cut_anywhere(data, cuts):
    decoder = SSEDecoder(max_event_bytes=256)
    for chunk in split(data, cuts):
        for event, payload in decoder.feed(chunk):
            assert event is None or isinstance(event, str)
            assert isinstance(payload, str)
            assert len(payload.encode()) <= 256 * 3


@given(st.lists(st.text(max_size=50), min_size=1, max_size=8), st.lists(st.integers(), max_size=8))
def test_sse_decoder_events_do_not_depend_on_where_chunks_are_cut(datas, cuts):
    stream = "".join(f"event: e\r\ndata: {d.replace(chr(10), ' ').replace(chr(13), ' ')}\r\n\r\n"
                     for d in datas).encode()  # fmt: skip
    whole = list(SSEDecoder().feed(stream))
    decoder = SSEDecoder()
    pieces = [event for chunk in split(stream, cuts) for event in decoder.feed(chunk)]
    assert pieces == whole


def test_oversized_event_is_dropped_and_counted():
    decoder = SSEDecoder(max_event_bytes=10)
    events = list(decoder.feed(b"data: " + b"x" * 50 + b"\n\ndata: ok\n\n"))
    assert events == [(None, "ok")]
    assert decoder.dropped_bytes >= 50


@settings(max_examples=300)
@given(st.sampled_from(WIRES), json_values, json_values)
def test_wire_formats_take_any_json(wire_name, request_body, response_body):
    wire = WIRE_FORMATS[wire_name]
    interaction = new_interaction()
    if isinstance(request_body, dict) and wire.accepts(request_body):
        wire.parse_request(request_body, interaction)
    if isinstance(response_body, dict):
        wire.parse_response(response_body, interaction)
    json.dumps([m.content for m in interaction.output_messages])


@settings(max_examples=300)
@given(
    st.sampled_from([w for w in WIRES if w != "openai.embeddings"]),
    st.lists(st.tuples(st.none() | st.text(max_size=20), json_values | st.text()), max_size=10),
)
def test_stream_accumulators_take_any_events(wire_name, events):
    accumulator = WIRE_FORMATS[wire_name].stream_accumulator(new_interaction(), max_chars=100)
    for event, data in events:
        accumulator.on_event(event, data)
    accumulator.finish()
    assert len(accumulator.interaction.output_text) <= 100 + len(
        accumulator.interaction.output_messages
    )


def test_empty_chunk_between_cr_and_lf_keeps_one_line_end():
    decoder = SSEDecoder()
    events = [*decoder.feed(b"data: a\r"), *decoder.feed(b""), *decoder.feed(b"\ndata: b\r\n\r\n")]
    assert events == [(None, "a\nb")]


def test_an_over_long_line_split_across_chunks_drops_its_whole_event():
    decoder = SSEDecoder(max_event_bytes=16)
    chunks = [b"data: " + b"x" * 40, b"x" * 10 + b"\ndata: more\n", b"\ndata: ok\n\n"]
    events = [event for chunk in chunks for event in decoder.feed(chunk)]
    assert events == [(None, "ok")]
    assert decoder.dropped_bytes >= 56


def test_one_leading_byte_order_mark_is_skipped_wherever_the_chunks_are_cut():
    stream = b"\xef\xbb\xbfdata: a\n\n\xef\xbb\xbfdata: b\n\n"
    for cut in range(len(stream) + 1):
        decoder = SSEDecoder()
        events = [*decoder.feed(stream[:cut]), *decoder.feed(stream[cut:])]
        assert events == [(None, "a")], cut
