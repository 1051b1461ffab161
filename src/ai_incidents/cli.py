"""The ``ai-incidents`` command: ``version``, ``incidents list``, ``incidents show ID``."""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import sys
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ai_incidents.config import get_settings
from ai_incidents.incidents.model import Incident
from ai_incidents.incidents.store import IncidentStore, StoreUnavailable
from ai_incidents.version import __version__


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ai-incidents", description="Detect, raise and contain AI incidents."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("version", help="print the version")
    incidents = commands.add_parser("incidents", help="read the incident store")
    incidents.add_argument("--store", help="SQLite path (default: AI_INCIDENTS_STORE)")
    actions = incidents.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="recent incidents, newest first")
    listing.add_argument("--status", choices=("open", "contained", "resolved"))
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--json", action="store_true", help="JSON instead of a table")
    show = actions.add_parser("show", help="one incident with its evidence and history")
    show.add_argument("id")
    show.add_argument("--json", action="store_true", help="JSON instead of text")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    if args.command == "version":
        print(f"ai-incidents {__version__}")
        return 0
    store = IncidentStore(args.store or get_settings().store, create=False, fall_back=False)
    console = Console(highlight=False)
    try:
        return _incidents(args, store, console)
    except StoreUnavailable as error:
        print(f"ai-incidents: cannot read the incident store: {error}", file=sys.stderr)
        return 2


def _incidents(args: argparse.Namespace, store: IncidentStore, console: Console) -> int:
    if args.action == "list":
        found = store.list(status=args.status, limit=args.limit)
        if args.json:
            print(json.dumps([as_json(i) for i in found], indent=2))
        else:
            console.print(_table(found))
        return 0
    try:
        incident = store.get(args.id)
    except KeyError:
        print(f"ai-incidents: no incident (or more than one) starting {args.id!r} in"
              f" {store.path}", file=sys.stderr)  # fmt: skip
        return 1
    if args.json:
        print(json.dumps(as_json(incident), indent=2))
    else:
        _print_incident(console, incident)
    return 0


def as_json(incident: Incident) -> dict:
    data = dataclasses.asdict(incident)
    data["examples"] = [
        {"trace_id": f"{e.trace_id:032x}", "span_id": f"{e.span_id:016x}"}
        for e in incident.examples
    ]
    data["history"] = [
        {"at": _time(at), "status": status, "note": note} for at, status, note in incident.history
    ]
    data["first_seen"] = _time(incident.first_seen)
    data["last_seen"] = _time(incident.last_seen)
    return data


def _time(timestamp: float) -> str:
    return datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc).isoformat()


def plain(value: object) -> Text:
    """A name from the app or a provider as terminal text: never markup, no control
    characters (escape sequences), whatever it holds."""
    text = str(value)
    if not text.isprintable():
        text = "".join(c if c.isprintable() else "\ufffd" for c in text)
    return Text(text)


def _table(incidents: list[Incident]) -> Table:
    table = Table(title="AI incidents")
    table.add_column("id", no_wrap=True, overflow="fold")
    for column in ("severity", "failure mode", "feature", "model", "count", "status",
                   "last seen", "summary"):  # fmt: skip
        table.add_column(column)
    for i in incidents:
        table.add_row(
            plain(i.id), plain(i.severity), plain(i.failure_mode), plain(i.feature),
            plain(i.model), str(i.count), plain(i.status), _time(i.last_seen)[:19],
            plain(i.summary),
        )  # fmt: skip
    return table


def _print_incident(console: Console, incident: Incident) -> None:
    times = "once" if incident.count == 1 else f"{incident.count} times"
    lines = [
        Text.assemble(
            (incident.id, "bold"), "  ", plain(incident.severity), " ", plain(incident.failure_mode)
        ),
        Text.assemble("summary: ", plain(incident.summary)),
        Text.assemble(
            "feature ",
            plain(incident.feature),
            ", model ",
            plain(incident.model),
            ", status ",
            plain(incident.status),
        ),
        Text.assemble(
            "signals: ", plain(", ".join(incident.signals)), "; action: ", plain(incident.action)
        ),
        Text(f"seen {times}, {_time(incident.first_seen)} to {_time(incident.last_seen)}"),
        Text.assemble("evidence: ", plain(json.dumps(incident.evidence, indent=2))),
    ]
    for example in incident.examples:
        trace_id, span_id = example.hex()
        lines.append(Text(f"example span: trace {trace_id} span {span_id}"))
    for at, status, note in incident.history:
        lines.append(Text.assemble(f"{_time(at)}  ", plain(status), "  ", plain(note)))
    for line in lines:
        console.print(line)


if __name__ == "__main__":
    sys.exit(main())
