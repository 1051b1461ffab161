"""Fingerprints of a call's prompt: short hashes of the system instructions and of what
comes before the last user message (the prompt template and its examples). They tell when
a prompt changed without carrying it."""

from __future__ import annotations

import hashlib

from ai_incidents import semconv
from ai_incidents.capture.interaction import Interaction


def _digest(parts: list[str]) -> str:
    hasher = hashlib.blake2b(digest_size=6, person=b"ai-inc-prompt")
    for part in parts:
        hasher.update(part.encode("utf-8", "replace"))
        hasher.update(b"\x00")
    return hasher.hexdigest()


def prompt_fingerprints(interaction: Interaction) -> dict[str, str]:
    """``ai.prompt.system_hash`` and ``ai.prompt.context_hash`` of ``interaction``."""
    found = {}
    if interaction.system_instructions:
        found[semconv.AI_PROMPT_SYSTEM_HASH] = _digest(interaction.system_instructions)
    messages = interaction.input_messages
    last_user = max((i for i, m in enumerate(messages) if m.role == "user"), default=None)
    if last_user is not None:
        context = [f"{m.role}:{m.content}" for m in messages[:last_user]]
        found[semconv.AI_PROMPT_CONTEXT_HASH] = _digest(interaction.system_instructions + context)
    return found
