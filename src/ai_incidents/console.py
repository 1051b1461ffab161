"""Terminal text for names that come from the app or a provider."""

from __future__ import annotations

from rich.text import Text


def plain(value: object) -> Text:
    """A name from the app or a provider as terminal text: never markup, no control
    characters (escape sequences), whatever it holds."""
    text = str(value)
    if not text.isprintable():
        text = "".join(c if c.isprintable() else "\ufffd" for c in text)
    return Text(text)
