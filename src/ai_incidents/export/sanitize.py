"""Names from the app or a provider made safe to export: plain text, bounded."""

from __future__ import annotations

MAX_NAME_CHARS = 256


def sanitized(value: object, limit: int = MAX_NAME_CHARS) -> str:
    """``value`` as plain, exportable text: no control characters or lone surrogates (which
    UTF-8 cannot carry), at most ``limit`` characters."""
    text = str(value).encode("utf-8", "replace").decode("utf-8")
    if not text.isprintable():
        text = "".join(c if c.isprintable() else "\ufffd" for c in text)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"
