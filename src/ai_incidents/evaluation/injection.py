"""Prompt injection and jailbreak attempts in the user's input, in many languages.

The text is folded first (``text.folded``: compatibility forms, invisible characters,
look-alike letters). Two detectors, combined by taking the higher risk:

- rules for the common families: instruction override, task switch, jailbreak personas
  (DAN, "you are now unfiltered"; asking for a role is not an attack), delimiter and
  chat-template injection, system-prompt extraction, long encoded payloads; overrides and
  extraction in 29 languages (``multilingual.py``). Each family has a confidence; several
  together raise it.
- two logistic regressions over hashed character n-grams, words and word pairs
  (``features.py``), trained by ``training/train_injection_model.py`` and shipped as
  ``models/injection.npz``: the prompt model, and the document model (an instruction to the
  model inside content), read on retrieved documents, tool results and user messages of
  ``DOCUMENT_MIN_CHARS`` or more; each output is a calibrated probability with a threshold
  of its own. Each reads a text in windows and scores the riskiest.
"""

from __future__ import annotations

import base64
import binascii
import functools
import importlib.resources
import re
import sys
from collections.abc import Callable, Iterable
from typing import NamedTuple
from urllib.parse import unquote

import numpy as np

from ai_incidents.capture.interaction import Interaction
from ai_incidents.config import get_settings
from ai_incidents.evaluation.base import EvaluationResult, threshold
from ai_incidents.evaluation.features import linear_scores, model_input
from ai_incidents.evaluation.multilingual import multilingual_families
from ai_incidents.evaluation.text import folded, head_and_tail, lowercase, spaced, word_set

