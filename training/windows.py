"""Training examples of the injection model, one per window it reads (``features``).

A window's label is its text's, except in an indirect injection whose payload is known:
there the windows that hold the whole payload are attacks, those that hold none of it are
benign (the carrier: an e-mail, a table, code), and those that cut it are left out. So the
model learns the instruction, read on its own as it is at run time, and not the document.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse

from ai_incidents.evaluation.features import (
    collapsed,
    length_scale,
    model_input,
    window_buckets,
)


def _payload_span(text: str, payload: str) -> tuple[int, int] | None:
    """The byte range of ``payload`` in what the model reads of ``text``, if it is there."""
    needle = collapsed(payload)
    start = collapsed(text).find(needle) if needle else -1
    return None if start < 0 else (start, start + len(needle))


def _window_label(window: tuple[int, int], span: tuple[int, int] | None, label: int) -> int | None:
    if span is None:
        return label
    (start, end), (payload_start, payload_end) = window, span
    if start <= payload_start and payload_end <= end:
        return 1
    return 0 if payload_end <= start or end <= payload_start else None


def examples(
    texts: Sequence[str], labels: Sequence[int], payloads: Sequence[str], bits: int
) -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray]:
    """One row per window: each n-gram bucket's count times the window's ``length_scale``;
    the windows' labels, and the index of the text each came from."""
    indices, indptr, data, window_labels, owners = [], [0], [], [], []
    for index, (text, label, payload) in enumerate(zip(texts, labels, payloads, strict=True)):
        read = model_input(text)
        span = _payload_span(read, payload) if payload else None
        for window, buckets in window_buckets(read, bits):
            window_label = _window_label(window, span, label)
            if window_label is None:
                continue
            indices.append(buckets)
            data.append(np.full(len(buckets), length_scale(len(buckets))))
            indptr.append(indptr[-1] + len(buckets))
            window_labels.append(window_label)
            owners.append(index)
    matrix = sparse.csr_matrix(
        (np.concatenate(data), np.concatenate(indices), np.array(indptr)),
        shape=(len(indptr) - 1, 1 << bits),
    )
    matrix.sum_duplicates()
    return matrix, np.array(window_labels), np.array(owners)


def text_maxima(window_values: np.ndarray, owners: np.ndarray, count: int) -> np.ndarray:
    """Per text, the highest value of its windows (what the model reports)."""
    maxima = np.full(count, -np.inf)
    np.maximum.at(maxima, owners, window_values)
    return maxima
