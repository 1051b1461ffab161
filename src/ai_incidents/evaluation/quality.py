"""Quality heuristics on the answer: empty, truncated, refusal, repetition, groundedness,
relevance, invalid JSON, language mismatch. Scores: 1 is good."""

from __future__ import annotations

import json
import re

from ai_incidents import semconv
from ai_incidents.capture.interaction import Interaction
from ai_incidents.evaluation.base import EvaluationResult, threshold
from ai_incidents.evaluation.text import (
    content_words,
    document_words,
    lowercase,
    ngrams,
    sentence_content_words,
    stemmed_overlap,
    word_set,
    words,
)

_ANSWERS = frozenset({semconv.OPERATION_CHAT, semconv.OPERATION_TEXT_COMPLETION})
"""Operations whose response is an answer, which can be empty or cut short."""
_TRUNCATION_REASONS = frozenset({"length", "max_tokens", "max_output_tokens"})
# Matched against lower-cased text: an IGNORECASE pattern is three times slower.
_REFUSAL = re.compile(
    r"\b(?:i(?:'m| am) (?:sorry|afraid|unable|not able)|i can(?:no|')t (?:help|assist|do|provide"
    r"|answer|comply)|i (?:won't|will not) (?:be able|help|provide)|as an ai(?: language model)?"
    r"|i must decline|i'm not allowed|unable to (?:help|assist|comply)"
    r"|es tut mir leid|ich kann (?:dir|ihnen)? ?(?:dabei )?nicht helfen|das kann ich nicht)\b"
)
# Every refusal the pattern knows contains one of these words.
_REFUSAL_WORDS = frozenset({"i", "ai", "unable", "leid", "kann"})
_REFUSAL_SPAN = 400
_UMLAUT = re.compile("[äöüß]")
_GERMAN = frozenset(
    """der die das und ist nicht ich sie wir mit für auf ein eine auch sich""".split()
)
_ENGLISH = frozenset("""the and is are not you with for this that have was what can""".split())
# One letter per function word, "d" German or "e" English: votes are counted in one string.
_FUNCTION_WORD_LANGUAGE = dict.fromkeys(_GERMAN, "d") | dict.fromkeys(_ENGLISH, "e")


def _result(name: str, score: float, flag: str | None, explanation: str) -> EvaluationResult:
    return EvaluationResult(name, "quality", score, flag or "ok", flag, explanation)


class EmptyAnswerEvaluator:
    name, aspect, cost = "empty_answer", "quality", "fast"
    reads = ("output",)

    def evaluate(self, interaction: Interaction) -> EvaluationResult | None:
        if interaction.operation not in _ANSWERS or interaction.error_type:
            return None
        if interaction.output_text.strip():
            return _result(self.name, 1.0, None, "")
        return _result(self.name, 0.0, "empty", "the answer has no text")


class TruncationEvaluator:
    name, aspect, cost = "truncation", "quality", "fast"
    reads = ("output", "metadata")

    def evaluate(self, interaction: Interaction) -> EvaluationResult | None:
        if interaction.operation not in _ANSWERS or interaction.error_type:
            return None
        reasons = set(interaction.finish_reasons)
        if reasons & _TRUNCATION_REASONS or interaction.stream_abandoned:
            why = "stream abandoned" if interaction.stream_abandoned else "token limit reached"
            return _result(self.name, 0.0, "truncated", why)
        return _result(self.name, 1.0, None, "")


class RefusalEvaluator:
    name, aspect, cost = "refusal", "quality", "fast"
    reads = ("output",)

    def evaluate(self, interaction: Interaction) -> EvaluationResult | None:
        text = interaction.output_text
        if not text:
            return None
        if not _REFUSAL_WORDS.isdisjoint(word_set(text)) and _REFUSAL.search(
            lowercase(text), 0, _REFUSAL_SPAN
        ):
            return _result(self.name, 0.0, "refusal", "the answer declines the request")
        return _result(self.name, 1.0, None, "")


