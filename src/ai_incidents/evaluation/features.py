"""Hashed character n-grams, computed with numpy: the features of the injection classifier.

Text is lower-cased, whitespace is collapsed, and every UTF-8 byte n-gram (n = 3, 4, 5) is
hashed into one of ``2**bits`` buckets. Hashing is a fixed polynomial over bytes, so the
same text gives the same buckets in every process (unlike Python's ``hash``).
"""

from __future__ import annotations

import math

import numpy as np

from ai_incidents.evaluation.text import (
    ASCII_WHITESPACE,
    blank_non_ascii,
    head_and_tail,
    single_spaced,
)

NGRAM_SIZES = (3, 4, 5)
DEFAULT_BITS = 16
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
_BASE = np.uint64(257)
MEAN_FROM = 150
MODEL_WINDOW = 512
_WHITESPACE_TO_SPACE = bytes.maketrans(ASCII_WHITESPACE, b" " * len(ASCII_WHITESPACE))


def _collapsed(text: str) -> bytes:
    """``text`` lower-cased, whitespace runs made one space, no space at either end, in
    UTF-8: the same as ``" ".join(text.lower().split())``, without splitting the text
    into words."""
    lowered = text.lower()
    data = lowered.encode(errors="replace")  # a lone surrogate becomes "?"
    if not lowered.isascii():
        data = blank_non_ascii(data, str.isspace)
    return single_spaced(data.translate(_WHITESPACE_TO_SPACE)).strip(b" ")


def model_input(text: str) -> str:
    """What the model reads of ``text``: all of it, or of a long text both ends,
    ``MODEL_WINDOW`` characters each (in training and in use alike)."""
    return head_and_tail(text, 2 * MODEL_WINDOW)


def ngram_buckets(text: str, bits: int = DEFAULT_BITS) -> np.ndarray:
    """The bucket of every character n-gram of ``text`` (with repeats), as ``intp``.

    The n-gram hashes grow one byte at a time (h(n+1) = h(n) * 257 + next byte, modulo
    2**64), so all sizes cost a few vector operations, written in place into one array; a
    multiplicative hash spreads them.
    """
    data = np.frombuffer(_collapsed(text), dtype=np.uint8).astype(np.uint64)
    sizes = [n for n in NGRAM_SIZES if n <= len(data)]
    if not sizes:
        return np.zeros(0, dtype=np.intp)
    hashes = np.empty(sum(len(data) - n + 1 for n in sizes), dtype=np.uint64)
    rolling, filled = data, 0
    for n in range(2, sizes[-1] + 1):
        count = len(data) - n + 1
        kept = n in sizes
        grown = hashes[filled : filled + count] if kept else np.empty(count, np.uint64)
        np.multiply(rolling[:-1], _BASE, out=grown)
        grown += data[n - 1 :]
        filled += count if kept else 0
        rolling = grown
    hashes *= _MULTIPLIER
    hashes >>= np.uint64(64 - bits)
    # Buckets are below 2**bits, so reading them as signed integers is exact.
    return hashes.view(np.int64).astype(np.intp, copy=False)


def length_scale(count: int) -> float:
    """What the summed weights of ``count`` n-grams are multiplied by: ``1/sqrt(count)`` up
    to ``MEAN_FROM`` n-grams (a short text's few n-grams are weak evidence), then a constant
    times ``1/count``, the mean weight, which does not grow with length. Scaling by
    ``1/sqrt(count)`` throughout makes any long text look like an attack."""
    if count <= MEAN_FROM:
        return 1.0 / math.sqrt(max(count, 1))
    return math.sqrt(MEAN_FROM) / count


def linear_score(text: str, weights: np.ndarray, bias: float) -> float:
    """Logistic probability of a linear model over the n-gram buckets of ``text``.

    The weights of the text's n-grams are summed and scaled by ``length_scale``.
    """
    buckets = ngram_buckets(text, len(weights).bit_length() - 1)
    if len(buckets) == 0:
        return 0.0
    z = float(weights.take(buckets).sum(dtype=np.float64)) * length_scale(len(buckets)) + bias
    return 1.0 / (1.0 + math.exp(-z))
