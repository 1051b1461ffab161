"""Guardrails: prevention on the request path, opt-in (``AI_INCIDENTS_GUARDRAILS``).

- ``input``: before a call is sent, the last user message and the retrieved documents and tool
  results are judged by the injection evaluator's detectors (a calibrated risk; cached, so the
  evaluator afterwards judges them for free). From ``block_at`` the call is answered locally
  (the provider-style, not-retried error of a disabled feature, or its fallback answer); from
  ``review_at`` it is sent and its answer queued for human review (the edge cases).
- ``output``: secrets and personal data are masked in answers before the app receives them
  (capture's output filter; streamed answers with a bounded look-behind); the span says which
  kinds and how many were masked, never the values.

Nothing changes when guardrails are off (the default): the app's bytes and exceptions are
those of the provider.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from ai_incidents.capture.gate import Decision
from ai_incidents.capture.interaction import Interaction
from ai_incidents.capture.output_filter import Redaction
from ai_incidents.config import Settings, get_settings
from ai_incidents.evaluation.documents import TOOL_ROLES, document_risk
from ai_incidents.evaluation.injection import injection_risk
from ai_incidents.evaluation.pii import pii_spans, secret_spans
from ai_incidents.evaluation.text import head_and_tail

INCIDENT_ID = "guardrail:input"
"""The id blocked calls and queued answers name (no incident stands behind a guardrail)."""


class Guardrails:
    """The input guard and the output filter (see the module docstring)."""

    def __init__(
        self,
        enabled: Collection[str],
        block_at: float,
        review_at: float,
        fallbacks: Mapping[str, str] | None = None,
        per_feature: Mapping[str, Collection[str]] | None = None,
    ) -> None:
        self.enabled = frozenset(enabled)
        self.per_feature = {feature: frozenset(kinds) for feature, kinds in
                            (per_feature or {}).items()}  # fmt: skip
        """Features whose guardrails differ from ``enabled``."""
        self.block_at = block_at
        self.review_at = review_at
        self.fallbacks = dict(fallbacks or {})

    def decide(self, interaction: Interaction) -> Decision | None:
        """The input guard: block from ``block_at``, queue for review from ``review_at``."""
        if "input" not in self.on(interaction.feature):
            return None
        risk = self.risk(interaction)
        if risk >= self.block_at:
            fallback = self.fallbacks.get(interaction.feature, self.fallbacks.get("*"))
            return Decision("guardrail_blocked", INCIDENT_ID, fallback=fallback, score=risk,
                            scope="request")  # fmt: skip
        if risk >= self.review_at:
            interaction.guardrail_review = risk
        return None

    def risk(self, interaction: Interaction) -> float:
        """The highest injection risk of the request's last user message and its content."""
        limit = get_settings().injection_scan_chars
        text = interaction.last_user_text
        risk = injection_risk(head_and_tail(text, limit)).score if text else 0.0
        documents = interaction.retrieval.documents if interaction.retrieval is not None else ()
        contents = [d.text for d in documents if d.text]
        contents += [m.content for m in interaction.input_messages
                     if m.role in TOOL_ROLES and m.content]  # fmt: skip
        for content in contents:
            risk = max(risk, document_risk(content)[0].score)
        return risk

    def on(self, feature: str) -> frozenset[str]:
        """The guardrails on for ``feature``."""
        return self.per_feature.get(feature, self.enabled)

    def redactor(self, interaction: Interaction):
        """The output filter's redactor for this call, if output filtering is on for it."""
        return find_sensitive if "output" in self.on(interaction.feature) else None


def find_sensitive(text: str) -> list[Redaction]:
    """Secrets and personal data in ``text`` as ``(kind, start, end)``; a private key's
    span runs to the end of its PEM block."""
    spans = []
    for kind, start, end in secret_spans(text):
        if kind == "private_key" and (close := text.find("-----END", end)) >= 0:
            finish = text.find("-----", close + 8)
            end = finish + 5 if finish >= 0 else len(text)
        spans.append((kind, start, end))
    return spans + pii_spans(text)


def from_settings(settings: Settings) -> Guardrails:
    return Guardrails(settings.guardrails, settings.guardrail_block_at,
                      settings.guardrail_review_at, settings.fallback_answers,
                      settings.guardrail_features)  # fmt: skip
