"""Who is told of each finished interaction before its span ends (the evaluation stage)."""

from __future__ import annotations

import threading

from ai_incidents.capture.call import InteractionListener

_lock = threading.Lock()
_listeners: tuple[InteractionListener, ...] = ()


def add_listener(listener: InteractionListener) -> None:
    """Call ``listener(interaction, span)`` for every finished LLM call, span still open."""
    global _listeners
    with _lock:
        if listener not in _listeners:
            _listeners = (*_listeners, listener)


def remove_listener(listener: InteractionListener) -> None:
    global _listeners
    with _lock:
        _listeners = tuple(existing for existing in _listeners if existing is not listener)


def registered() -> tuple[InteractionListener, ...]:
    return _listeners
