"""LLM-as-judge: an evaluator that asks any OpenAI-compatible endpoint to grade an answer.

It is slow (a network call), so it runs in the ``SlowEvaluationRunner``, never on the
request path. Its own HTTP call is made with instrumentation suppressed: the judge is not
captured, evaluated or judged in turn.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from opentelemetry.instrumentation.utils import suppress_instrumentation

from ai_incidents.capture.interaction import Interaction
from ai_incidents.evaluation.base import EvaluationResult

DEFAULT_RUBRIC = (
    "Grade the assistant's answer to the user's question. A good answer is correct, "
    "relevant, complete and, when documents are given, supported by them. Score 1 for an "
    "excellent answer and 0 for a wrong, harmful or unsupported one."
)
_INSTRUCTIONS = (
    'Reply with JSON only: {"score": <number 0..1>, "label": "<one word>", '
    '"explanation": "<one sentence>"}.'
)
_MAX_CONTEXT_CHARS = 4000


class JudgeError(Exception):
    """The judge endpoint failed or answered something that is not a grade."""


class LLMJudgeEvaluator:
    """Quality graded by a model behind an OpenAI-compatible ``/chat/completions`` URL."""

    aspect = "quality"
    cost = "slow"
    reads = ("input", "output", "retrieval")

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        rubric: str = DEFAULT_RUBRIC,
        timeout_s: float = 30.0,
        name: str = "llm_judge",
    ) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.api_key = api_key
        self.rubric = rubric
        self.timeout_s = timeout_s
        self.name = name

    def evaluate(self, interaction: Interaction) -> EvaluationResult | None:
        if not interaction.output_text or interaction.error_type:
            return None
        grade = self._ask(self._messages(interaction))
        score = grade.get("score")
        if isinstance(score, bool) or not isinstance(score, (int, float)):
            raise JudgeError(f"the judge's score is not a number: {score!r}")
        score = min(1.0, max(0.0, float(score)))
        label = grade.get("label") if isinstance(grade.get("label"), str) else None
        explanation = grade.get("explanation")
        return EvaluationResult(
            self.name,
            "quality",
            score,
            label or ("pass" if score >= 0.5 else "fail"),
            "judge_low_score" if score < 0.5 else None,
            explanation if isinstance(explanation, str) else "",
        )

    def _messages(self, interaction: Interaction) -> list[dict[str, str]]:
        parts = [f"Question:\n{interaction.last_user_text}", f"Answer:\n{interaction.output_text}"]
        if interaction.retrieval is not None and interaction.retrieval.documents:
            documents = "\n---\n".join(d.text for d in interaction.retrieval.documents)
            parts.append(f"Documents:\n{documents[:_MAX_CONTEXT_CHARS]}")
        return [
            {"role": "system", "content": f"{self.rubric}\n{_INSTRUCTIONS}"},
            {"role": "user", "content": "\n\n".join(parts)},
        ]

    def _ask(self, messages: list[dict[str, str]]) -> dict[str, Any]:
        body = json.dumps(
            {
                "model": self.model,
                "messages": messages,
                "temperature": 0,
                "response_format": {"type": "json_object"},
            }
        ).encode()
        headers = {"content-type": "application/json"}
        if self.api_key:
            headers["authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with (
                suppress_instrumentation(),
                urllib.request.urlopen(request, timeout=self.timeout_s) as response,
            ):
                payload = json.load(response)
        except (urllib.error.URLError, TimeoutError, ValueError) as error:
            raise JudgeError(f"judge request failed: {error}") from error
        try:
            content = payload["choices"][0]["message"]["content"]
            grade = json.loads(content.strip().removeprefix("```json").strip("`"))
        except (KeyError, IndexError, TypeError, ValueError) as error:
            raise JudgeError("the judge did not answer with a JSON grade") from error
        if not isinstance(grade, dict):
            raise JudgeError("the judge did not answer with a JSON object")
        return grade
