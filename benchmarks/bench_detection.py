"""Detection quality of the built-in safety detectors on public labeled data.

    python benchmarks/bench_detection.py

Prompt injection: per source, the share of attacks caught and of benign prompts flagged,
then precision, recall and F1 pooled over the held-out sources (never used in training; the
injection model's training sources are listed in training/public_data.py), for the rules, the
model and both together. Held-out data is fetched from PyPI, npm and Debian on first use.
PII: entity-level precision and recall on the presidio-research synthetic set, per kind.
Throughput: prompts per second on one core. Needs ../shared/datasets (see its README).
"""

from __future__ import annotations

import collections
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "training"))

import public_data  # noqa: E402

from ai_incidents.evaluation.injection import (  # noqa: E402
    InjectionModel,
    injection_families,
    injection_risk,
)
from ai_incidents.evaluation.pii import pii_spans  # noqa: E402

PRESIDIO = ROOT.parent / "shared/datasets/pii/presidio-synth-v2.json"
PRESIDIO_KINDS = {
    "EMAIL_ADDRESS": "email",
    "PHONE_NUMBER": "phone",
    "CREDIT_CARD": "credit_card",
    "IBAN_CODE": "iban",
    "US_SSN": "ssn",
    "IP_ADDRESS": "ip_address",
}


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def injection_report() -> None:
    model = InjectionModel.shipped()
    detectors = {
        "rules": lambda text: bool(injection_families(text)),
        "model": lambda text: model.probability(text) >= model.threshold,
        "rules+model": lambda text: injection_risk(text)[1] is not None,
    }
    training = public_data.load(public_data.TRAINING)
    held_out = public_data.load(public_data.HELD_OUT, public_data.keys(training))
    print("Prompt injection, held-out sources (deduplicated against the training sources)")
    print(f"{'source':24} {'attacks':>8} {'benign':>7}  " + "  ".join(
        f"{name + ' caught/flagged':>28}" for name in detectors))  # fmt: skip
    pooled = {name: collections.Counter() for name in detectors}
    for source, rows in held_out.items():
        attacks = [text for text, label, _ in rows if label]
        benign = [text for text, label, _ in rows if not label]
        cells = []
        for name, detect in detectors.items():
            caught = sum(map(detect, attacks))
            flagged = sum(map(detect, benign))
            pooled[name].update(tp=caught, fn=len(attacks) - caught, fp=flagged,
                                tn=len(benign) - flagged)  # fmt: skip
            cells.append(f"{_share(caught, attacks):>13} / {_share(flagged, benign):>12}")
        print(f"{source:24} {len(attacks):8} {len(benign):7}  " + "  ".join(cells))
    print()
    print(f"{'pooled':24} {'precision':>9} {'recall':>7} {'F1':>6} {'FP rate':>8}")
    for name, c in pooled.items():
        precision, recall, f1 = prf(c["tp"], c["fp"], c["fn"])
        rate = c["fp"] / max(c["fp"] + c["tn"], 1)
        print(f"{name:24} {precision:9.3f} {recall:7.3f} {f1:6.3f} {rate:8.3f}")
    questions = [t for t, label, _ in held_out["debian_faq"] if not label]
    flagged = sum(injection_risk(t)[1] is not None for t in questions)
    print(f"ordinary user questions (Debian FAQ, en+de): {flagged}/{len(questions)} flagged")
    texts = [t for rows in held_out.values() for t, _, _ in rows]
    started = time.perf_counter()
    for text in texts:
        injection_risk(text)
    elapsed = time.perf_counter() - started
    print(f"throughput: {len(texts) / elapsed:,.0f} prompts/s (rules+model, one core)\n")


def _share(count: int, items: list) -> str:
    return f"{count}/{len(items)}" if items else "-"


def pii_report() -> None:
    rows = json.loads(PRESIDIO.read_text())
    counts = {kind: collections.Counter() for kind in PRESIDIO_KINDS.values()}
    started = time.perf_counter()
    found_by_row = [pii_spans(row["full_text"]) for row in rows]
    elapsed = time.perf_counter() - started
    for row, found in zip(rows, found_by_row, strict=True):
        gold = [
            (PRESIDIO_KINDS[s["entity_type"]], s["start_position"], s["end_position"])
            for s in row["spans"]
            if s["entity_type"] in PRESIDIO_KINDS
        ]
        matched = set()
        for kind, start, end in found:
            overlapping = (
                i
                for i, (k, a, b) in enumerate(gold)
                if k == kind and start < b and a < end and i not in matched
            )
            hit = next(overlapping, None)
            if hit is None:
                counts[kind]["fp"] += 1
            else:
                counts[kind]["tp"] += 1
                matched.add(hit)
        for i, (kind, _, _) in enumerate(gold):
            if i not in matched:
                counts[kind]["fn"] += 1
    print("PII, presidio-research synth_dataset_v2 (1,500 sentences), entity level")
    print(f"{'kind':12} {'gold':>5} {'precision':>9} {'recall':>7} {'F1':>6}")
    for kind, c in counts.items():
        precision, recall, f1 = prf(c["tp"], c["fp"], c["fn"])
        print(f"{kind:12} {c['tp'] + c['fn']:5} {precision:9.3f} {recall:7.3f} {f1:6.3f}")
    print(f"throughput: {len(rows) / elapsed:,.0f} sentences/s (one core)")


if __name__ == "__main__":
    injection_report()
    pii_report()