_ANY = r"[^.!?\n]{0,40}?"
# family -> (category, weight, pattern). Patterns describe attack classes; they are not
# copies of any dataset's rows. They are matched against lower-cased text: an IGNORECASE
# pattern costs about three times as much.
_RULES: dict[str, tuple[str, float, re.Pattern[str]]] = {
    "instruction_override": (
        "prompt_injection",
        0.9,
        re.compile(
            r"\b(?:ignore|disregard|forget|override|bypass|skip)\b"
            + _ANY
            + r"\b(?:previous|prior|above|earlier|preceding|all|any|your|the|system)\b"
            r"[^.!?\n]{0,25}?\b(?:instructions?|prompts?|rules|directions|guidelines|context"
            r"|restrictions|directives?)\b"
            r"|\b(?:ignoriere|vergiss|missachte|übergehe)\b"
            + _ANY
            + r"\b(?:anweisungen|befehle|regeln|vorgaben|instruktionen|alles)\b"
            r"|\b(?:ignora|ignorez|olvida|dimentica|oublie[zr]?)\b"
            + _ANY
            + r"\b(?:istruzioni|instructions|instrucciones|consignes|indicaciones)\b"
            r"|\bnew (?:instructions?|directive)\s{0,10}:|\bneue anweisung(?:en)?\s{0,10}:"
            r"|(?<!don't )(?<!do not )\bforget (?:about )?(?:everything|all)"
            r" (?:above|before|(?:i|you|we) (?:said|told|wrote)"
            r"|you (?:were|have been) (?:told|given))\b"
            r"|\b(?:ignore|disregard|forget) (?:all of |everything )?(?:the |what(?:'s| is| was) )?"
            r"(?:above|said above|written above|before this)(?=\s{0,5}(?:[.,;:!]|and\b|then\b|$))"
            r"|\bvergiss (?:alles|alle)\b"
            r"|\bleave (?:all )?(?:the )?previous \w{1,40} behind\b"
            r"|\babweichend zu (?:den )?vorherigen\b"
            r"|\b(?:lassen sie|lass) alle (?:vorherigen|bisherigen) \w{1,40} hinter sich\b"
            r"|\bsupersedes? (?:all )?(?:prior|previous|earlier)\b",
        ),
    ),
    "fake_authority": (
        "prompt_injection",
        0.8,
        re.compile(
            r"\b(?:system|admin|developer)\s{1,10}(?:note|notice|update|message|override|hinweis)\b"
            r"|\bnota (?:del|di) sistema\b|\bnote syst[èe]me\b|\bsystemhinweis\b"
            r"|^\s{0,20}override\s{0,10}:|\byour (?:rules|instructions|guidelines|directives?) "
            r"(?:have|has) (?:changed|been updated)\b"
            r"|\bnote to (?:the |any )?(?:bot|ai|assistant|model|llm|agent)s?\b"
            r"|\b(?:ai|llm) (?:agents?|assistants?|models?) (?:reading|processing|integrating)\b",
            re.MULTILINE,
        ),
    ),
    "safety_bypass": (
        "jailbreak",
        0.8,
        re.compile(
            r"\bsafety (?:protocols?|checks?|filters?|guidelines|stuff|measures)\b"
            + _ANY
            + r"\b(?:disabled|off|ignore|skip|don't apply|do not apply|removed|lifted)\b"
            r"|\b(?:ignore|skip|disable|bypass)\b" + _ANY + r"\bsafety\b"
            r"|\b(?:you (?:have|has|with)|answer(?:ing)?|respond(?:ing)?|reply(?:ing)?|an ai"
            r"|a model|assistant|chatbot) (?:with )?(?:no|without) (?:any )?"
            r"(?:moral |ethical |safety |content )?"
            r"(?:filters?|limits|restrictions|censorship|limitations|guidelines)\b"
            r"|\ballow all content\b"
            r"|\b(?:senza|sin|sans) (?:restrizioni|restricciones|restrictions|filtr[io]s?)\b"
            r"|\b(?:modo|modalità|mode) (?:desarrollador|sviluppatore|développeur)\b",
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
            r"|\bdo not (?:answer|look|respond)\b" + _ANY + r"\b(?:just|only|instead)\b"
            r"|\byour (?:real|actual|true|new) (?:task|job|goal|directive)\b",
        ),
    ),
    "role_play": (
        "jailbreak",
        0.8,
        re.compile(
            r"\b(?:you are|you're) (?:now|no longer) (?:an? )?(?:free|freed|unfiltered|unrestricted"
            r"|uncensored|unbound|jailbroken|evil|dan|bound|restricted|limited|an ai|chatgpt"
            r"|in (?:developer|god|dan|jailbreak) mode)\b|\bact as (?:an? )?(?:unfiltered"
            r"|unrestricted|evil|jailbroken)\b"
            r"|\bpretend\b[^.!?\n]{0,40}\b(?:no|without|any) "
            r"(?:rules|restrictions|filters|limits|safety)\b"
            r"|\bdo anything now\b|\b(?:you are|act as|pretend to be|become) dan\b|\bdan(?: mode|:)"
            r"|\bdeveloper mode\b|\bjailbr(?:eak|oken)\b"
            r"|\bfrom now on,? (?:you (?:are|will|must)|respond|answer|act)\b"
            r"|\bdu bist (?:jetzt|nun|ab sofort) (?:frei|ungefiltert|uneingeschränkt|dan)\b"
            r"|\bohne (?:jegliche )?(?:einschränkungen|zensur)\b",
        ),
    ),
    "system_prompt_extraction": (
        "prompt_injection",
        0.85,
        re.compile(
            r"\b(?:reveal|show|print|repeat|output|tell me|display|leak|dump|what (?:is|are|was"
            r"|were))\b[^.!?\n]{0,30}?\b(?:system prompt|initial (?:prompt|instructions)"
            r"|hidden (?:prompt|instructions|developer message)|developer message|your "
            r"(?:instructions|rules|prompt)|everything above|words above|text above"
            r"|internal configuration|credentials|api keys?)\b"
            r"|\b(?:zeig|nenne|gib|wiederhole|verrate)\w{0,10}\b[^.!?\n]{0,30}?\b(?:systemprompt"
            r"|system-prompt|systemanweisungen|anweisungen|deine regeln)\b"
            r"|\b(?:rivela|révèle|revela|mostra|muestra|montre)\w{0,10}\b[^.!?\n]{0,30}?"
            r"\b(?:prompt di sistema|istruzioni di sistema|instructions système"
            r"|instrucciones del sistema|prompt del sistema|prompt système)\b",
        ),
    ),
    "exfiltration": (
        "prompt_injection",
        0.85,
        re.compile(
            # What is sent must be data worth stealing, not "an e-mail" or "the invoice".
            r"\b(?:send|e-?mail|forward|post|upload|transfer|envoie|invia|envía|schick)\w{0,12}\b"
            r"[^.!?\n]{0,30}?\b(?:conversation|chat|history|data|credentials?|passwords?"
            r"|keys?|secrets?|tokens?|context|prompt|instructions|files?|messages|emails"
            r"|contacts|customers?|users?|records|summary|results?|list|everything|them|this"
            r"|it|daten|données|dati|datos)\b"
            r"[^.!?\n]{0,30}?\b(?:to|at|a|an|à)\s{1,10}(?:\S{1,64}@\S{1,63}\.\w+|https?://\S+"
            r"|the (?:external|audit|remote) \w{1,40})"
            r"|\bcall (?:the )?\w{1,40} tool without (?:approval|confirmation|asking)\b"
            r"|\b(?:call|use|invoke)\s{1,10}(?:http_post|send_email|delete_file|transfer_money"
            r"|exec(?:ute)?_\w{1,40})\b",
        ),
    ),
    "encoded_instruction": (
        "prompt_injection",
        0.8,
        re.compile(
            r"\b(?:decode|decipher|apply rot13|reverse)\b"
            + _ANY
            + r"\b(?:do|follow|comply|execute|obey|what it says)\b",
        ),
    ),
    "reasoning_injection": (
        "prompt_injection",
        0.75,
        re.compile(
            r"<thinking>|\breasoning(?: trace)?\s{0,10}\((?:assistant|model)\)"
            r"|\bnote to self\s{0,10}\(persist"
            r"|\bsave this (?:note|instruction) (?:to|in) your memory\b"
            r"|\buser has (?:granted|given) (?:permission|consent) to skip\b",
        ),
    ),
    "delimiter_injection": (
        "prompt_injection",
        0.8,
        re.compile(
            r"<\|im_(?:start|end)\|>|\[/?inst\]|<</?sys>>|</?system>"
            r"|^\s{0,20}#{2,10}\s{0,10}(?:system|instruction)"
            r"|\b(?:end|begin) (?:of )?(?:the )?system (?:prompt|message|instructions?|input"
            r"|header)\b|\b(?:end|begin) of (?:the )?user (?:prompt|message|input)\b"
            r"|\b(?:end|begin) (?:of )?prompt\b|^\s{0,20}(?:system|assistant)\s{0,10}:",
            re.MULTILINE,
        ),
    ),
}


