"""``Containment``: contains incidents as they are stored, and is the gate capture asks before
each call; plus the lifecycle operations an operator runs (acknowledge, contain, resolve).

Modes (``AI_INCIDENTS_CONTAINMENT``):

- ``enforce``: actions take effect in capture (calls of a disabled feature are answered
  locally, a rolled-back feature's requests ask for the known-good model, answers of a
  feature in review go to the review queue) and are published as flags;
- ``flags`` (the default): actions are recorded and published as flags (the OpenFeature
  provider, the flagd file) for the app to read; capture changes nothing;
- ``off``: the planned action is only recorded in the incident's history.

Every action is recorded (in the containment table and the incident's history: what, by
whom, when, why) and is undone when the incident resolves. A resolved incident that recurs
is contained again by policy.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

from ai_incidents.capture.gate import Decision
from ai_incidents.capture.interaction import Interaction
from ai_incidents.containment.guardrails import Guardrails
from ai_incidents.containment.policy import ContainmentPolicy, Plan
from ai_incidents.containment.state import Action, ContainmentState
from ai_incidents.detection.observation import fingerprint
from ai_incidents.incidents.manager import IncidentChange
from ai_incidents.incidents.model import Incident
from ai_incidents.incidents.store import IncidentStore

_logger = logging.getLogger(__name__)
MODES = ("enforce", "flags", "off")
POLICY_ACTOR = "ai-incidents policy"


class Containment:
    """See the module docstring; ``monitoring_s`` bounds heightened monitoring."""

    def __init__(
        self,
        store: IncidentStore,
        state: ContainmentState,
        policy: ContainmentPolicy,
        mode: str = "flags",
        fallbacks: Mapping[str, str] | None = None,
        monitoring_s: float = 3600.0,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"containment mode {mode!r} is not one of {', '.join(MODES)}")
        self.store = store
        self.state = state
        self.policy = policy
        self.mode = mode
        self.fallbacks = dict(fallbacks or {})
        """Feature (or ``*``) -> the answer a disabled feature gives instead of an error."""
        self.monitoring_s = monitoring_s
        self.guardrails: Guardrails | None = None
        """Prevention on the request path, when the app turned it on."""

    def __call__(self, change: IncidentChange) -> None:
        """The manager's sink: contain new detections, undo what a resolution ends."""
        incident = change.incident
        if incident.status == "resolved":
            ended = self.state.end(incident.id, "resolution")
            if ended:
                _logger.info("ai-incidents: %d containment actions of %s undone", len(ended),
                             incident.id)  # fmt: skip
            return
        if not change.detections:
            return
        plans = self.policy.plans(incident, change.population, change.users)
        if self.mode == "off":
            note = "containment off; policy would take " + _describe(plans)
            if not any(note == n for _, _, n in self.store.get(incident.id).history):
                self.store.set_status(incident.id, incident.status, note)
            return
        contain(self.store, self.state, incident, plans, POLICY_ACTOR, self.mode,
                self.monitoring_s)  # fmt: skip

    def decide(self, interaction: Interaction) -> Decision | None:
        """The capture gate: what containment does to this call (enforce mode only), else
        what the input guardrail does (when it is on)."""
        decision = self._contained(interaction)
        if decision is None and self.guardrails is not None:
            decision = self.guardrails.decide(interaction)
        return decision

    def _contained(self, interaction: Interaction) -> Decision | None:
        if self.mode != "enforce":
            return None
        found = self.state.get(interaction.feature)
        if found is None:
            return None
        blocked = found.disabled
        scope = "feature"
        if blocked is None and found.blocked:
            for subject in (interaction.end_user, interaction.session):
                action = found.blocked.get(fingerprint(subject) or "")
                if action is not None:
                    blocked, scope = action, "user"
                    break
        if blocked is not None:
            fallback = self.fallbacks.get(interaction.feature, self.fallbacks.get("*"))
            return Decision("feature_disabled", blocked.incident_id, fallback=fallback,
                            scope=scope)  # fmt: skip
        if found.model is not None and found.model.model:
            return Decision("rolled_back", found.model.incident_id, model=found.model.model)
        return None

    def heightened(self, feature: str) -> bool:
        """Whether ``feature`` is under heightened monitoring now."""
        found = self.state.get(feature)
        return found is not None and (found.monitoring is not None or found.review is not None)

    def in_review(self, feature: str) -> Action | None:
        found = self.state.get(feature) if self.mode == "enforce" else None
        return found.review if found is not None else None


def contain(
    store: IncidentStore,
    state: ContainmentState,
    incident: Incident,
    plans: list[Plan],
    actor: str,
    mode: str = "enforce",
    monitoring_s: float = 3600.0,
) -> list[Action]:
    """Put ``plans`` in force for ``incident`` and record it in its history and status."""
    taken = state.apply(incident.id, plans, actor, until=time.time() + monitoring_s)
    if taken:
        published = "" if mode == "enforce" else " (published as flags; the app acts on them)"
        status = "contained" if mode == "enforce" else incident.status
        note = f"{actor}: {_describe(plans)}{published}"
        store.set_status(incident.id, status, note, action=plans[0].action)
    return taken


def resolve(store: IncidentStore, state: ContainmentState, incident_id: str, actor: str,
            note: str = "") -> Incident:  # fmt: skip
    """Resolve the incident and undo every containment action taken for it."""
    incident = store.get(incident_id)
    ended = state.end(incident.id, actor, note)
    undone = f"; undid {', '.join(sorted({a.action for a in ended}))}" if ended else ""
    return store.set_status(incident.id, "resolved", f"{actor}: {note or 'resolved'}{undone}")


def _describe(plans: list[Plan]) -> str:
    parts = []
    for plan in plans:
        whom = "the feature" if plan.subject == "*" else f"user or session {plan.subject}"
        parts.append(f"{plan.action} for {whom}" + (f" ({plan.reason})" if plan.reason else ""))
    return "; ".join(parts)
