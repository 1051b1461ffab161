"""What detection reads from a finished span: an ``Observation`` of one LLM call."""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Mapping
from typing import Any

from ai_incidents import semconv
from ai_incidents.incidents.model import SpanRef


@dataclasses.dataclass(slots=True)
class Observation:
    """The attributes of one LLM span that detection uses."""

    span: SpanRef
    feature: str
    model: str
    requested_model: str
    response_id: str | None
    quality_score: float | None
    quality_flags: tuple[str, ...]
    safety_score: float | None
    safety_categories: tuple[str, ...]
    retrieval_relevance: float | None
    retrieval_flags: tuple[str, ...]
    latency_s: float
    time_to_first_chunk_s: float | None
    input_tokens: int | None
    output_tokens: int | None
    error: bool
    user: str | None = None
    """A fingerprint of the end user (else the session) the app named, never the raw id."""

    @classmethod
    def from_span(
        cls, attributes: Mapping[str, Any], span: SpanRef, latency_s: float, default_feature: str
    ) -> Observation:
        requested = clean_name(attributes.get(semconv.GEN_AI_REQUEST_MODEL) or "unknown")
        return cls(
            span=span,
            feature=clean_name(attributes.get(semconv.AI_FEATURE_NAME) or default_feature),
            model=clean_name(attributes.get(semconv.GEN_AI_RESPONSE_MODEL) or requested),
            requested_model=requested,
            response_id=attributes.get(semconv.GEN_AI_RESPONSE_ID),
            quality_score=as_number(attributes.get(semconv.AI_QUALITY_SCORE)),
            quality_flags=_strings(attributes.get(semconv.AI_QUALITY_FLAGS)),
            safety_score=as_number(attributes.get(semconv.AI_SAFETY_SCORE)),
            safety_categories=_strings(attributes.get(semconv.AI_SAFETY_CATEGORIES)),
            retrieval_relevance=as_number(attributes.get(semconv.AI_RETRIEVAL_RELEVANCE)),
            retrieval_flags=_strings(attributes.get(semconv.AI_RETRIEVAL_FLAGS)),
            latency_s=max(latency_s, 0.0),
            time_to_first_chunk_s=as_number(
                attributes.get(semconv.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK)
            ),
            input_tokens=as_count(attributes.get(semconv.GEN_AI_USAGE_INPUT_TOKENS)),
            output_tokens=as_count(attributes.get(semconv.GEN_AI_USAGE_OUTPUT_TOKENS)),
            error=semconv.ERROR_TYPE in attributes,
            user=fingerprint(
                attributes.get(semconv.ENDUSER_ID)
                or attributes.get(semconv.USER_ID)
                or attributes.get(semconv.SESSION_ID)
            ),
        )


def fingerprint(identifier: Any) -> str | None:
    """A short stable pseudonym of a user or session id (the same in every process)."""
    if not isinstance(identifier, str) or not identifier:
        return None
    digest = hashlib.blake2b(identifier.encode("utf-8", "replace"), digest_size=8,
                             person=b"ai-incidents")  # fmt: skip
    return "u-" + digest.hexdigest()


_MAX_NAME_CHARS = 256


def clean_name(value: Any) -> str:
    """A name from the app or a provider as detection keeps it: text that UTF-8 and SQLite
    carry (no lone surrogates, no control characters), at most 256 characters."""
    text = str(value)[:_MAX_NAME_CHARS]
    if text.isprintable():
        return text
    text = text.encode("utf-8", "replace").decode("utf-8")
    return "".join(c if c.isprintable() else "\ufffd" for c in text)


def as_number(value: Any) -> float | None:
    """A finite number, else None (attributes come from any instrumentation)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def as_count(value: Any) -> int | None:
    number = as_number(value)
    return int(number) if number is not None and number >= 0 else None


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,) if value else ()
    if isinstance(value, (list, tuple)):
        return tuple(v for v in value if isinstance(v, str) and v)
    return ()