def _alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of a regular expression, as the patterns here write them
    (no verbose mode, no comments, no "]" first in a character class)."""
    alternatives, depth, start, in_class, i = [], 0, 0, False, 0
    while i < len(pattern):
        character = pattern[i]
        if character == "\\":
            i += 1
        elif in_class:
            in_class = character != "]"
        elif character == "[":
            in_class = True
        elif character in "()":
            depth += 1 if character == "(" else -1
        elif character == "|" and depth == 0:
            alternatives.append(pattern[start:i])
            start = i + 1
        i += 1
    return [*alternatives, pattern[start:]]


class _Branches:
    """A family's pattern, searched as one pattern per kind of start of its alternatives
    (a word boundary, a line start, anything else). Python's regex engine searches branches
    that all start with ``\\b`` two to four times faster than the same branches with one
    starting with a literal or ``^`` among them (measured on 2 KB of prose: fake_authority
    259 against 59 µs); a text matches when one of the parts does."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        kinds: dict[str, list[str]] = {}
        for alternative in _alternatives(pattern.pattern):
            kind = next((k for k in ("\\b", "^") if alternative.startswith(k)), "")
            kinds.setdefault(kind, []).append(alternative)
        self.parts = tuple(re.compile("|".join(a), pattern.flags) for a in kinds.values())

    def search(self, text: str, start: int = 0, end: int = sys.maxsize) -> bool:
        return any(part.search(text, start, end) for part in self.parts)


_SEARCHES = {family: _Branches(pattern) for family, (_, _, pattern) in _RULES.items()}
_MULTILINGUAL_FAMILIES = {
    family: _RULES[family][:2]
    for family in ("instruction_override", "system_prompt_extraction", "task_switch")
}


