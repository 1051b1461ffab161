"""Which containment an incident gets: the seed's action for its severity, overridable per
feature and per failure mode, then cut to the scope of its evidence.

- ``critical`` disables the feature, ``high`` rolls its model back, ``medium`` turns on human
  review, ``low`` heightens monitoring for a while (``ACTION_BY_SEVERITY``).
- Feature-wide actions need population-level evidence (a share of the feature's calls). A
  request-level incident (one request, however many times it recurs) never switches a
  feature off for everyone: a ``feature_disabled`` blocks only the end users or sessions the
  app named on those requests, and anything else becomes heightened monitoring. One user
  who can make the model leak its prompt cannot take the feature down for all.
- A rollback needs a known-good model (pinned by configuration, else the model before a
  regression, else the last model that served the feature healthily); without one the
  feature goes to human review instead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from ai_incidents.incidents.model import ACTION_BY_SEVERITY, Incident

ACTIONS = ("feature_disabled", "rolled_back", "review_mode", "monitoring")
EVERYONE = "*"


@dataclasses.dataclass(frozen=True)
class Plan:
    """One containment action to take."""

    action: str
    feature: str
    subject: str = EVERYONE
    """``*`` for the whole feature, else the fingerprint of one end user or session."""
    model: str | None = None
    """For a rollback: the model requests are pinned to."""
    reason: str = ""


def parse_overrides(text: str) -> dict[tuple[str, str], str]:
    """``feature:failure_mode=action,...`` (``*`` for any) into a mapping; bad pairs raise."""
    overrides = {}
    for pair in text.split(","):
        if not pair.strip():
            continue
        key, _, action = pair.partition("=")
        feature, _, mode = key.strip().partition(":")
        action = action.strip()
        if action not in ACTIONS or not feature or not mode:
            raise ValueError(f"{pair.strip()!r} is not feature:failure_mode=action")
        overrides[(feature.strip(), mode.strip())] = action
    return overrides


class ContainmentPolicy:
    """Turns an incident into the plans to carry out (see the module docstring)."""

    def __init__(
        self,
        overrides: Mapping[tuple[str, str], str] | None = None,
        known_good: Mapping[str, str] | None = None,
    ) -> None:
        self.overrides = dict(overrides or {})
        self.known_good = dict(known_good or {})

    def action_for(self, incident: Incident) -> str:
        """The action before scope: an override, else the severity's."""
        feature, mode = incident.feature, incident.failure_mode
        for key in ((feature, mode), (feature, "*"), ("*", mode), ("*", "*")):
            if key in self.overrides:
                return self.overrides[key]
        return ACTION_BY_SEVERITY[incident.severity]

    def plans(
        self,
        incident: Incident,
        population: bool,
        users: tuple[str, ...] = (),
        last_good_model: str | None = None,
        action: str | None = None,
    ) -> list[Plan]:
        """What to do for ``incident``; ``action`` forces one (an operator's), ``population``
        says whether the evidence is a share of the feature's calls."""
        chosen = action or self.action_for(incident)
        feature = incident.feature
        if not population and action is None and chosen != "monitoring":
            if chosen == "feature_disabled" and users:
                why = "one request's evidence: only its end user or session is blocked"
                return [Plan(chosen, feature, user, reason=why) for user in users]
            why = f"{chosen} needs population-level evidence; monitoring instead"
            return [Plan("monitoring", feature, reason=why)]
        if chosen == "rolled_back":
            target = self.known_good.get(feature) or _model_before(incident) or last_good_model
            if not target or target == incident.evidence.get("response_model"):
                return [Plan("review_mode", feature, reason="no known-good model to roll back to")]
            return [Plan(chosen, feature, model=target, reason=f"pinned to {target}")]
        return [Plan(chosen, feature, reason=f"{incident.severity} {incident.failure_mode}")]


def _model_before(incident: Incident) -> str | None:
    before = incident.evidence.get("model_before")
    return str(before) if before else None