class RepetitionEvaluator:
    """Degenerate repetition: the share of repeated word 4-grams in the answer."""

    name, aspect, cost = "repetition", "quality", "fast"
    reads = ("output",)
    threshold = 0.3
    """Share of repeated 4-grams above which the answer is flagged."""

    def evaluate(self, interaction: Interaction) -> EvaluationResult | None:
        tokens = words(interaction.output_text)
        if len(tokens) < 20:
            return None
        repeated = 1.0 - len(ngrams(tokens, 4)) / (len(tokens) - 3)
        score = max(0.0, 1.0 - 2.0 * repeated)
        flag = "repetitive" if repeated > threshold(self.name, self.threshold) else None
        return _result(self.name, score, flag, f"{repeated:.0%} of 4-grams repeat")


class GroundednessEvaluator:
    """Share of the answer's sentences whose content words mostly appear in the documents."""

    name, aspect, cost = "groundedness", "quality", "fast"
    reads = ("output", "retrieval")
    threshold = 0.5

    def evaluate(self, interaction: Interaction) -> EvaluationResult | None:
        retrieval, answer = interaction.retrieval, interaction.output_text
        if retrieval is None or not retrieval.documents or not answer:
            return None
        claims = sentence_content_words(answer)
        if not claims:
            return None
        missing = content_words(answer)
        for document in retrieval.documents:
            missing = missing.difference(document_words(document.text))
            if not missing:
                break
        supported = sum(2 * len(claim & missing) <= len(claim) for claim in claims)
        score = supported / len(claims)
        flag = "ungrounded" if score < threshold(self.name, self.threshold) else None
        return _result(self.name, score, flag, f"{supported} of {len(claims)} claims supported")


# How much of a longer text two checks read: relevance the end of the question (a prompt
# that carries pasted or retrieved text usually ends with it), the language guess the
# start of each text. Either would otherwise tokenize all of it (about 13 ms for 400 KB).
_READ_CHARS = 4096


class RelevanceEvaluator:
    """How much of the question's content the answer addresses (lexical overlap)."""

    name, aspect, cost = "answer_relevance", "quality", "fast"
    reads = ("input", "output")
    threshold = 0.2

    def evaluate(self, interaction: Interaction) -> EvaluationResult | None:
        question = content_words(interaction.last_user_text[-_READ_CHARS:])
        answer = content_words(interaction.output_text)
        if len(question) < 2 or not answer:
            return None
        score = min(1.0, 2.0 * stemmed_overlap(question, answer))
        flag = "irrelevant" if score < threshold(self.name, self.threshold) else None
        return _result(self.name, score, flag, f"{score:.2f} of the question addressed")


class JSONValidityEvaluator:
    name, aspect, cost = "json_validity", "quality", "fast"
    reads = ("output", "metadata")

    def evaluate(self, interaction: Interaction) -> EvaluationResult | None:
        asked = interaction.request_params.get(semconv.GEN_AI_OUTPUT_TYPE) == "json"
        if not asked or not interaction.output_text:
            return None
        text = interaction.output_text.strip()
        if text.startswith("```"):
            text = text.strip("`").removeprefix("json").strip()
        try:
            json.loads(text)
        except ValueError as error:
            return _result(self.name, 0.0, "invalid_json", f"not JSON: {error.msg}")
        return _result(self.name, 1.0, None, "")


_LANGUAGE_SAMPLE_WORDS = 120


def guess_language(text: str) -> str | None:
    """``en``, ``de`` or None (too little text to tell), from common function words (and
    for German, umlauts) among the first hundred or so words."""
    sample = words(text[:_READ_CHARS])[:_LANGUAGE_SAMPLE_WORDS]
    votes = "".join(filter(None, map(_FUNCTION_WORD_LANGUAGE.get, sample)))
    german, english = votes.count("d"), votes.count("e")
    if not text.isascii():
        german += len(_UMLAUT.findall(" ".join(sample)))
    if german + english < 3:
        return None
    return "de" if german > english else "en"


class LanguageMismatchEvaluator:
    name, aspect, cost = "language_match", "quality", "fast"
    reads = ("input", "output")

    def evaluate(self, interaction: Interaction) -> EvaluationResult | None:
        asked = guess_language(interaction.last_user_text)
        answered = guess_language(interaction.output_text)
        if asked is None or answered is None:
            return None
        if asked != answered:
            return _result(
                self.name, 0.0, "language_mismatch", f"asked in {asked}, answered in {answered}"
            )
        return _result(self.name, 1.0, None, "")