# Triggers: every match of a family contains one. A trigger is an anchor word (lower case,
# whole) with, where a companion list follows "|", one of its companion words anywhere in the
# text too; or a mark, a substring. A family's pattern runs only near the anchors and marks
# present, so ordinary text costs a few set lookups and a few short searches.
_TRIGGER_GROUPS = {
    "instruction_override": (
        "ignore disregard forget override bypass skip | instruction instructions prompt prompts"
        " rules directions guidelines context restrictions directive directives",
        "ignoriere vergiss missachte übergehe | anweisungen befehle regeln vorgaben instruktionen"
        " alles",
        "ignora ignorez olvida dimentica oublie oubliez oublier | istruzioni instructions"
        " instrucciones consignes indicaciones",
        "instruction instructions directive | new",
        "anweisung anweisungen | neue",
        "forget | everything all",
        "ignore disregard forget | above before",
        "vergiss | alles alle",
        "behind | leave",
        "abweichend | vorherigen",
        "hinter | lass lassen",
        "supersede supersedes | prior previous earlier",
    ),
    "fake_authority": (
        "system admin developer | note notice update message override hinweis",
        "sistema | nota",
        "système systeme | note",
        "systemhinweis",
        "override",
        "changed updated | rules instructions guidelines directive directives",
        "note | bot bots ai ais assistant assistants model models llm llms agent agents",
        "reading processing integrating | ai llm",
    ),
    "safety_bypass": (
        "safety",
        "filter filters limits restrictions censorship limitations | no without",
        "allow | content",
        "restrizioni restricciones restrictions filtri filtris filtro filtros | senza sin sans",
        "desarrollador sviluppatore développeur",
    ),
    "task_switch": (
        "follow | now",
        "task | start begin",
        "folgen | nun",
        "konzentriere",
        "just only | output say print write",
        "answer look respond | just only instead",
        "task job goal directive | real actual true new",
    ),
    "role_play": (
        "now longer | you",
        "unfiltered unrestricted evil jailbroken | act",
        "pretend | rules restrictions filters limits safety",
        "anything | now",
        "dan",
        "developer | mode",
        "jailbreak jailbroken",
        "now | from",
        "bist | jetzt nun sofort",
        "einschränkungen zensur | ohne",
    ),
    "system_prompt_extraction": (
        "prompt instructions message rules above configuration credentials key keys | reveal"
        " show print repeat output tell display leak dump what",
        "systemprompt systemanweisungen anweisungen",
        "prompt | system",
        "regeln | deine",
        "sistema système systeme | prompt istruzioni instructions instrucciones",
    ),
    "exfiltration": (
        "http https",
        "external audit remote | the",
        "tool | without",
    ),
    "encoded_instruction": ("decode decipher rot13 reverse",),
    "reasoning_injection": (
        "reasoning",
        "self | note",
        "memory | save",
        "permission consent | skip",
    ),
    "delimiter_injection": (
        "system | end begin",
        "user | end begin",
        "prompt | end begin",
        "system assistant | :",
    ),
}
_TRIGGER_MARKS = {
    "exfiltration": ("@", "send_email", "delete_file", "transfer_money", "exec_", "execute_"),
    "reasoning_injection": ("<thinking>",),
    "delimiter_injection": ("<|im_", "[inst]", "[/inst]", "<<sys>>", "<</sys>>", "<system>",
                            "</system>", "##"),
}  # fmt: skip


_MARK_CHARACTERS = {
    family: frozenset(next(c for c in mark if not c.isalnum()) for mark in marks)
    for family, marks in _TRIGGER_MARKS.items()
}
_ALL_MARK_CHARACTERS = "".join(frozenset().union(*_MARK_CHARACTERS.values()))


class _Trigger(NamedTuple):
    """Anchor words that open a window when a companion is in the text too (any companion
    when there are none); a companion that is not all letters, such as ":", is also looked
    for as a substring."""

    anchors: frozenset[str]
    companions: frozenset[str]
    companion_substrings: tuple[str, ...]


def _trigger(spec: str) -> _Trigger:
    anchors, _, companions = spec.partition("|")
    substrings = tuple(c for c in companions.split() if not c.isalpha())
    return _Trigger(frozenset(anchors.split()), frozenset(companions.split()), substrings)


