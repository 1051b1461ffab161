"""``content-encoding`` decoders for the bytes capture reads, with the packages httpx uses:
zlib for gzip and deflate, ``brotli`` or ``brotlicffi`` for br, ``zstandard`` for zstd."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

Decode = Callable[[bytes], bytes]


def _identity(data: bytes) -> bytes:
    return data


def _zlib() -> Decode:
    return zlib.decompressobj(zlib.MAX_WBITS | 32).decompress  # a gzip or zlib header


def _brotli() -> Decode | None:
    try:
        import brotli
    except ImportError:
        try:
            import brotlicffi as brotli
        except ImportError:
            return None
    decompressor = brotli.Decompressor()
    decode: Decode = getattr(decompressor, "process", None) or decompressor.decompress
    return decode


def _zstd() -> Decode | None:
    try:
        import zstandard
    except ImportError:
        return None
    frame: list[Any] = [zstandard.ZstdDecompressor().decompressobj()]

    def decode(data: bytes) -> bytes:
        out = [frame[0].decompress(data)]
        while frame[0].eof and frame[0].unused_data:  # frames one after another
            rest = frame[0].unused_data
            frame[0] = zstandard.ZstdDecompressor().decompressobj()
            out.append(frame[0].decompress(rest))
        return b"".join(out)

    return decode


_DECODERS: dict[str, Callable[[], Decode | None]] = {
    "gzip": _zlib,
    "x-gzip": _zlib,
    "deflate": _zlib,
    "br": _brotli,
    "zstd": _zstd,
}


def decoder(content_encoding: str) -> Decode | None:
    """A decoder for a body of this ``content-encoding`` (codings listed in the order they were
    applied), fed the body piece by piece; None if a coding cannot be decoded here."""
    steps: list[Decode] = []
    for coding in reversed(content_encoding.lower().split(",")):
        coding = coding.strip()
        if coding in ("", "identity"):
            continue
        make = _DECODERS.get(coding)
        step = make() if make is not None else None
        if step is None:
            return None
        steps.append(step)
    if not steps:
        return _identity
    if len(steps) == 1:
        return steps[0]

    def decode(data: bytes) -> bytes:
        for step in steps:
            data = step(data)
        return data

    return decode
