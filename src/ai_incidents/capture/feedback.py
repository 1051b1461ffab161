"""User feedback that arrives after the answer: an ``ai.feedback`` span and log event."""

from __future__ import annotations

import collections
import threading

from opentelemetry import trace
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext

from ai_incidents import semconv
from ai_incidents.capture._telemetry import get_telemetry
from ai_incidents.capture.context import current_feature
from ai_incidents.config import get_settings

_MAX_REMEMBERED_RESPONSES = 10_000


class _ResponseIndex:
    """A bounded map from response id to the span and feature of the call that produced it."""

    def __init__(self, capacity: int = _MAX_REMEMBERED_RESPONSES) -> None:
        self.capacity = capacity
        self.evicted = 0
        self._entries: collections.OrderedDict[str, tuple[SpanContext, str]] = (
            collections.OrderedDict()
        )
        self._lock = threading.Lock()

    def remember(self, response_id: str, span_context: SpanContext, feature: str) -> None:
        with self._lock:
            self._entries[response_id] = (span_context, feature)
            self._entries.move_to_end(response_id)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
                self.evicted += 1

    def lookup(self, response_id: str) -> tuple[SpanContext, str] | None:
        with self._lock:
            return self._entries.get(response_id)


responses = _ResponseIndex()


def record_feedback(
    response_id: str | None = None,
    *,
    span_context: SpanContext | None = None,
    thumbs_up: bool | None = None,
    score: float | None = None,
    comment: str | None = None,
    feature: str | None = None,
) -> None:
    """Record a user's verdict on an answer, identified by response id or span context.

    Give ``thumbs_up`` (True/False) or a ``score`` from 0 (bad) to 1 (good). The comment is
    content: it leaves the process only when message content capture is on.
    """
    if response_id is None and span_context is None:
        raise ValueError("feedback needs the response_id or the span_context it is about")
    if thumbs_up is None and score is None:
        raise ValueError("feedback needs thumbs_up or score")
    if score is None:
        score = 1.0 if thumbs_up else 0.0
    if not 0.0 <= float(score) <= 1.0:
        raise ValueError(f"a feedback score is between 0 and 1, not {score!r}")
    label = "positive" if score >= 0.5 else "negative"

    known = responses.lookup(response_id) if response_id else None
    if span_context is None and known is not None:
        span_context = known[0]
    feature = (
        feature or (known[1] if known else None) or current_feature() or get_settings().feature
    )

    attributes: dict[str, str | float] = {
        semconv.AI_FEEDBACK_SCORE: float(score),
        semconv.AI_FEEDBACK_LABEL: label,
    }
    if response_id:
        attributes[semconv.GEN_AI_RESPONSE_ID] = response_id
    if feature:
        attributes[semconv.AI_FEATURE_NAME] = feature
    if comment and get_settings().capture_content.on_span:
        attributes[semconv.AI_FEEDBACK_COMMENT] = comment

    telemetry = get_telemetry()
    links = [Link(span_context)] if span_context is not None and span_context.is_valid else []
    with telemetry.tracer.start_as_current_span(
        semconv.AI_FEEDBACK, kind=trace.SpanKind.INTERNAL, attributes=attributes, links=links
    ):
        pass
    event_context = (
        trace.set_span_in_context(NonRecordingSpan(span_context))
        if span_context is not None and span_context.is_valid
        else None
    )
    telemetry.logger.emit(
        event_name=semconv.AI_FEEDBACK, attributes=attributes, context=event_context
    )