_TRIGGERS = {family: tuple(map(_trigger, specs)) for family, specs in _TRIGGER_GROUPS.items()}
_ANCHORS = {
    family: frozenset().union(*(t.anchors for t in triggers))
    for family, triggers in _TRIGGERS.items()
}
_ALL_ANCHORS = frozenset().union(*_ANCHORS.values())
# How far (characters before, after) a family's matches reach from an anchor or mark in them,
# with a margin: the gaps its pattern allows, and the words on either side.
_REACH = {
    "instruction_override": (100, 150),
    "fake_authority": (50, 70),
    "safety_bypass": (90, 110),
    "task_switch": (90, 70),
    "role_play": (40, 100),
    "system_prompt_extraction": (100, 50),
    "exfiltration": (170, 90),
    "encoded_instruction": (20, 100),
    "reasoning_injection": (50, 50),
    "delimiter_injection": (50, 50),
}


_BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{24,}={0,2}")
_BASE32_RUN = re.compile(r"[A-Z2-7]{24,}=*")
_HEX_RUN = re.compile(r"(?:[0-9a-fA-F]{2}){12,}")
_BINARY_RUN = re.compile(r"(?:[01]{8}\s?){6,}")
# Escapes are searched from their "%", and the up to 16 characters before the first one are
# added after (a pattern that began with them would try 16 characters at every position).
_URL_ESCAPES = re.compile(r"(?:%[0-9A-Fa-f]{2}[^%\s]{0,16}){3,}")
_URL_PREFIX = re.compile(r"[^%\s]{0,16}\Z")
_UNICODE_ESCAPES = re.compile(r"(?:\\u[0-9a-fA-F]{4}){4,}")
_ROT13 = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    "NOPQRSTUVWXYZABCDEFGHIJKLMnopqrstuvwxyzabcdefghijklm",
)
_TAG_CHARACTER = re.compile("[\U000e0020-\U000e007e]")
_LEET = str.maketrans("013457@$", "oieastas")
_SHORT_TEXT = 600
# A user message this long may carry pasted content: the document model reads it too.
DOCUMENT_MIN_CHARS = 500


def _decode_runs(pattern: re.Pattern[str], decode: Callable[[str], bytes], text: str) -> list[str]:
    decoded = []
    for match in pattern.finditer(text):
        try:
            decoded.append(decode(match.group()).decode("utf-8", "ignore"))
        except (binascii.Error, ValueError):
            continue
    return decoded


def _url_escaped_runs(text: str) -> list[str]:
    """Runs of three or more URL escapes, with up to 16 characters before and after each."""
    runs, end = [], 0
    for match in _URL_ESCAPES.finditer(text):
        start = match.start()
        prefix = _URL_PREFIX.search(text, max(end, start - 16), start)
        runs.append(text[prefix.start() : match.end()])
        end = match.end()
    return runs


def decoded_variants(text: str) -> list[str]:
    """Texts an attacker may have hidden in ``text``: decoded base64, base32, hex, binary,
    URL and unicode escapes and tag characters, and for short texts the rot13, reversed and
    leetspeak readings. Each decoder runs only when its shape is present."""
    variants = []
    if max(map(len, word_set(text)), default=0) >= 16:
        variants += _decode_runs(
            _BASE64_RUN, lambda s: base64.b64decode(s + "=" * (-len(s) % 4)), text
        )
        variants += _decode_runs(
            _BASE32_RUN, lambda s: base64.b32decode(s + "=" * (-len(s) % 8)), text
        )
        variants += _decode_runs(_HEX_RUN, bytes.fromhex, text)
    # A one-character gate first: it is a memchr, while a search for "0110" costs as much as
    # the rest of this function on a text that holds none.
    if "0" in text and ("0110" in text or "0111" in text):
        for match in _BINARY_RUN.finditer(text):
            variants.append("".join(chr(int(b, 2)) for b in match.group().split() if len(b) == 8))
    if "%" in text:
        variants.extend(map(unquote, _url_escaped_runs(text)))
    if "\\" in text and "\\u" in text:
        variants.extend(
            m.group().encode().decode("unicode_escape", "ignore")
            for m in _UNICODE_ESCAPES.finditer(text)
        )
    if not text.isascii() and _TAG_CHARACTER.search(text):
        tags = "".join(chr(ord(c) - 0xE0000) for c in text if 0xE0020 <= ord(c) <= 0xE007E)
        if len(tags) >= 8:
            variants.append(tags)
    if len(text) <= _SHORT_TEXT:
        readings = (text.translate(_ROT13), text[::-1], text.translate(_LEET))
        variants += [reading for reading in readings if reading != text]
    return variants


