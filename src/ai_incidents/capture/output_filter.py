"""The output guardrail inside capture: answers rewritten before the app receives them.

A ``Redactor`` (given by the guardrails through the gate) masks what must not reach the app
(secrets, personal data) and counts it by kind. Capture keeps reading the original answer,
so evaluation and detection still see the leak; only what the app receives changes.

- A JSON answer (OpenAI chat completions, Anthropic messages) is rewritten in full: its
  answer texts masked, ``content-length`` set, any ``content-encoding`` dropped (the body
  handed over is decoded).
- A streamed answer is rewritten event by event. The text of each choice or content block is
  held back by up to ``LOOK_BEHIND`` characters, so a secret split across events is still
  found whole; what is held back is released with the choice's last chunk (OpenAI) or in an
  extra text delta just before the block ends (Anthropic).
"""

from __future__ import annotations

import collections
import json
from collections.abc import Callable
from typing import Any

LOOK_BEHIND = 160
"""Characters of a stream's text held back (longer than a key, an e-mail or a card number)."""
_BLOCK_START = "-----BEGIN"
_MAX_BLOCK = 8192
"""A PEM block (a private key) is held until it ends, up to this many characters."""
Redaction = tuple[str, int, int]
Redactor = Callable[[str], list[Redaction]]
"""Finds what to mask in a text: ``(kind, start, end)`` spans."""
FILTERED_FORMATS = frozenset({"openai.chat_completions", "anthropic.messages"})


def masked(text: str, spans: list[Redaction], counts: collections.Counter[str]) -> str:
    """``text`` with each span replaced by ``[redacted: kind]``, counted in ``counts``."""
    parts, position = [], 0
    for kind, start, end in sorted(spans, key=lambda s: (s[1], -s[2])):
        if start < position:
            continue
        parts += [text[position:start], f"[redacted: {kind}]"]
        counts[kind] += 1
        position = end
    return "".join(parts) + text[position:]


def rewrite_json(wire_format: str, raw: bytes, find: Redactor,
                 counts: collections.Counter[str]) -> bytes | None:  # fmt: skip
    """The JSON answer with its texts masked, or None when nothing was masked."""
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    before = sum(counts.values())
    if wire_format == "openai.chat_completions":
        for choice in body.get("choices") or ():
            message = choice.get("message") if isinstance(choice, dict) else None
            if isinstance(message, dict) and isinstance(message.get("content"), str):
                text = message["content"]
                message["content"] = masked(text, find(text), counts)
    elif wire_format == "anthropic.messages":
        for block in body.get("content") or ():
            if isinstance(block, dict) and block.get("type") == "text":
                text = str(block.get("text", ""))
                block["text"] = masked(text, find(text), counts)
    if sum(counts.values()) == before:
        return None
    return json.dumps(body).encode()


class StreamRedactor:
    """Rewrites a server-sent event stream's answer text (see the module docstring)."""

    def __init__(self, wire_format: str, find: Redactor) -> None:
        self.wire_format = wire_format
        self.find = find
        self.counts: collections.Counter[str] = collections.Counter()
        self._pending = b""
        self._held: dict[int, str] = {}

    def feed(self, chunk: bytes) -> bytes:
        """What to hand the app now for ``chunk``: the complete events, rewritten."""
        data = self._pending + chunk
        out = []
        while True:
            end, separator = _event_end(data)
            if end < 0:
                break
            out.append(self._event(data[:end]) + separator)
            data = data[end + len(separator) :]
        self._pending = data
        return b"".join(out)

    def finish(self) -> bytes:
        """The end of the stream: what is left, as it came."""
        rest, self._pending = self._pending, b""
        return rest

    def _event(self, raw: bytes) -> bytes:
        lines = raw.split(b"\n")
        data_lines = [i for i, line in enumerate(lines) if line.startswith(b"data:")]
        if len(data_lines) != 1:
            return raw
        index = data_lines[0]
        payload = lines[index][5:].strip()
        try:
            event = json.loads(payload)
        except ValueError:
            return raw
        if not isinstance(event, dict):
            return raw
        extra = b""
        if self.wire_format == "openai.chat_completions":
            changed = self._openai(event)
        else:
            changed, extra = self._anthropic(event)
        if not changed:
            return extra + raw if extra else raw
        lines[index] = b"data: " + json.dumps(event).encode()
        return extra + b"\n".join(lines)

    def _openai(self, event: dict[str, Any]) -> bool:
        changed = False
        for choice in event.get("choices") or ():
            if not isinstance(choice, dict):
                continue
            delta = choice.get("delta")
            if not isinstance(delta, dict):
                continue
            slot = int(choice.get("index") or 0)
            text = delta.get("content")
            final = choice.get("finish_reason") is not None
            if isinstance(text, str) or final:
                released = self._release(slot, text if isinstance(text, str) else "", final)
                if released != text and (released or isinstance(text, str)):
                    delta["content"] = released
                    changed = True
        return changed

    def _anthropic(self, event: dict[str, Any]) -> tuple[bool, bytes]:
        kind = event.get("type")
        slot = int(event.get("index") or 0)
        delta = event.get("delta")
        if kind == "content_block_delta" and isinstance(delta, dict):
            if delta.get("type") == "text_delta" and isinstance(delta.get("text"), str):
                released = self._release(slot, delta["text"], final=False)
                if released != delta["text"]:
                    delta["text"] = released
                    return True, b""
            return False, b""
        if kind == "content_block_stop" and self._held.get(slot):
            rest = self._release(slot, "", final=True)
            flush = {"type": "content_block_delta", "index": slot,
                     "delta": {"type": "text_delta", "text": rest}}  # fmt: skip
            return False, b"event: content_block_delta\ndata: " + json.dumps(flush).encode() + (
                b"\n\n"
            )
        return False, b""

    def _release(self, slot: int, text: str, final: bool) -> str:
        """Add ``text`` to the slot's held text; return what may go to the app now, masked."""
        held = self._held.get(slot, "") + text
        spans = self.find(held)
        cut = len(held) if final else max(len(held) - LOOK_BEHIND, 0)
        block = held.rfind(_BLOCK_START, 0, cut)
        if (
            block >= 0
            and not final
            and "-----END" not in held[block:]
            and (len(held) - block < _MAX_BLOCK)
        ):
            cut = block
        for _, start, end in spans:
            if start < cut < end:
                cut = start
        inside = [s for s in spans if s[2] <= cut]
        self._held[slot] = held[cut:]
        return masked(held[:cut], inside, self.counts)


def _event_end(data: bytes) -> tuple[int, bytes]:
    """Where the first complete event of ``data`` ends, and its separator (-1: none yet)."""
    found = [(data.find(s), s) for s in (b"\r\n\r\n", b"\n\n") if data.find(s) >= 0]
    return min(found) if found else (-1, b"")
