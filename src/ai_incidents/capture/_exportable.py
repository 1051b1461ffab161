"""Attribute values taken from a provider's body, made exportable: OTLP carries UTF-8 text
(a lone surrogate, which JSON may carry escaped, cannot be) and 64-bit integers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def fits_int64(value: int) -> bool:
    return _INT64_MIN <= value <= _INT64_MAX


def text(value: str) -> str:
    """``value``, with any lone surrogate escaped as ``\\udXXX``."""
    if value.isascii():
        return value
    try:
        value.encode()
    except UnicodeEncodeError:
        return value.encode("utf-8", "backslashreplace").decode()
    return value


def attributes(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` as span or metric attributes: text made exportable; None, empty lists and
    integers past 64 bits left out."""
    exportable: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, str):
            exportable[key] = text(value)
        elif isinstance(value, list):
            if value:
                exportable[key] = [text(v) if isinstance(v, str) else v for v in value]
        elif isinstance(value, bool) or not isinstance(value, int):
            if value is not None:
                exportable[key] = value
        elif fits_int64(value):
            exportable[key] = value
    return exportable
