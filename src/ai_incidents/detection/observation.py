"""What detection reads from a finished span: an ``Observation`` of one LLM call."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from ai_incidents import semconv
from ai_incidents.incidents.model import SpanRef


@dataclasses.dataclass(frozen=True)
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

    @classmethod
    def from_span(
        cls, attributes: Mapping[str, Any], span: SpanRef, latency_s: float, default_feature: str
    ) -> Observation:
        requested = str(attributes.get(semconv.GEN_AI_REQUEST_MODEL) or "unknown")
        return cls(
            span=span,
            feature=str(attributes.get(semconv.AI_FEATURE_NAME) or default_feature),
            model=str(attributes.get(semconv.GEN_AI_RESPONSE_MODEL) or requested),
            requested_model=requested,
            response_id=attributes.get(semconv.GEN_AI_RESPONSE_ID),
            quality_score=_number(attributes.get(semconv.AI_QUALITY_SCORE)),
            quality_flags=tuple(attributes.get(semconv.AI_QUALITY_FLAGS) or ()),
            safety_score=_number(attributes.get(semconv.AI_SAFETY_SCORE)),
            safety_categories=tuple(attributes.get(semconv.AI_SAFETY_CATEGORIES) or ()),
            retrieval_relevance=_number(attributes.get(semconv.AI_RETRIEVAL_RELEVANCE)),
            retrieval_flags=tuple(attributes.get(semconv.AI_RETRIEVAL_FLAGS) or ()),
            latency_s=latency_s,
            time_to_first_chunk_s=_number(
                attributes.get(semconv.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK)
            ),
            input_tokens=attributes.get(semconv.GEN_AI_USAGE_INPUT_TOKENS),
            output_tokens=attributes.get(semconv.GEN_AI_USAGE_OUTPUT_TOKENS),
            error=semconv.ERROR_TYPE in attributes,
        )


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
