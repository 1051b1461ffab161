"""``ai-incidents postmortem ID [--out DIR]``: ``postmortem.md`` and a self-contained
``postmortem.html`` (plots embedded as PNG data URIs, no external resources or links).

Both hold the same sections, pre-filled from the evidence: summary and conclusion, the
mission's questions answered, action items, the model and prompt changes, retrieval, drift
statistics, example traces and the timeline of status changes and containment. Names from
the app are escaped in HTML and written as plain text in markdown; no content, no value a
detector found.
"""

from __future__ import annotations

import argparse
import html
import json
from pathlib import Path

from rich.console import Console
from rich.text import Text

from ai_incidents.config import Settings, get_settings
from ai_incidents.incidents.store import IncidentStore
from ai_incidents.investigation.changes import age, percent
from ai_incidents.investigation.investigate import Investigation, investigate, iso
from ai_incidents.investigation.plots import plots
from ai_incidents.investigation.questions import action_items, questions

_DRIFT_KEYS = (
    "metric",
    "psi",
    "js_distance",
    "ks",
    "wasserstein",
    "reference_count",
    "current_count",
    "reference_mean",
    "current_mean",
    "ks_critical",
    "mean_before",
    "mean_after",
    "mean_drop",
    "samples_before",
    "samples_after",
)
_STYLE = (
    "body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.45}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em}"
    "img{max-width:100%}code{background:#f4f4f4}"
)

Section = tuple[str, list[str] | list[list[str]]]
"""A title and its paragraphs (strings) or table rows (lists of cells, the first the head)."""


def sections(found: Investigation, settings: Settings) -> list[Section]:
    """The postmortem's sections, as plain text."""
    incident = found.incident
    overview = [
        f"{incident.severity} {incident.failure_mode} in {incident.feature} ({incident.model}),"
        f" status {incident.status}.",
        f"Summary: {incident.summary}",
        f"Conclusion: {found.conclusion}.",
        f"Onset {iso(found.window.onset)}, detected {iso(incident.first_seen)}, last seen"
        f" {iso(incident.last_seen)}; signals {', '.join(incident.signals)}.",
    ]
    answered = [f"**{q.question}** {q.answer}" for q in questions(found, settings)]
    changes = [["what", "before", "after", "at", "calls from the change to the first affected"]]
    changes += [
        [c.what, c.before, c.after, iso(c.at), _text(c.calls_to_onset)] for c in found.changes
    ]
    drift = [["statistic", "value"]] + [
        [k, _text(incident.evidence[k])] for k in _DRIFT_KEYS if k in incident.evidence
    ]
    timeline = [["at (UTC)", "what", "note"]] + [
        [iso(e.at), e.what, e.note] for e in found.timeline
    ]
    examples = [["trace", "span", "link"]] + [
        [e.trace_id, e.span_id, e.url or "-"] for e in found.examples
    ]
    built: list[Section] = [
        ("Overview", overview),
        ("Questions", answered),
        ("Action items", [f"- {item}" for item in action_items(found)]),
        (
            "Model and prompt changes",
            changes
            if found.changes
            else [
                "No change of the response model, system prompt or prompt template around the"
                " onset."
            ],
        ),
    ]
    if found.retrieval is not None:
        rows = [["", "calls", "relevance", "oldest document", "empty", "data sources"]]
        for name, s in (("before", found.retrieval.before), ("during", found.retrieval.during)):
            rows.append(
                [
                    name,
                    str(s.calls),
                    _text(s.relevance),
                    "-" if s.oldest_age_s is None else age(s.oldest_age_s),
                    "-" if s.empty_share is None else percent(s.empty_share),
                    ", ".join(s.data_sources) or "-",
                ]
            )
        built.append(("Retrieval before and during", rows))
    if len(drift) > 1:
        built.append(("Drift statistics", drift))
    built += [("Example traces", examples), ("Timeline", timeline)]
    return built


def write_postmortem(found: Investigation, out: Path, settings: Settings) -> list[Path]:
    """Write ``postmortem.md`` and ``postmortem.html`` into ``out``; their paths."""
    out.mkdir(parents=True, exist_ok=True)
    parts = sections(found, settings)
    title = f"Postmortem: {found.incident.id}"
    md, page = out / "postmortem.md", out / "postmortem.html"
    md.write_text(markdown(title, parts), encoding="utf-8")
    page.write_text(html_page(title, parts, plots(found)), encoding="utf-8")
    return [md, page]


def markdown(title: str, parts: list[Section]) -> str:
    lines = [f"# {_md(title)}", ""]
    for heading, body in parts:
        lines += [f"## {_md(heading)}", ""]
        if body and isinstance(body[0], list):
            head, *rows = body
            lines.append("| " + " | ".join(_md(c) for c in head) + " |")
            lines.append("|" + "---|" * len(head))
            lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in rows]
        else:
            lines += [_md(str(p)) + "\n" for p in body]
        lines.append("")
    return "\n".join(lines)


def html_page(title: str, parts: list[Section], images: dict[str, str]) -> str:
    out = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for heading, body in parts:
        out.append(f"<h2>{html.escape(heading)}</h2>")
        if body and isinstance(body[0], list):
            head, *rows = body
            out.append(
                "<table><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in head) + "</tr>"
            )
            out += [
                "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                for row in rows
            ]
            out.append("</table>")
        else:
            out += [f"<p>{_bold(html.escape(str(p)))}</p>" for p in body]
        if heading == "Overview" and images:
            out.append("<h2>Plots</h2>")
            out += [
                f'<figure><img alt="{html.escape(name)}" src="{uri}">'
                f"<figcaption>{html.escape(name)}</figcaption></figure>"
                for name, uri in images.items()
            ]
    out.append("</body></html>")
    return "\n".join(out)


def _bold(escaped: str) -> str:
    """The question of an answered paragraph (``**...**``) in bold."""
    if escaped.startswith("**") and escaped.count("**") >= 2:
        question, _, answer = escaped[2:].partition("**")
        return f"<strong>{question}</strong>{answer}"
    return escaped


def _md(value: str) -> str:
    """A line of markdown: no control characters or line breaks, no table cell breaks."""
    text = "".join(c if c.isprintable() else " " for c in value)
    return text.replace("|", "\\|")


def _text(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}"
    return value if isinstance(value, str) else json.dumps(value)


def add_postmortem_parser(
    commands: argparse._SubParsersAction, store: argparse.ArgumentParser
) -> None:
    """``postmortem ID [--out DIR]``, with ``--store`` from ``store``."""
    parser = commands.add_parser(
        "postmortem",
        parents=[store],
        help="write postmortem.md and postmortem.html for one incident",
    )
    parser.add_argument("id", help="an incident id or its unique prefix")
    parser.add_argument("--out", help="the folder to write into (default: ./postmortems/ID/)")


def run_postmortem(args: argparse.Namespace, store: IncidentStore, console: Console) -> int:
    settings = get_settings()
    found = investigate(store, args.id, settings)
    out = Path(args.out) if args.out else Path("postmortems") / found.incident.id
    for path in write_postmortem(found, out, settings):
        console.print(Text(f"wrote {path}"))
    return 0
