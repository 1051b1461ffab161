"""Containment as feature flags: the values the OpenFeature provider answers and the flagd
file holds, from one snapshot of what is in force.

For each feature with containment in force: ``<feature>.enabled`` (false while the feature
is disabled; for users or sessions blocked alone, false for their fingerprints, passed as
the targeting key: ``ai_incidents.fingerprint(user_id)``), ``<feature>.model`` (the pinned
model of a rollback) and ``<feature>.review_mode``. A feature with nothing in force has no
flag: the caller's default applies.
"""

from __future__ import annotations

import dataclasses

from ai_incidents.containment.state import FeatureContainment


@dataclasses.dataclass(frozen=True)
class FeatureFlags:
    """The flag values of one feature."""

    enabled: bool
    blocked: frozenset[str]
    """Fingerprints for which ``enabled`` is false while the feature is on."""
    model: str | None
    review_mode: bool
    incident_ids: tuple[str, ...]


def feature_flags(found: FeatureContainment) -> FeatureFlags:
    actions = [found.disabled, found.model, found.review, found.monitoring, *found.blocked.values()]
    return FeatureFlags(
        enabled=found.disabled is None,
        blocked=frozenset(found.blocked),
        model=found.model.model if found.model is not None else None,
        review_mode=found.review is not None,
        incident_ids=tuple(sorted({a.incident_id for a in actions if a is not None})),
    )


def flagd_document(snapshot: dict[str, FeatureContainment]) -> dict:
    """The flagd flag-file document (``flags``: state, variants, defaultVariant, targeting)."""
    flags: dict[str, dict] = {}
    for feature, found in sorted(snapshot.items()):
        values = feature_flags(found)
        metadata = {"incidents": ",".join(values.incident_ids)}
        enabled: dict = {
            "state": "ENABLED",
            "variants": {"on": True, "off": False},
            "defaultVariant": "on" if values.enabled else "off",
            "metadata": metadata,
        }
        if values.enabled and values.blocked:
            enabled["targeting"] = {
                "if": [{"in": [{"var": "targetingKey"}, sorted(values.blocked)]}, "off", "on"]
            }
        flags[f"{feature}.enabled"] = enabled
        flags[f"{feature}.review_mode"] = {
            "state": "ENABLED",
            "variants": {"on": True, "off": False},
            "defaultVariant": "on" if values.review_mode else "off",
            "metadata": metadata,
        }
        if values.model:
            flags[f"{feature}.model"] = {
                "state": "ENABLED",
                "variants": {"pinned": values.model},
                "defaultVariant": "pinned",
                "metadata": metadata,
            }
    return {"$schema": "https://flagd.dev/schema/v0/flags.json", "flags": flags}