def _matching_families(text: str) -> dict[str, tuple[str, float]]:
    lowered = lowercase(text)
    present = word_set(text)
    anchor_words = _ALL_ANCHORS.intersection(present)
    mark_characters = frozenset(c for c in _ALL_MARK_CHARACTERS if c in lowered)
    fired = {}
    for family, (category, weight, _) in _RULES.items():
        anchors = _present_anchors(family, anchor_words, present, lowered)
        marks = _present_marks(family, mark_characters, lowered)
        if (anchors or marks) and _search_near(family, text, lowered, anchors, marks):
            fired[family] = (category, weight)
    return fired


def _present_marks(family: str, mark_characters: frozenset[str], lowered: str) -> list[str]:
    """The family's marks in the text, looked for only when a character that each of them
    holds (a rare one, in ``mark_characters`` when the text has it) is there."""
    if _MARK_CHARACTERS.get(family, frozenset()).isdisjoint(mark_characters):
        return []
    return [mark for mark in _TRIGGER_MARKS[family] if mark in lowered]


def _present_anchors(
    family: str, anchor_words: frozenset[str], present: frozenset[str], lowered: str
) -> set[str]:
    """The family's anchor words in the text (``anchor_words``: all families' anchors that
    are) whose companions are there too."""
    anchors: set[str] = set()
    if _ANCHORS[family].isdisjoint(anchor_words):
        return anchors
    for trigger in _TRIGGERS[family]:
        found = trigger.anchors & anchor_words
        if found and (
            not trigger.companions
            or not trigger.companions.isdisjoint(present)
            or any(map(lowered.__contains__, trigger.companion_substrings))
        ):
            anchors |= found
    return anchors


# A window ends after the word it would cut: the search treats the window's end as the
# text's, where a cut word would end a "\b" match that the whole text does not have.
_WORD_REST = re.compile(r"\w*")


def _search_near(
    family: str,
    text: str,
    lowered: str,
    words: Iterable[str],
    marks: list[str],
) -> bool:
    """Search the family's pattern in ``lowered`` within its reach of each anchor word and
    mark (windows that overlap are searched as one); all of it when it is short."""
    pattern, (before, after) = _SEARCHES[family], _REACH[family]
    if len(lowered) <= before + after:
        return pattern.search(lowered)
    # Positions in `spaced` (one leading space) of " word " are the word's in `lowered`.
    haystack = spaced(text)
    needles = [(haystack, f" {word} ") for word in words] + [(lowered, m) for m in marks]
    spans = []
    for within, needle in needles:
        position = within.find(needle)
        if position < 0:
            return pattern.search(lowered)
        while position >= 0:
            end = _WORD_REST.match(lowered, position + len(needle) + after).end()
            spans.append((max(0, position - before), end))
            position = within.find(needle, position + 1)
    spans.sort()
    merged = [list(spans[0])]
    for start, end in spans[1:]:
        if start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return any(pattern.search(lowered, start, end) for start, end in merged)


def injection_families(text: str) -> dict[str, tuple[str, float]]:
    """The rule families that fire on ``text`` (read as ``text.folded`` leaves it), in
    any of the languages of ``multilingual.py`` too, or on what is encoded in it."""
    fired = _matching_families(text)
    for family in multilingual_families(text):
        fired.setdefault(family, _MULTILINGUAL_FAMILIES[family])
    for variant in decoded_variants(text):
        if _matching_families(variant):
            fired["encoded_payload"] = ("prompt_injection", 0.85)
            break
    return fired


