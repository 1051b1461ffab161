"""Spans from JSON files: OTLP JSON lines as the collector's file exporter writes them (one
``{"resourceSpans": ...}`` object per line; ids in hex, or base64 as protobuf's json_format
writes them) and the Python SDK's span JSON (``ConsoleSpanExporter``, ``span.to_json()``)."""

from __future__ import annotations

import base64
import datetime
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, BinaryIO

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import Link, SpanContext, TraceFlags

_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_NO_RESOURCE = Resource({})
"""Every span read shares it (detection reads span attributes only)."""


def read_spans(
    lines: BinaryIO | Iterable[bytes], progress: Callable[[int], None] | None = None
) -> Iterator[ReadableSpan]:
    """Every span of the file, in file order; ``progress`` is told the bytes read."""
    for document in _documents(lines, progress):
        if "resourceSpans" in document:
            yield from _otlp_spans(document)
        elif "context" in document and "name" in document:
            try:
                yield _sdk_span(document)
            except (KeyError, TypeError, ValueError):
                continue


def _documents(
    lines: Iterable[bytes], progress: Callable[[int], None] | None
) -> Iterator[dict[str, Any]]:
    """JSON objects one per line, or spread over lines (the SDK's indented JSON)."""
    pending: list[bytes] = []
    for line in lines:
        if progress is not None:
            progress(len(line))
        if not pending:
            stripped = line.strip()
            if not stripped:
                continue
            try:
                yield json.loads(stripped)
                continue
            except ValueError:
                pending.append(line)
                continue
        pending.append(line)
        if line.rstrip() == b"}":
            try:
                yield json.loads(b"".join(pending))
            except ValueError:
                continue
            pending.clear()


def _otlp_spans(document: Mapping[str, Any]) -> Iterator[ReadableSpan]:
    for resource_spans in document.get("resourceSpans") or ():
        for scope_spans in resource_spans.get("scopeSpans") or ():
            for span in scope_spans.get("spans") or ():
                try:
                    yield _otlp_span(span)
                except (KeyError, TypeError, ValueError):
                    continue


def _otlp_span(span: Mapping[str, Any]) -> ReadableSpan:
    trace_id = _id(span["traceId"], 16)
    return ReadableSpan(
        name=span.get("name", ""),
        context=SpanContext(trace_id, _id(span["spanId"], 8), False, _SAMPLED),
        attributes=_otlp_attributes(span.get("attributes")),
        links=[
            Link(SpanContext(_id(link["traceId"], 16), _id(link["spanId"], 8), False, _SAMPLED))
            for link in span.get("links") or ()
        ],
        start_time=int(span.get("startTimeUnixNano") or 0),
        end_time=int(span.get("endTimeUnixNano") or 0),
        resource=_NO_RESOURCE,
    )


def _otlp_attributes(items: Iterable[Mapping[str, Any]] | None) -> dict[str, Any]:
    attributes = {}
    for item in items or ():
        value = _any_value(item.get("value") or {})
        if value is not None:
            attributes[item["key"]] = value
    return attributes


def _any_value(value: Mapping[str, Any]) -> Any:
    if "stringValue" in value:
        return value["stringValue"]
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "intValue" in value:
        return int(value["intValue"])
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "arrayValue" in value:
        found = [_any_value(v) for v in value["arrayValue"].get("values") or ()]
        return tuple(v for v in found if v is not None)
    return None


def with_attributes(span: ReadableSpan, attributes: Mapping[str, Any]) -> ReadableSpan:
    """A copy of a span read here, with other attributes."""
    return ReadableSpan(
        name=span.name,
        context=span.context,
        attributes=dict(attributes),
        links=span.links,
        start_time=span.start_time,
        end_time=span.end_time,
        resource=_NO_RESOURCE,
    )


def _id(text: str, size: int) -> int:
    """A trace or span id from hex (OTLP JSON) or base64 (protobuf's json_format)."""
    if len(text) == 2 * size:
        return int(text, 16)
    return int.from_bytes(base64.b64decode(text), "big")


def _sdk_span(document: Mapping[str, Any]) -> ReadableSpan:
    context = document["context"]
    return ReadableSpan(
        name=document["name"],
        context=SpanContext(
            int(context["trace_id"], 16), int(context["span_id"], 16), False, _SAMPLED
        ),
        attributes={
            k: tuple(v) if isinstance(v, list) else v
            for k, v in (document.get("attributes") or {}).items()
        },
        links=[
            Link(
                SpanContext(
                    int(link["context"]["trace_id"], 16),
                    int(link["context"]["span_id"], 16),
                    False,
                    _SAMPLED,
                )
            )
            for link in document.get("links") or ()
        ],
        start_time=_nanos(document.get("start_time")),
        end_time=_nanos(document.get("end_time")),
        resource=_NO_RESOURCE,
    )


def _nanos(text: str | None) -> int:
    if not text:
        return 0
    moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return int(moment.timestamp() * 1e9)
