"""Indirect prompt injection: instructions addressed to the model inside retrieved documents
and tool results.

Each document (``Interaction.retrieval.documents``) and each tool message of the request is
read in windows of ``WINDOW`` characters that overlap by ``OVERLAP``, at most
``MAX_WINDOWS`` of them (the first and last halves of that many of a longer document: where
an injected instruction is usually put, and a bound on the cost of one document). Each window
gets the injection rules and both models of ``injection.py`` (the document model with its own
threshold); a document's risk is that of its
riskiest window. Results are cached by text, since documents recur across calls.
The result names the document (its id, else its position) and the window, never its text.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

from ai_incidents.capture.interaction import Interaction
from ai_incidents.evaluation.base import EvaluationResult
from ai_incidents.evaluation.injection import Risk, injection_risk

WINDOW = 1024
OVERLAP = 128
MAX_WINDOWS = 8
TOOL_ROLES = frozenset({"tool", "function", "ipython"})
_CACHE_SIZE = 64


def windows(text: str) -> list[tuple[int, str]]:
    """``(start, window)`` for the windows of ``text`` that are read."""
    step = WINDOW - OVERLAP
    starts = list(range(0, max(len(text) - OVERLAP, 1), step))
    if len(starts) > MAX_WINDOWS:
        half = MAX_WINDOWS // 2
        last = len(text) - WINDOW
        starts = starts[:half] + [last - step * i for i in reversed(range(half))]
    return [(start, text[start : start + WINDOW]) for start in starts]


@functools.lru_cache(maxsize=_CACHE_SIZE)
def document_risk(text: str) -> tuple[Risk, int]:
    """The risk of the riskiest window of ``text``, and where that window starts."""
    best, at = Risk(0.0, None, ""), 0
    for start, window in windows(text):
        risk = injection_risk(window, document=True)
        if (risk.flag is not None, risk.score) > (best.flag is not None, best.score):
            best, at = risk, start
    return best, at


def _documents(interaction: Interaction) -> Iterator[tuple[str, str]]:
    """``(name, text)`` of every retrieved document and tool result of the request."""
    if interaction.retrieval is not None:
        for index, document in enumerate(interaction.retrieval.documents):
            if document.text:
                yield (
                    (f"document {document.id}" if document.id else f"document #{index}"),
                    (document.text),
                )
    for index, message in enumerate(interaction.input_messages):
        if message.role in TOOL_ROLES and message.content:
            yield f"tool message #{index}", message.content


class IndirectInjectionEvaluator:
    """Instructions to the model in retrieved documents and tool results."""

    name = "indirect_prompt_injection"
    reads = ("retrieval", "input")
    aspect = "safety"
    cost = "fast"

    def evaluate(self, interaction: Interaction) -> EvaluationResult | None:
        worst: tuple[Risk, int, str] | None = None
        flagged = []
        for name, text in _documents(interaction):
            risk, at = document_risk(text)
            if risk.flag is not None:
                flagged.append(name)
            if worst is None or (risk.flag is not None, risk.score) > (
                worst[0].flag is not None,
                worst[0].score,
            ):
                worst = (risk, at, name)
        if worst is None:
            return None
        risk, at, name = worst
        if not flagged:
            return EvaluationResult(self.name, "safety", risk.score, "clean", None, "")
        explanation = f"{name} (characters from {at:,}): {risk.explanation}"
        others = [other for other in flagged if other != name]
        if others:
            explanation += f"; also {', '.join(others)}"
        return EvaluationResult(
            self.name,
            "safety",
            risk.score,
            "indirect_prompt_injection",
            "indirect_prompt_injection",
            explanation,
        )
