"""Prompt injection and jailbreak attempts in the user's input, by rules (English, German).

Rules catch the common families: instruction override, role-play/DAN, delimiter and
chat-template injection, system-prompt extraction, and long encoded payloads. Each family
has a weight; the score is the strongest family found, raised when several fire together.
"""

from __future__ import annotations

import base64
import binascii
import re

from ai_incidents.capture.interaction import Interaction
from ai_incidents.evaluation.base import EvaluationResult

_I = re.IGNORECASE
_RULES: dict[str, tuple[str, float, re.Pattern[str]]] = {
    "instruction_override": (
        "prompt_injection",
        0.9,
        re.compile(
            r"\b(?:ignore|disregard|forget|override|bypass|skip)\b[^.!?\n]{0,40}?"
            r"\b(?:previous|prior|above|earlier|preceding|all|any|your|the|system)\b[^.!?\n]{0,25}?"
            r"\b(?:instructions?|prompts?|rules|directions|guidelines|context|restrictions)\b"
            r"|\b(?:ignoriere|vergiss|missachte|übergehe)\b[^.!?\n]{0,40}?"
            r"\b(?:anweisungen|befehle|regeln|vorgaben|instruktionen|alles)\b"
            r"|\bnew instructions?\s*:|\bneue anweisung(?:en)?\s*:"
            r"|\bforget (?:about )?(?:everything|all)\b|\bvergiss (?:alles|alle)\b"
            r"|\bleave (?:all )?(?:the )?previous \w+ behind\b"
            r"|\babweichend zu (?:den )?vorherigen\b"
            r"|\b(?:lassen sie|lass) alle (?:vorherigen|bisherigen) \w+ hinter sich\b",
            _I,
        ),
    ),
    "task_switch": (
        "prompt_injection",
        0.75,
        re.compile(
            r"\bnow (?:new|further|different) (?:tasks?|instructions?) follow\b"
            r"|\b(?:start|begin) (?:over|again|from the front) with a new task\b"
            r"|\bnun folgen (?:weitere|neue) (?:aufgaben|anweisungen)\b"
            r"|\bkonzentriere dich (?:jetzt|nun) auf deine neue aufgabe\b"
            r"|\b(?:just|only) (?:output|say|print|write)\b[^.!?\n]{0,10}[\"']"
            r"|\bdo not (?:answer|look|respond)\b[^.!?\n]{0,40}\b(?:just|only|instead)\b",
            _I,
        ),
    ),
    "role_play": (
        "jailbreak",
        0.8,
        re.compile(
            r"\b(?:you are|you're) (?:now|no longer)\b|\bact as (?:an? )?(?:unfiltered|unrestricted"
            r"|evil|jailbroken|different)\b|\bpretend (?:to be|you are|that you)\b"
            r"|\bdo anything now\b|\bDAN\b|\bdeveloper mode\b|\bjailbr(?:eak|oken)\b"
            r"|\bwithout (?:any )?(?:restrictions|filters|limitations|censorship)\b"
            r"|\bI want you to act as\b|\bfrom now on,? you\b|\bnow you are\b"
            r"|\bich möchte, dass (?:sie|du) als\b[^.!?\n]{0,60}\b(?:fungier|agier|handel)"
            r"|\bdu bist (?:jetzt|nun|ab sofort)\b|\bstell dir vor,? du bist\b"
            r"|\btu so,? als (?:ob|wärst)\b"
            r"|\bohne (?:jegliche )?(?:einschränkungen|zensur|filter)\b",
            _I,
        ),
    ),
    "system_prompt_extraction": (
        "prompt_injection",
        0.85,
        re.compile(
            r"\b(?:reveal|show|print|repeat|output|tell me|display|leak|what (?:is|are|was|were))\b"
            r"[^.!?\n]{0,30}?\b(?:system prompt|initial (?:prompt|instructions)|hidden (?:prompt|"
            r"instructions)|your (?:instructions|rules|prompt)|everything above)\b"
            r"|\b(?:zeig|nenne|gib|wiederhole)\w*\b[^.!?\n]{0,30}?\b(?:systemprompt|system-prompt"
            r"|anweisungen|deine regeln)\b",
            _I,
        ),
    ),
    "delimiter_injection": (
        "prompt_injection",
        0.8,
        re.compile(
            r"<\|im_(?:start|end)\|>|\[/?INST\]|<</?SYS>>|</?system>|^\s*#{2,}\s*(?:system|instruction)"
            r"|\b(?:END|BEGIN) (?:OF )?(?:SYSTEM|USER|PROMPT)\b|^\s*(?:system|assistant)\s*:",
            _I | re.MULTILINE,
        ),
    ),
}
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{40,}={0,2}")


def _encoded_payload(text: str) -> bool:
    """A long base64 run that decodes to mostly printable text: a smuggled instruction."""
    if len(text) < 40 or max(map(len, text.split()), default=0) < 40:
        return False
    for match in _BASE64_RUN.finditer(text):
        try:
            decoded = base64.b64decode(match.group() + "=" * (-len(match.group()) % 4))
        except (binascii.Error, ValueError):
            continue
        printable = sum(32 <= b < 127 for b in decoded)
        if decoded and printable / len(decoded) > 0.9:
            return True
    return False


# Substrings (lower case) one of which every match of a family contains: a family's regex
# runs only when one is present, which keeps ordinary text cheap.
_TRIGGERS = {
    "instruction_override": (
        "ignor", "disregard", "forget", "override", "bypass", "skip", "vergiss", "missacht",
        "übergeh", "instruction", "anweisung", "leave", "abweichend", "hinter sich",
    ),
    "task_switch": ("follow", "task", "folgen", "aufgabe", "output", "say", "print", "write",
                    "do not"),
    "role_play": (
        "you are", "you're", "act as", "pretend", "anything now", "dan", "developer mode",
        "jailbr", "without", "from now", "now you", "ich möchte", "du bist", "stell dir",
        "tu so", "ohne",
    ),
    "system_prompt_extraction": ("prompt", "instruction", "rules", "above", "anweisung",
                                 "regeln"),
    "delimiter_injection": ("<|", "inst]", "<<", "system", "assistant", "end", "begin", "#"),
}  # fmt: skip


def injection_families(text: str) -> dict[str, tuple[str, float]]:
    """The rule families that fire on ``text``: family -> (category, weight)."""
    lowered = text.lower()
    fired = {
        family: (category, weight)
        for family, (category, weight, pattern) in _RULES.items()
        if any(map(lowered.__contains__, _TRIGGERS[family])) and pattern.search(text)
    }
    if _encoded_payload(text):
        fired["encoded_payload"] = ("prompt_injection", 0.6)
    return fired


class PromptInjectionEvaluator:
    """Prompt injection and jailbreak attempts in the latest user message."""

    name = "prompt_injection"
    aspect = "safety"
    cost = "fast"

    def evaluate(self, interaction: Interaction) -> EvaluationResult | None:
        text = interaction.last_user_text
        if not text:
            return None
        fired = injection_families(text)
        if not fired:
            return EvaluationResult(self.name, "safety", 0.0, "clean")
        weights = sorted((w for _, w in fired.values()), reverse=True)
        score = min(1.0, weights[0] + 0.1 * (len(weights) - 1))
        categories = {c for c, _ in fired.values()}
        flag = "jailbreak" if categories == {"jailbreak"} else "prompt_injection"
        explanation = "rules fired: " + ", ".join(sorted(fired))
        return EvaluationResult(self.name, "safety", score, flag, flag, explanation)
