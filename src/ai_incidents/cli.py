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

from ai_incidents.config import get_settings
from ai_incidents.incidents.model import Incident
from ai_incidents.incidents.store import IncidentStore
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
    store = IncidentStore(args.store or get_settings().store)
    console = Console()
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
        print(f"ai-incidents: no incident {args.id!r} in {store.path}", file=sys.stderr)
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


def _table(incidents: list[Incident]) -> Table:
    table = Table(title="AI incidents")
    for column in ("id", "severity", "failure mode", "feature", "model", "signals", "count",
                   "status", "last seen"):  # fmt: skip
        table.add_column(column)
    for i in incidents:
        table.add_row(
            i.id, i.severity, i.failure_mode, i.feature, i.model, ",".join(i.signals),
            str(i.count), i.status, _time(i.last_seen)[:19],
        )  # fmt: skip
    return table


def _print_incident(console: Console, incident: Incident) -> None:
    console.print(f"[bold]{incident.id}[/bold]  {incident.severity} {incident.failure_mode}")
    console.print(f"feature {incident.feature}, model {incident.model}, status {incident.status}")
    console.print(f"signals: {', '.join(incident.signals)}; action: {incident.action}")
    console.print(f"seen {incident.count} times, {_time(incident.first_seen)} to "
                  f"{_time(incident.last_seen)}")  # fmt: skip
    console.print("evidence:", json.dumps(incident.evidence, indent=2))
    for example in incident.examples:
        trace_id, span_id = example.hex()
        console.print(f"example span: trace {trace_id} span {span_id}")
    for at, status, note in incident.history:
        console.print(f"{_time(at)}  {status}  {note}")


if __name__ == "__main__":
    sys.exit(main())
