"""An incident's affected interactions as regression cases: its example spans and the
recorded calls of its feature that show its failure, from the flight recorder.

With content (the app exported it) a case holds the question, the recorded bad answer and
its checks (the evaluators that flagged that answer); without, only ids and scores. Two
formats: JSON lines in a neutral schema (``input``, ``expected_output``, ``metadata``: the
fields of Langfuse and Phoenix dataset items), and a promptfoo test file that runs offline
(the recorded answer as ``providerOutput``; a Python assertion runs our evaluators).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from typing import Any

from ai_incidents.capture.interaction import Message
from ai_incidents.incidents.model import Incident
from ai_incidents.incidents.recorder import CallRecord, FlightRecorder
from ai_incidents.investigation import checks
from ai_incidents.investigation.content import answer, interaction_from_content

LOOKBACK_S = 900.0
"""Recorded calls this long before the incident's first detection count as affected."""
_AFTER_S = 60.0
ASSERTION_FILE = "ai_incidents_assert.py"
"""The promptfoo assertion script written beside a test file."""


@dataclasses.dataclass(frozen=True)
class RegressionCase:
    """One affected interaction of an incident."""

    incident_id: str
    failure_mode: str
    record: CallRecord
    system_instructions: tuple[str, ...] = ()
    input_messages: tuple[Message, ...] = ()
    recorded_answer: str | None = None
    checks: tuple[str, ...] = ()
    min_quality: float | None = None
    catches: bool = False
    """Its checks fail the recorded answer's text (so a promptfoo test of it fails)."""

    @property
    def id(self) -> str:
        return f"{self.incident_id}:{self.record.span_id}"

    @property
    def has_content(self) -> bool:
        return bool(self.input_messages)


def cases_for(
    incident: Incident, recorder: FlightRecorder, low_quality_threshold: float, limit: int = 50
) -> list[RegressionCase]:
    """The incident's example calls first, then the other affected calls, oldest first."""
    rows = recorder.calls(
        incident.feature, incident.first_seen - LOOKBACK_S, incident.last_seen + _AFTER_S
    )
    examples = {ref.hex()[1] for ref in incident.examples}
    chosen = [r for r in rows if r.span_id in examples]
    chosen += [
        r
        for r in rows
        if r.span_id not in examples and affected(r, incident, low_quality_threshold)
    ]
    return [_case(incident, r, low_quality_threshold) for r in chosen[:limit]]


def affected(record: CallRecord, incident: Incident, low_quality_threshold: float) -> bool:
    """The call shows the incident's failure mode."""
    weak = bool(record.quality_flags) or (
        record.quality is not None and record.quality < low_quality_threshold
    )
    if incident.failure_mode == "quality_degradation":
        return weak
    if incident.failure_mode == "model_regression":
        return weak and record.response_model == incident.model
    if incident.failure_mode == "context_issues":
        return bool(record.retrieval_flags)
    return bool(record.safety_categories)


def _case(incident: Incident, record: CallRecord, threshold: float) -> RegressionCase:
    case = RegressionCase(incident.id, incident.failure_mode, record)
    content = json.loads(record.content) if record.content else {}
    interaction = interaction_from_content(content, record.feature, record.response_model)
    if interaction is None:
        return case
    interaction.output_messages = [
        answer(m.content) for m in interaction.output_messages if m.role == "assistant"
    ]  # judged on its text alone, as a replacement answer will be
    found = checks.checks_for(interaction)
    min_quality = checks.min_quality_for(incident.failure_mode, threshold)
    return dataclasses.replace(
        case,
        system_instructions=tuple(interaction.system_instructions),
        input_messages=tuple(interaction.input_messages),
        recorded_answer=interaction.output_text,
        checks=found,
        min_quality=min_quality,
        catches=not checks.judge(interaction, found, min_quality).passed,
    )


def dataset_item(case: RegressionCase) -> dict[str, Any]:
    """A case in the neutral schema (a Langfuse or Phoenix dataset item)."""
    r = case.record
    given = None
    if case.has_content:
        given = {
            "system_instructions": list(case.system_instructions),
            "messages": [{"role": m.role, "content": m.content} for m in case.input_messages],
        }
    return {
        "id": case.id,
        "input": given,
        "expected_output": {"checks": list(case.checks), "min_quality": case.min_quality},
        "metadata": {
            "incident_id": case.incident_id,
            "failure_mode": case.failure_mode,
            "feature": r.feature,
            "request_model": r.request_model,
            "response_model": r.response_model,
            "at": r.at,
            "trace_id": r.trace_id,
            "span_id": r.span_id,
            "scores": {"quality": r.quality, "safety": r.safety, "relevance": r.relevance},
            "flags": {
                "quality": list(r.quality_flags),
                "safety": list(r.safety_categories),
                "retrieval": list(r.retrieval_flags),
            },
            "content_captured": case.has_content,
            "recorded_output": case.recorded_answer,
        },
    }


def to_jsonl(cases: Iterable[RegressionCase]) -> str:
    return "".join(json.dumps(dataset_item(c), ensure_ascii=False) + "\n" for c in cases)


def to_promptfoo(
    incident: Incident, cases: Iterable[RegressionCase], assertion: str
) -> dict[str, Any]:
    """A promptfoo test suite of the cases that catch the incident on the answer's text:
    each test fails on its recorded answer (``providerOutput``) and passes on a fixed one.
    ``assertion`` is the ``file://`` reference of the Python assertion script."""
    tests = []
    for case in cases:
        if not case.catches:
            continue
        question = next((m.content for m in reversed(case.input_messages) if m.role == "user"), "")
        tests.append(
            {
                "description": f"{case.id} ({', '.join(case.checks) or 'quality'})",
                "vars": {
                    "question": question,
                    "system": list(case.system_instructions),
                    "messages": [
                        {"role": m.role, "content": m.content} for m in case.input_messages
                    ],
                },
                "providerOutput": case.recorded_answer,
                "assert": [
                    {
                        "type": "python",
                        "value": assertion,
                        "config": {"checks": list(case.checks), "min_quality": case.min_quality},
                    }
                ],
                "metadata": {
                    "incident_id": case.incident_id,
                    "trace_id": case.record.trace_id,
                    "span_id": case.record.span_id,
                },
            }
        )
    return {
        "description": f"Regression cases of {incident.id} ({incident.failure_mode},"
        f" {incident.feature})",
        "prompts": ["{{question}}"],
        "providers": [{"id": "echo", "label": incident.model}],
        "tests": tests,
    }


ASSERTION_SCRIPT = '''"""promptfoo assertion: ai-incidents' evaluators judge the answer."""

from ai_incidents.investigation.promptfoo_assert import get_assert  # noqa: F401
'''
"""The script beside a promptfoo test file: the assertion lives in the installed package."""
