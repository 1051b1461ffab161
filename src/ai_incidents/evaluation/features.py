"""Hashed character and word n-grams, computed with numpy: the features of the injection
classifier.

Text is folded (``text.folded``: NFKC, invisible characters removed, look-alike letters
made Latin), lower-cased, whitespace is collapsed, and in its UTF-8 bytes every character
n-gram (n = 3, 4, 5 bytes), every word and every pair of adjacent words (a word is a run of
ASCII letters and digits and non-ASCII bytes) is hashed into one of ``2**bits`` buckets.
Hashing is a fixed polynomial over bytes, so the same text gives the same buckets in every
process (unlike Python's ``hash``).

The model reads a text in windows of ``MODEL_WINDOW`` bytes that overlap by half (an
n-gram belongs to the window its first byte is in) and scores the riskiest one, so an
instruction in the middle of a pasted e-mail is read on its own, not diluted by the e-mail.
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
DEFAULT_BITS = 17
MEAN_FROM = 150
MODEL_WINDOW = 1024
WINDOW_STEP = MODEL_WINDOW // 2
MODEL_READ = 4096
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
_WORD_SALT = np.uint64(0x5BD1E9955BD1E995)
_BASE = 257
# Substring hashes from prefix sums: with P[k] = 257**k and Q[k] = 257**-k (mod 2**64; 257
# is odd, so it has an inverse) and S the running sum of byte * Q, bytes s..e-1 hash to
# P[e-1] * (S[e-1] - S[s-1]), the value of h = h * 257 + byte over them.
_TABLE_SIZE = 4 * MODEL_READ + 8


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


def collapsed(text: str) -> bytes:
    """``text`` folded and lower-cased, whitespace runs made one space, no space at either
    end, in UTF-8: the same as ``" ".join(folded(text).lower().split())``, without splitting
    the text into words."""
    lowered = folded(text).lower()
    data = lowered.encode(errors="replace")  # a lone surrogate becomes "?"
    if not lowered.isascii():
        data = blank_non_ascii(data, str.isspace)
    return single_spaced(data.translate(_WHITESPACE_TO_SPACE)).strip(b" ")


def model_input(text: str) -> str:
    """What the model reads of ``text``: all of it, or of a long text its first and last
    ``MODEL_READ // 2`` characters (in training and in use alike)."""
    return head_and_tail(text, MODEL_READ)


