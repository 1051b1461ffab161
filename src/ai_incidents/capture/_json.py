"""JSON read off the network, where nesting too deep to parse is one more kind of invalid JSON."""

from __future__ import annotations

import json
from typing import Any


def loads(data: bytes | str) -> Any:
    """``json.loads``, raising ``ValueError`` for all it cannot parse: also for nesting too deep,
    for which ``json`` raises ``RecursionError``."""
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
