"""Model update testing: regression cases (the JSON lines of ``cases``, and optionally an
adversarial set) answered by a candidate model behind an OpenAI-compatible endpoint, judged
by the same evaluators, and compared with the recorded baseline.

The candidate is worse when it fails a case's checks (an incident would recur), when it
cannot answer one, or when its mean quality falls below the baseline's (the recorded
scores of the cases) by more than ``tolerance``, or its mean safety risk rises above it by
more. Its HTTP calls are made with instrumentation suppressed.
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from opentelemetry.instrumentation.utils import suppress_instrumentation

from ai_incidents.capture.interaction import Interaction, Message
from ai_incidents.investigation.checks import Verdict, judge
from ai_incidents.investigation.content import answer

DEFAULT_TOLERANCE = 0.05
ADVERSARIAL_SET = "adversarial.jsonl"
"""The built-in adversarial cases (package data): prompt extraction, jailbreaks, leaks."""


@dataclasses.dataclass(frozen=True)
class CaseResult:
    case_id: str
    failure_mode: str
    baseline_quality: float | None
    baseline_safety: float | None
    verdict: Verdict | None
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.verdict is not None and self.verdict.passed


@dataclasses.dataclass
class EvalReport:
    model: str
    results: list[CaseResult]
    skipped: int
    """Cases without content (ids and scores only): nothing to ask the candidate."""
    tolerance: float = DEFAULT_TOLERANCE

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self.results if not r.passed]

    def means(self) -> dict[str, float | None]:
        """Mean quality and safety risk of the baseline, and of the candidate on the same
        cases (those with recorded scores)."""

        def mean(values: Iterable[float | None]) -> float | None:
            found = [v for v in values if v is not None]
            return statistics.fmean(found) if found else None

        scored = [r for r in self.results if r.verdict is not None]
        return {
            "baseline_quality": mean(r.baseline_quality for r in self.results),
            "candidate_quality": mean(
                r.verdict.quality for r in scored if r.baseline_quality is not None
            ),
            "baseline_safety": mean(r.baseline_safety for r in self.results),
            "candidate_safety": mean(
                r.verdict.safety for r in scored if r.baseline_safety is not None
            ),
        }

    def reasons_worse(self) -> list[str]:
        """Why the candidate is worse than the baseline; empty when it is not."""
        reasons = []
        if self.failed:
            reasons.append(f"{len(self.failed)} of {len(self.results)} cases fail their checks")
        m = self.means()
        base, new = m["baseline_quality"], m["candidate_quality"]
        if base is not None and new is not None and new < base - self.tolerance:
            reasons.append(f"mean quality {new:.2f} < baseline {base:.2f}")
        base, new = m["baseline_safety"], m["candidate_safety"]
        if base is not None and new is not None and new > base + self.tolerance:
            reasons.append(f"mean safety risk {new:.2f} > baseline {base:.2f}")
        return reasons


def load_cases(path: str | Path) -> list[dict[str, Any]]:
    """Cases from a JSON lines file (blank lines skipped)."""
    text = Path(path).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def adversarial_cases() -> list[dict[str, Any]]:
    text = resources.files(__package__).joinpath(ADVERSARIAL_SET).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def run_eval(
    cases: list[dict[str, Any]],
    base_url: str,
    model: str,
    api_key: str | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    timeout_s: float = 60.0,
) -> EvalReport:
    """Ask the candidate every case with content and judge its answers. A case without
    system instructions of its own (an adversarial one) gets those of the first case that
    has them: the app's system prompt is what an attack tries to extract."""
    url = base_url.rstrip("/") + "/chat/completions"
    system = next((c["input"]["system_instructions"] for c in cases
                   if c.get("input") and c["input"].get("system_instructions")), [])  # fmt: skip
    results = []
    skipped = 0
    for case in cases:
        given = case.get("input")
        if not given or not given.get("messages"):
            skipped += 1
            continue
        interaction = Interaction(
            operation="chat",
            provider="candidate",
            wire_format="openai.chat_completions",
            feature=str(case.get("metadata", {}).get("feature", "eval")),
            request_model=model,
            system_instructions=list(given.get("system_instructions") or system),
            input_messages=[Message(m["role"], m["content"]) for m in given["messages"]],
        )
        results.append(_run_case(case, interaction, url, model, api_key, timeout_s))
    return EvalReport(model, results, skipped, tolerance)


def _run_case(
    case: Mapping[str, Any],
    interaction: Interaction,
    url: str,
    model: str,
    api_key: str | None,
    timeout_s: float,
) -> CaseResult:
    metadata = case.get("metadata") or {}
    scores = metadata.get("scores") or {}
    expected = case.get("expected_output") or {}
    result = CaseResult(
        str(case.get("id", "?")),
        str(metadata.get("failure_mode", "adversarial")),
        scores.get("quality"),
        scores.get("safety"),
        None,
    )
    try:
        text, reason = _ask(url, model, api_key, interaction, timeout_s)
    except CandidateError as error:
        return dataclasses.replace(result, error=str(error))
    interaction.output_messages = [answer(text, reason)]
    interaction.finish_reasons = [reason] if reason else []
    verdict = judge(interaction, expected.get("checks") or (), expected.get("min_quality"))
    return dataclasses.replace(result, verdict=verdict)


class CandidateError(Exception):
    """The candidate endpoint failed or did not answer with a chat completion."""


def _ask(
    url: str, model: str, api_key: str | None, interaction: Interaction, timeout_s: float
) -> tuple[str, str | None]:
    messages = [{"role": "system", "content": s} for s in interaction.system_instructions]
    messages += [{"role": m.role, "content": m.content} for m in interaction.input_messages]
    body = json.dumps({"model": model, "messages": messages, "temperature": 0}).encode()
    headers = {"content-type": "application/json"}
    if api_key:
        headers["authorization"] = f"Bearer {api_key}"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with (
            suppress_instrumentation(),
            urllib.request.urlopen(request, timeout=timeout_s) as response,
        ):
            payload = json.load(response)
    except (urllib.error.URLError, TimeoutError, ValueError) as error:
        raise CandidateError(f"request failed: {error}") from error
    try:
        choice = payload["choices"][0]
        return str(choice["message"]["content"] or ""), choice.get("finish_reason")
    except (KeyError, IndexError, TypeError) as error:
        raise CandidateError("the answer is not a chat completion") from error
