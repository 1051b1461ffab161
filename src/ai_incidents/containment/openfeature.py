"""An OpenFeature provider that answers containment flags from the containment state:
``<feature>.enabled``, ``<feature>.model`` and ``<feature>.review_mode`` (see ``flags``).

    from openfeature import api
    api.set_provider(AIIncidentsProvider(pipeline.containment.state))
    client = api.get_client()
    if not client.get_boolean_value("support-bot.enabled", True, context):
        ...

The evaluation context's targeting key, when it is ``ai_incidents.fingerprint(user_id)``,
finds users or sessions blocked alone. Needs ``openfeature-sdk`` (the ``openfeature`` extra).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import FlagResolutionDetails, Reason
from openfeature.provider import AbstractProvider, Metadata, ProviderEventDetails

from ai_incidents.containment.flags import feature_flags
from ai_incidents.containment.state import ContainmentState


class AIIncidentsProvider(AbstractProvider):
    """Containment flags; emits ``PROVIDER_CONFIGURATION_CHANGED`` when containment changes."""

    def __init__(self, state: ContainmentState) -> None:
        super().__init__()
        self.state = state
        state.on_change(self._changed)

    def get_metadata(self) -> Metadata:
        return Metadata(name="ai-incidents")

    def _changed(self, snapshot: Mapping[str, Any]) -> None:
        if hasattr(self, "_on_emit"):
            self.emit_provider_configuration_changed(
                ProviderEventDetails(
                    flags_changed=sorted(
                        f"{feature}.{name}"
                        for feature in snapshot
                        for name in ("enabled", "model", "review_mode")
                    )
                )
            )

    def _lookup(self, flag_key: str, default: Any, context: EvaluationContext | None):
        feature, _, name = flag_key.rpartition(".")
        found = self.state.get(feature) if feature else None
        if found is None or name not in ("enabled", "model", "review_mode"):
            return FlagResolutionDetails(default, reason=Reason.DEFAULT)
        flags = feature_flags(found)
        metadata = {"incidents": ",".join(flags.incident_ids)}
        if name == "enabled":
            key = context.targeting_key if context is not None else None
            blocked = key is not None and key in flags.blocked
            value = flags.enabled and not blocked
            reason = Reason.TARGETING_MATCH if blocked else Reason.STATIC
            return FlagResolutionDetails(value, reason=reason, variant="on" if value else "off",
                                         flag_metadata=metadata)  # fmt: skip
        if name == "review_mode":
            return FlagResolutionDetails(flags.review_mode, reason=Reason.STATIC,
                                         flag_metadata=metadata)  # fmt: skip
        if flags.model is None:
            return FlagResolutionDetails(default, reason=Reason.DEFAULT, flag_metadata=metadata)
        return FlagResolutionDetails(flags.model, reason=Reason.STATIC, variant="pinned",
                                     flag_metadata=metadata)  # fmt: skip

    def _typed(self, flag_key: str, default: Any, context, kind: type | tuple[type, ...]):
        details = self._lookup(flag_key, default, context)
        if details.reason is not Reason.DEFAULT and not isinstance(details.value, kind):
            return FlagResolutionDetails(default, reason=Reason.ERROR,
                                         error_code=ErrorCode.TYPE_MISMATCH)  # fmt: skip
        return details

    def resolve_boolean_details(self, flag_key: str, default_value: bool,
                                evaluation_context: EvaluationContext | None = None):  # fmt: skip
        return self._typed(flag_key, default_value, evaluation_context, bool)

    def resolve_string_details(self, flag_key: str, default_value: str,
                               evaluation_context: EvaluationContext | None = None):  # fmt: skip
        return self._typed(flag_key, default_value, evaluation_context, str)

    def resolve_integer_details(self, flag_key: str, default_value: int,
                                evaluation_context: EvaluationContext | None = None):  # fmt: skip
        return FlagResolutionDetails(default_value, reason=Reason.DEFAULT)

    def resolve_float_details(self, flag_key: str, default_value: float,
                              evaluation_context: EvaluationContext | None = None):  # fmt: skip
        return FlagResolutionDetails(default_value, reason=Reason.DEFAULT)

    def resolve_object_details(self, flag_key: str, default_value: Sequence | Mapping,
                               evaluation_context: EvaluationContext | None = None):  # fmt: skip
        return FlagResolutionDetails(default_value, reason=Reason.DEFAULT)
