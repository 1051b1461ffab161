"""Hashed character and word n-grams, computed with numpy: the features of the injection
classifier.

Text is folded (``text.folded``: NFKC, invisible characters removed, look-alike letters
made Latin), lower-cased, whitespace is collapsed, and in its UTF-8 bytes every character
n-gram (n = 3, 4, 5 bytes), every word and every pair of adjacent words (a word is a run of
ASCII letters and digits and non-ASCII bytes) is hashed into one of ``2**bits`` buckets.
Hashing is a fixed polynomial over bytes, so the same text gives the same buckets in every
process (unlike Python's ``hash``).
"""

from __future__ import annotations

import math

import numpy as np

from ai_incidents.evaluation.text import (
    ASCII_WHITESPACE,
    blank_non_ascii,
    folded,
    head_and_tail,
    single_spaced,
)

NGRAM_SIZES = (3, 4, 5)
DEFAULT_BITS = 18
MEAN_FROM = 150
MODEL_WINDOW = 512
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
_WORD_SALT = np.uint64(0x5BD1E9955BD1E995)
_BASE = 257
# Substring hashes from prefix sums: with P[k] = 257**k and Q[k] = 257**-k (mod 2**64; 257
# is odd, so it has an inverse) and S the running sum of byte * Q, bytes s..e-1 hash to
# P[e-1] * (S[e-1] - S[s-1]), the value of h = h * 257 + byte over them.
_TABLE_SIZE = 4 * 2 * MODEL_WINDOW + 8


def _powers(base: int) -> np.ndarray:
    """``base**k`` modulo 2**64 for k = 0 .. ``_TABLE_SIZE - 1``."""
    powers = np.cumprod(np.full(_TABLE_SIZE - 1, base, np.uint64))
    return np.concatenate((np.ones(1, np.uint64), powers))


_POWERS = _powers(_BASE)
_INVERSE_POWERS = _powers(pow(_BASE, -1, 2**64))
_WORD_BYTE = np.zeros(256, dtype=bool)
_WORD_BYTE[[*b"abcdefghijklmnopqrstuvwxyz0123456789", *range(128, 256)]] = True
_MAX_WORD_BYTES = 40
_WHITESPACE_TO_SPACE = bytes.maketrans(ASCII_WHITESPACE, b" " * len(ASCII_WHITESPACE))


def _collapsed(text: str) -> bytes:
    """``text`` folded and lower-cased, whitespace runs made one space, no space at either
    end, in UTF-8: the same as ``" ".join(folded(text).lower().split())``, without splitting
    the text into words."""
    lowered = folded(text).lower()
    data = lowered.encode(errors="replace")  # a lone surrogate becomes "?"
    if not lowered.isascii():
        data = blank_non_ascii(data, str.isspace)
    return single_spaced(data.translate(_WHITESPACE_TO_SPACE)).strip(b" ")


def model_input(text: str) -> str:
    """What the model reads of ``text``: all of it, or of a long text both ends,
    ``MODEL_WINDOW`` characters each (in training and in use alike)."""
    return head_and_tail(text, 2 * MODEL_WINDOW)


def _substring_hashes(running: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The polynomial hash of bytes ``starts[i]..ends[i]-1``, from ``running`` (S above,
    with a 0 in front)."""
    return _POWERS[ends - 1] * (running[ends] - running[starts])


def ngram_buckets(text: str, bits: int = DEFAULT_BITS) -> np.ndarray:
    """The bucket of every character n-gram, word and word pair of ``text`` (with
    repeats), as ``intp``."""
    raw = _collapsed(text)
    if len(raw) >= _TABLE_SIZE:
        raw = raw[: _TABLE_SIZE - 1]
    data = np.frombuffer(raw, dtype=np.uint8)
    length = len(data)
    if length < NGRAM_SIZES[0]:
        return np.zeros(0, dtype=np.intp)
    running = np.zeros(length + 1, dtype=np.uint64)
    np.cumsum(data * _INVERSE_POWERS[:length], out=running[1:])
    # Character n-grams by slices (no index arrays): bytes i..i+n-1 for every i.
    parts = [
        _POWERS[n - 1 : length] * (running[n:] - running[: length - n + 1])
        for n in NGRAM_SIZES
        if n <= length
    ]
    in_word = np.zeros(length + 2, dtype=bool)
    in_word[1:-1] = _WORD_BYTE.take(data)
    edges = np.flatnonzero(in_word[1:] != in_word[:-1])
    starts, ends = edges[::2], edges[1::2]
    short = ends - starts <= _MAX_WORD_BYTES
    if len(starts):
        words = _substring_hashes(running, starts[short], ends[short])
        pairs = _substring_hashes(running, starts[:-1], ends[1:])
        pairs = pairs[short[:-1] & short[1:]]
        parts.append((words ^ _WORD_SALT) * _MULTIPLIER)
        parts.append((pairs ^ (_WORD_SALT >> np.uint64(1))) * _MULTIPLIER)
    hashes = np.concatenate(parts)
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
        return 1.0 / (1.0 + math.exp(-bias))
    z = float(weights.take(buckets).sum(dtype=np.float64)) * length_scale(len(buckets)) + bias
    return 1.0 / (1.0 + math.exp(-z))