def _substring_hashes(running: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The polynomial hash of bytes ``starts[i]..ends[i]-1``, from ``running`` (S above,
    with a 0 in front)."""
    return _POWERS[ends - 1] * (running[ends] - running[starts])


def _hashes(text: str, bits: int) -> tuple[list[np.ndarray], np.ndarray, int]:
    """The buckets of ``text``'s character n-grams (one array per size, the n-gram at byte
    ``i`` at index ``i``), those of its words and word pairs with their first bytes, and the
    length in bytes of what was read."""
    raw = collapsed(text)
    if len(raw) >= _TABLE_SIZE:
        raw = raw[: _TABLE_SIZE - 1]
    data = np.frombuffer(raw, dtype=np.uint8)
    length = len(data)
    if length < NGRAM_SIZES[0]:
        return [], np.zeros(0, dtype=np.intp), length
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
    paired = short[:-1] & short[1:]
    words = _substring_hashes(running, starts[short], ends[short])
    pairs = _substring_hashes(running, starts[:-1], ends[1:])[paired]
    parts.append((words ^ _WORD_SALT) * _MULTIPLIER)
    parts.append((pairs ^ (_WORD_SALT >> np.uint64(1))) * _MULTIPLIER)
    word_starts = np.concatenate((starts[short], starts[:-1][paired]))
    return [_bucket(part, bits) for part in parts], word_starts, length


def _bucket(hashes: np.ndarray, bits: int) -> np.ndarray:
    hashes = hashes * _MULTIPLIER
    hashes >>= np.uint64(64 - bits)
    # Buckets are below 2**bits, so reading them as signed integers is exact.
    return hashes.view(np.int64).astype(np.intp, copy=False)


def ngram_buckets(text: str, bits: int = DEFAULT_BITS) -> np.ndarray:
    """The bucket of every character n-gram, word and word pair of ``text`` (with
    repeats), as ``intp``."""
    parts, _, _ = _hashes(text, bits)
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.intp)


def window_bounds(length: int) -> list[tuple[int, int]]:
    """The byte ranges of the windows of a text of ``length`` bytes: two consecutive blocks
    of ``WINDOW_STEP`` bytes each (the last one may be short)."""
    if length <= MODEL_WINDOW:
        return [(0, length)]
    starts = range(0, length - WINDOW_STEP, WINDOW_STEP)
    return [(start, min(start + MODEL_WINDOW, length)) for start in starts]


_BLOCKS = np.arange(_TABLE_SIZE) // WINDOW_STEP


def _blocks(parts: list[np.ndarray], word_starts: np.ndarray) -> np.ndarray:
    """The block of each n-gram's first byte, in the order of ``np.concatenate(parts)``."""
    characters = [_BLOCKS[: len(part)] for part in parts[: len(parts) - 2]]
    return np.concatenate([*characters, word_starts // WINDOW_STEP])


def window_buckets(text: str, bits: int = DEFAULT_BITS) -> list[tuple[tuple[int, int], np.ndarray]]:
    """``(byte range, buckets)`` of each window of ``text`` (for training)."""
    parts, word_starts, length = _hashes(text, bits)
    if not parts:
        return [((0, length), np.zeros(0, dtype=np.intp))]
    buckets, blocks = np.concatenate(parts), _blocks(parts, word_starts)
    bounds = window_bounds(length)
    if len(bounds) == 1:
        return [(bounds[0], buckets)]
    return [
        ((s, e), buckets[(blocks == s // WINDOW_STEP) | (blocks == s // WINDOW_STEP + 1)])
        for s, e in bounds
    ]


def length_scale(count: int | np.ndarray) -> float | np.ndarray:
    """What the summed weights of ``count`` n-grams are multiplied by: ``1/sqrt(count)`` up
    to ``MEAN_FROM`` n-grams (a short text's few n-grams are weak evidence), then a constant
    times ``1/count``, the mean weight, which does not grow with length. Scaling by
    ``1/sqrt(count)`` throughout makes any long text look like an attack."""
    count = np.maximum(count, 1)
    return np.where(count <= MEAN_FROM, 1.0 / np.sqrt(count), math.sqrt(MEAN_FROM) / count)


def linear_scores(text: str, weights: np.ndarray, biases: np.ndarray) -> np.ndarray:
    """Logistic probabilities of linear models (a column of ``weights`` and an entry of
    ``biases`` each) over the n-gram buckets of ``text``, each of its riskiest window: the
    weights of a window's n-grams are summed and scaled by ``length_scale``."""
    parts, word_starts, length = _hashes(text, weights.shape[0].bit_length() - 1)
    if not parts:
        return 1.0 / (1.0 + np.exp(-biases))
    if length <= MODEL_WINDOW:
        buckets = np.concatenate(parts)
        totals = weights.take(buckets, axis=0).sum(axis=0, dtype=np.float64)
        return 1.0 / (1.0 + np.exp(-(totals * length_scale(len(buckets)) + biases)))
    # Per block, the summed weights and the count of the n-grams that start there (each
    # part's n-grams are in order of their first byte: running sums read at the block
    # edges); a window is two consecutive blocks.
    edges = np.arange(0, length + WINDOW_STEP, WINDOW_STEP)
    sums = np.zeros((len(edges) - 1, len(biases)))
    numbers = np.zeros(len(edges) - 1)
    characters = len(parts) - 2
    word_count = len(parts[-2])
    positions = (None,) * characters + (word_starts[:word_count], word_starts[word_count:])
    for part, starts in zip(parts, positions, strict=True):
        at = np.minimum(edges, len(part)) if starts is None else np.searchsorted(starts, edges)
        running = np.zeros((len(part) + 1, len(biases)))
        np.cumsum(weights.take(part, axis=0), axis=0, out=running[1:])
        sums += running[at[1:]] - running[at[:-1]]
        numbers += np.diff(at)
    totals = sums[:-1] + sums[1:]
    z = totals * length_scale(numbers[:-1] + numbers[1:])[:, None] + biases
    return 1.0 / (1.0 + np.exp(-z.max(axis=0)))
