"""Retrieval checks: empty, irrelevant, stale or duplicate documents. Scores: 1 is good."""

from __future__ import annotations

import time

from ai_incidents.capture.interaction import Interaction
from ai_incidents.evaluation.base import EvaluationResult
from ai_incidents.evaluation.text import content_words, overlap

_DEFAULT_MAX_AGE_S = 180 * 86400.0


class _RetrievalEvaluator:
    aspect = "retrieval"
    cost = "fast"
    name = "retrieval"

    def _result(self, score: float, flag: str | None, explanation: str) -> EvaluationResult:
        return EvaluationResult(self.name, "retrieval", score, flag or "ok", flag, explanation)


class EmptyRetrievalEvaluator(_RetrievalEvaluator):
    name = "retrieval_empty"

    def evaluate(self, interaction: Interaction) -> EvaluationResult | None:
        if interaction.retrieval is None:
            return None
        if interaction.retrieval.documents:
            return self._result(1.0, None, "")
        return self._result(0.0, "empty", "the retrieval returned no documents")


class RetrievalRelevanceEvaluator(_RetrievalEvaluator):
    """Best lexical match of a document to the query (and the reported top score, if any)."""

    name = "retrieval_relevance"
    threshold = 0.3

    def evaluate(self, interaction: Interaction) -> EvaluationResult | None:
        retrieval = interaction.retrieval
        if retrieval is None or not retrieval.documents:
            return None
        query = content_words(retrieval.query or interaction.last_user_text)
        if not query:
            return None
        relevances = [overlap(query, content_words(d.text)) for d in retrieval.documents]
        score = max(relevances)
        flag = "low_relevance" if score < self.threshold else None
        return self._result(score, flag, f"best document covers {score:.0%} of the query")


class StalenessEvaluator(_RetrievalEvaluator):
    name = "retrieval_staleness"

    def __init__(self, max_age_s: float = _DEFAULT_MAX_AGE_S) -> None:
        self.max_age_s = max_age_s

    def evaluate(self, interaction: Interaction) -> EvaluationResult | None:
        retrieval = interaction.retrieval
        if retrieval is None:
            return None
        age = retrieval.max_age_s(time.time())
        if age is None:
            return None
        if age > self.max_age_s:
            days = age / 86400
            return self._result(0.0, "stale", f"oldest document is {days:.0f} days old")
        return self._result(1.0 - age / self.max_age_s, None, "")


class DuplicateDocumentsEvaluator(_RetrievalEvaluator):
    name = "retrieval_duplicates"

    def evaluate(self, interaction: Interaction) -> EvaluationResult | None:
        retrieval = interaction.retrieval
        if retrieval is None or len(retrieval.documents) < 2:
            return None
        keys = [d.id or " ".join(d.text.split()).lower() for d in retrieval.documents]
        duplicates = len(keys) - len(set(keys))
        if duplicates:
            score = 1.0 - duplicates / len(keys)
            return self._result(score, "duplicate", f"{duplicates} duplicate documents")
        return self._result(1.0, None, "")
