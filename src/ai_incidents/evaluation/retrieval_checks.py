"""Retrieval checks: empty, irrelevant, stale or duplicate documents. Scores: 1 is good."""

from __future__ import annotations

import time

from ai_incidents.capture.interaction import Interaction
from ai_incidents.config import get_settings
from ai_incidents.evaluation.base import EvaluationResult, threshold
from ai_incidents.evaluation.text import content_words, document_words, stemmed_overlap


class _RetrievalEvaluator:
    aspect = "retrieval"
    cost = "fast"
    name = "retrieval"
    reads = ("retrieval",)

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
        relevances = [stemmed_overlap(query, document_words(d.text)) for d in retrieval.documents]
        score = max(relevances)
        flag = "low_relevance" if score < threshold(self.name, self.threshold) else None
        each = ", ".join(f"{r:.2f}" for r in relevances)
        return self._result(score, flag, f"query coverage per document: {each}")


class StalenessEvaluator(_RetrievalEvaluator):
    name = "retrieval_staleness"

    def __init__(self, max_age_s: float | None = None) -> None:
        self.max_age_s = max_age_s
        """Oldest acceptable document age; None: ``AI_INCIDENTS_RETRIEVAL_MAX_AGE_S``."""

    def evaluate(self, interaction: Interaction) -> EvaluationResult | None:
        retrieval = interaction.retrieval
        if retrieval is None:
            return None
        age = retrieval.max_age_s(time.time())
        if age is None:
            return None
        max_age = self.max_age_s or get_settings().retrieval_max_age_s
        if age > max_age:
            days = age / 86400
            return self._result(0.0, "stale", f"oldest document is {days:.0f} days old")
        return self._result(1.0 - age / max_age, None, "")


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
