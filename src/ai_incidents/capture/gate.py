"""The seam where containment acts on a call before it is sent.

Capture asks the installed gate about each LLM call (a dictionary lookup in containment's
snapshot: microseconds) and applies its ``Decision``: answer it locally instead of sending
it (the feature is disabled for this call: a provider-style error the SDKs do not retry,
or a configured fallback answer), or send it with another model (a rollback). Capture
never imports containment; the composition root installs the gate.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

from ai_incidents.capture.interaction import Interaction
from ai_incidents.capture.output_filter import FILTERED_FORMATS, Redactor

_logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Decision:
    """What containment does to one call."""

    action: str
    """``feature_disabled`` (answered locally) or ``rolled_back`` (another model)."""
    incident_id: str
    model: str | None = None
    """For a rollback: the model the request asks for instead."""
    fallback: str | None = None
    """For a disabled feature: an answer to give instead of an error."""
    score: float | None = None
    """For a guardrail: the risk it judged."""
    scope: str = "feature"
    """``feature`` or ``user`` (the end user or session of the call only)."""
    original_model: str | None = None
    """For a rollback: the model the app asked for (set by capture)."""


Gate = Callable[[Interaction], "Decision | None"]
_gate: Gate | None = None
_heightened: Callable[[str], bool] | None = None
_redactor: Callable[[Interaction], Redactor | None] | None = None


def set_gate(
    gate: Gate | None,
    heightened: Callable[[str], bool] | None = None,
    redactor: Callable[[Interaction], Redactor | None] | None = None,
) -> None:
    """Install containment's gate, its answer to whether a feature is under heightened
    monitoring (slow evaluators then sample every call, detection is more sensitive), and
    the output guardrail's redactor for a call (None: the answer is not filtered)."""
    global _gate, _heightened, _redactor
    _gate, _heightened, _redactor = gate, heightened, redactor


def redactor_for(interaction: Interaction) -> Redactor | None:
    """What masks this call's answer, if the output guardrail filters it; never raises."""
    find = _redactor
    if find is None or interaction.wire_format not in FILTERED_FORMATS:
        return None
    try:
        return find(interaction)
    except Exception:
        _logger.exception("ai-incidents guardrails could not decide on an answer")
        return None


def heightened(feature: str) -> bool:
    """Whether ``feature`` is under heightened monitoring now; never raises."""
    check = _heightened
    if check is None:
        return False
    try:
        return check(feature)
    except Exception:
        return False


def decide(interaction: Interaction) -> Decision | None:
    """The installed gate's decision for this call; never raises."""
    gate = _gate
    if gate is None:
        return None
    try:
        return gate(interaction)
    except Exception:
        _logger.exception("ai-incidents containment could not decide on a call")
        return None
