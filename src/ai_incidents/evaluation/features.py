"""Hashed character n-grams, computed with numpy: the features of the injection classifier.

Text is lower-cased, whitespace is collapsed, and every UTF-8 byte n-gram (n = 3, 4, 5) is
hashed into one of ``2**bits`` buckets. Hashing is a fixed polynomial over bytes, so the
same text gives the same buckets in every process (unlike Python's ``hash``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

NGRAM_SIZES = (3, 4, 5)
DEFAULT_BITS = 16
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
_BASE = np.uint64(257)
# The characters ``str.split`` breaks ASCII text at, each mapped to a space.
_ASCII_WHITESPACE = str.maketrans(dict.fromkeys("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f", " "))


def _collapsed(text: str) -> str:
    """``text`` lower-cased, whitespace runs made one space, no space at either end: the
    same as ``" ".join(text.lower().split())``, without splitting ASCII text into words."""
    lowered = text.lower()
    if not lowered.isascii():
        return " ".join(lowered.split())
    spaced = lowered.translate(_ASCII_WHITESPACE)
    while "  " in spaced:
        spaced = spaced.replace("  ", " ")
    return spaced.strip(" ")


def _bucket_runs(text: str, bits: int) -> Iterator[np.ndarray]:
    """The buckets of each n-gram size in turn, as ``intp`` arrays.

    The n-gram hashes grow one byte at a time (h(n+1) = h(n) * 257 + next byte, modulo
    2**64), so all sizes cost a few vector operations; a multiplicative hash spreads them.
    """
    data = np.frombuffer(_collapsed(text).encode("utf-8"), dtype=np.uint8).astype(np.uint64)
    shift = np.uint64(64 - bits)
    rolling = data
    for n in range(2, NGRAM_SIZES[-1] + 1):
        if len(data) < n:
            return
        rolling = rolling[:-1] * _BASE + data[n - 1 :]
        if n in NGRAM_SIZES:
            # Buckets are below 2**bits, so reading them as signed integers is exact.
            yield ((rolling * _MULTIPLIER) >> shift).view(np.int64).astype(np.intp, copy=False)


def ngram_buckets(text: str, bits: int = DEFAULT_BITS) -> np.ndarray:
    """The bucket of every character n-gram of ``text`` (with repeats), as ``intp``."""
    runs = list(_bucket_runs(text, bits))
    return np.concatenate(runs) if runs else np.zeros(0, dtype=np.intp)


def linear_score(text: str, weights: np.ndarray, bias: float) -> float:
    """Logistic probability of a linear model over the n-gram buckets of ``text``.

    Each occurrence weighs ``1/sqrt(number of n-grams)``, so long and short texts compare.
    """
    total, count = 0.0, 0
    for buckets in _bucket_runs(text, int(np.log2(len(weights)))):
        total += float(weights.take(buckets).sum(dtype=np.float64))
        count += len(buckets)
    if count == 0:
        return 0.0
    z = total / math.sqrt(count) + bias
    return 1.0 / (1.0 + math.exp(-z))
