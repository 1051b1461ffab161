"""``ai-incidents investigate ID [--json]`` on the terminal: an ``Investigation`` as rich
text, every name from the app as plain text, ids unwrapped."""

from __future__ import annotations

import argparse
import json

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ai_incidents.console import plain
from ai_incidents.incidents.store import IncidentStore
from ai_incidents.investigation.changes import RetrievalStats, age, percent
from ai_incidents.investigation.investigate import Investigation, investigate, iso

_MAX_MINUTES = 30
"""Minutes shown on the terminal (the latest ones; ``--json`` has them all)."""


def add_investigate_parser(
    commands: argparse._SubParsersAction, store: argparse.ArgumentParser
) -> None:
    """``investigate ID [--json]``, with ``--store`` from ``store``."""
    parser = commands.add_parser(
        "investigate", parents=[store], help="what the recorded calls say about one incident"
    )
    parser.add_argument("id", help="an incident id or its unique prefix")
    parser.add_argument("--json", action="store_true", help="JSON instead of text")


def run_investigate(args: argparse.Namespace, store: IncidentStore, console: Console) -> int:
    found = investigate(store, args.id)
    if args.json:
        print(json.dumps(found.as_json(), indent=2, default=str))
    else:
        print_investigation(console, found)
    return 0


def print_investigation(console: Console, found: Investigation) -> None:
    incident, window = found.incident, found.window
    console.print(
        Text.assemble(
            (incident.id, "bold"),
            "  ",
            plain(incident.severity),
            " ",
            plain(incident.failure_mode),
            "  ",
            plain(incident.status),
        )
    )
    console.print(
        Text.assemble("feature ", plain(incident.feature), ", model ", plain(incident.model))
    )
    console.print(Text.assemble(("conclusion: ", "bold"), plain(found.conclusion)))
    console.print(Text.assemble("summary: ", plain(incident.summary)))
    console.print(
        Text(
            f"onset {iso(window.onset)}, first detected {iso(incident.first_seen)}, last seen"
            f" {iso(incident.last_seen)}; {len(window.before)} calls recorded before the onset,"
            f" {len(window.during)} since"
        )
    )
    console.print(_minutes(found))
    for change in found.changes:
        console.print(
            Text.assemble(
                f"change: {change.what} ",
                plain(change.before),
                " -> ",
                plain(change.after),
                f" at {iso(change.at)}",
            )
        )
    if not found.changes:
        console.print(
            Text(
                "change: none of the response model, system prompt or prompt"
                " template around the onset"
            )
        )
    if found.retrieval is not None:
        console.print(_retrieval(found))
    console.print(Text.assemble("signals: ", plain(", ".join(incident.signals))))
    console.print(Text.assemble("evidence: ", plain(json.dumps(_scalars(incident.evidence)))))
    for example in found.examples:
        link = example.url or f"trace {example.trace_id}"
        console.print(Text.assemble("example: ", plain(link), f" (span {example.span_id})"))
    for event in found.timeline:
        console.print(
            Text.assemble(f"{iso(event.at)}  ", plain(event.what), "  ", plain(event.note))
        )


def _minutes(found: Investigation) -> Table:
    table = Table(title=f"Affected requests ({found.what}) per minute")
    for column in ("minute (UTC)", "calls", "affected", "share"):
        table.add_column(column, no_wrap=True, justify="left" if column[0] == "m" else "right")
    for minute in found.minutes[-_MAX_MINUTES:]:
        table.add_row(
            iso(minute.start)[:16], str(minute.calls), str(minute.affected), percent(minute.share)
        )
    return table


def _retrieval(found: Investigation) -> Table:
    comparison = found.retrieval
    assert comparison is not None
    table = Table(title="Retrieval before and during")
    for column in ("", "calls", "relevance", "oldest document", "empty", "data sources"):
        table.add_column(column)
    for name, stats in (("before", comparison.before), ("during", comparison.during)):
        table.add_row(name, *_retrieval_row(stats))
    return table


def _retrieval_row(stats: RetrievalStats) -> list[Text | str]:
    return [
        str(stats.calls),
        "-" if stats.relevance is None else f"{stats.relevance:.2f}",
        "-" if stats.oldest_age_s is None else age(stats.oldest_age_s),
        "-" if stats.empty_share is None else percent(stats.empty_share),
        plain(", ".join(stats.data_sources) or "-"),
    ]


def _scalars(evidence: dict) -> dict:
    """The evidence without its histograms (numbers, names and short lists of names)."""
    return {
        k: v
        for k, v in evidence.items()
        if not (isinstance(v, list) and any(isinstance(x, (int, float)) for x in v))
    }