class InjectionModel:
    """The shipped n-gram classifiers (a column of ``weights`` each): ``probabilities(text)``
    of a prompt injection or jailbreak by the prompt model, and of an instruction to the
    model inside content by the document model (trained on windows of documents with and
    without an injected payload), each calibrated (Platt scaling, folded into the weights)
    on the development part of the training data; ``threshold`` and
    ``document_threshold`` are where each flags."""

    def __init__(
        self, weights: np.ndarray, biases: np.ndarray, threshold: float, document_threshold: float
    ) -> None:
        self.weights = np.ascontiguousarray(weights, dtype=np.float32)
        self.biases = biases.astype(np.float64)
        self.threshold = threshold
        self.document_threshold = document_threshold

    @classmethod
    @functools.cache
    def shipped(cls) -> InjectionModel:
        resource = importlib.resources.files("ai_incidents.evaluation") / "models/injection.npz"
        with resource.open("rb") as file, np.load(file) as data:
            weights = data["weights"].astype(np.float32) * data["scales"]
            return cls(
                weights,
                data["biases"],
                float(data["threshold"]),
                float(data["document_threshold"]),
            )

    def probabilities(self, text: str) -> tuple[float, float]:
        """The prompt model's probability and the document model's."""
        prompt, document = linear_scores(model_input(text), self.weights, self.biases)
        return float(prompt), float(document)

    def probability(self, text: str) -> float:
        return self.probabilities(text)[0]


class Risk(NamedTuple):
    """One text's verdict: ``score`` is the calibrated probability of an attack, raised to
    the confidence of the rules that fired; ``flag`` the category when it is flagged."""

    score: float
    flag: str | None
    explanation: str


def rule_confidence(fired: dict[str, tuple[str, float]]) -> float:
    """The confidence of the rule families that fired: the highest family weight, and 0.03
    more for each other family (at most 0.99)."""
    if not fired:
        return 0.0
    weights = sorted((w for _, w in fired.values()), reverse=True)
    return min(0.99, weights[0] + 0.03 * (len(weights) - 1))


def injection_risk(text: str, document: bool = False) -> Risk:
    """The risk of one text, rules and models combined: flagged when a rule fires, the
    prompt model's probability reaches its threshold, or the document model's reaches its
    own, on a ``document`` or on a user message long enough to carry one (a pasted e-mail,
    table or tool output). Recent texts are remembered, so the input guardrail and the
    evaluator judge a message once."""
    model_threshold = threshold("prompt_injection", InjectionModel.shipped().threshold)
    return _risk(text, document, model_threshold)


@functools.lru_cache(maxsize=256)
def _risk(text: str, document: bool, model_threshold: float) -> Risk:
    text = folded(text)
    fired = injection_families(text)
    model = InjectionModel.shipped()
    probability, in_content = model.probabilities(text)
    reasons = [f"model p={probability:.2f}"]
    flagged = probability >= model_threshold
    if document or len(text) >= DOCUMENT_MIN_CHARS:
        reasons.append(f"document model p={in_content:.2f}")
        if in_content >= model.document_threshold:
            flagged, probability = True, max(probability, in_content)
    reasons += [f"rule {family}" for family in sorted(fired)]
    score = max(rule_confidence(fired), probability)
    if not fired and not flagged:
        return Risk(probability, None, ", ".join(reasons))
    categories = {c for c, _ in fired.values()}
    flag = "jailbreak" if categories == {"jailbreak"} else "prompt_injection"
    return Risk(score, flag, ", ".join(reasons))


class PromptInjectionEvaluator:
    """Prompt injection and jailbreak attempts in the latest user message."""

    name = "prompt_injection"
    reads = ("input",)
    aspect = "safety"
    cost = "fast"

    def evaluate(self, interaction: Interaction) -> EvaluationResult | None:
        text = interaction.last_user_text
        if not text:
            return None
        limit = get_settings().injection_scan_chars
        # Rules cost time in proportion to the text (about 0.1 ms per KB of prose): of a
        # long-context prompt they read the ends, where instructions to a model sit.
        score, flag, explanation = injection_risk(head_and_tail(text, limit))
        if len(text) > limit:
            head = limit // 2
            explanation += (
                f"; read the first {head:,} and last {limit - head:,} of {len(text):,} characters"
            )
        return EvaluationResult(self.name, "safety", score, flag or "clean", flag, explanation)
