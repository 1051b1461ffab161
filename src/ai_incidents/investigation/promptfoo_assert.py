"""The promptfoo Python assertion of regression cases: ``get_assert(output, context)`` judges
the answer with this project's evaluators against the test's checks (``assert[].config``)."""

from __future__ import annotations

from typing import Any

from ai_incidents.capture.interaction import Interaction, Message
from ai_incidents.investigation.checks import judge
from ai_incidents.investigation.content import answer


def get_assert(output: Any, context: dict[str, Any]) -> dict[str, Any]:
    """A promptfoo grading result: passes when no check flags the answer."""
    variables = context.get("vars") or {}
    config = context.get("config") or {}
    interaction = Interaction(
        operation="chat",
        provider="promptfoo",
        wire_format="promptfoo",
        feature="regression-case",
        system_instructions=[str(s) for s in variables.get("system") or ()],
        input_messages=[
            Message(str(m.get("role", "user")), str(m.get("content", "")))
            for m in variables.get("messages") or ()
        ],
        output_messages=[answer(output if isinstance(output, str) else str(output))],
    )
    verdict = judge(interaction, config.get("checks") or (), config.get("min_quality"))
    quality = "n/a" if verdict.quality is None else f"{verdict.quality:.2f}"
    reason = "; ".join(verdict.reasons) or f"no check flags the answer (quality {quality})"
    return {"pass": verdict.passed, "score": verdict.quality or 0.0, "reason": reason}
