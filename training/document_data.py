"""Training rows of the document model: content (e-mails, tables, code, documentation) with
and without an instruction to the model inside.

- BIPIA's documents with their payload (the windows that hold it are attacks) and the clean
  carriers; the train part's benign documents;
- benign documents with an attack of the training data (a direct injection or a synthetic
  one) put in at a random sentence break: the payload is known, so only the windows that
  hold it are attacks;
- the long benign texts of the train part and the external sources (the document model
  reads user messages of ``DOCUMENT_MIN_CHARS`` and more too, so it must leave long
  requests alone).
"""

from __future__ import annotations

import random
import re

import dev_data

from ai_incidents.evaluation.injection import DOCUMENT_MIN_CHARS

_SENTENCE_BREAK = re.compile(r"(?<=[.!?\n])\s+")
_INSERT_SHARE = 0.5


def _with_payload(document: str, payload: str, rng: random.Random) -> str:
    breaks = [m.end() for m in _SENTENCE_BREAK.finditer(document)] or [len(document)]
    at = rng.choice([0, *breaks, len(document)])
    return f"{document[:at]}{payload}\n{document[at:]}"


def document_rows(
    train: list[dev_data.Row], payloads: list[dev_data.Row], seed: int = 11
) -> list[dev_data.Row]:
    """The document model's rows, from the training rows (``training_rows``: with the clean
    carriers and the external sources) and attacks ``payloads``, each put only in documents of
    its own language (else the model learns a language for an attack)."""
    rng = random.Random(seed)
    documents = [r for r in train if r.kind == "benign_document"]
    rows = [r for r in train if r.kind == "indirect_injection"] + documents
    rows += [
        r for r in train if not r.label and r.kind != "benign_document"
        and len(r.text) >= DOCUMENT_MIN_CHARS // 2
    ]  # fmt: skip
    by_language: dict[str, list[str]] = {}
    for payload in payloads:
        by_language.setdefault(payload.lang or "en", []).append(payload.text)
    for document in documents:
        candidates = by_language.get(document.lang or "en")
        if candidates and len(document.text) >= 200 and rng.random() < _INSERT_SHARE:
            payload = rng.choice(candidates)
            text = _with_payload(document.text, payload, rng)
            rows.append(dev_data.Row(text, 1, "inserted", document.lang, "indirect_injection",
                                     document.group, payload=payload))  # fmt: skip
    return rows
