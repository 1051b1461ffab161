"""The ``ai-incidents`` command: ``incidents list|show|ack|contain|resolve``, ``review
list|approve|reject``, ``investigate``, ``postmortem``, ``version``."""

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

from ai_incidents import demo
from ai_incidents.config import get_settings
from ai_incidents.console import plain
from ai_incidents.containment.policy import ACTIONS, ContainmentPolicy
from ai_incidents.containment.responder import contain, resolve
from ai_incidents.containment.review import ReviewQueue
from ai_incidents.containment.state import Action, ContainmentState
from ai_incidents.incidents.model import Incident
from ai_incidents.incidents.store import STATUSES, IncidentStore, StoreUnavailable
from ai_incidents.investigation.postmortem import add_postmortem_parser, run_postmortem
from ai_incidents.investigation.terminal import add_investigate_parser, run_investigate
from ai_incidents.version import __version__


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ai-incidents", description="Detect, raise and contain AI incidents."
    )
    store = argparse.ArgumentParser(add_help=False)
    store.add_argument("--store", default=argparse.SUPPRESS,
                       help="the SQLite incident store (default: AI_INCIDENTS_STORE)")  # fmt: skip
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("version", help="print the version")
    incidents = commands.add_parser("incidents", help="read and change incidents",
                                    parents=[store])  # fmt: skip
    actions = incidents.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="recent incidents, newest first", parents=[store])
    listing.add_argument("--status", choices=STATUSES, help="only incidents in this status")
    listing.add_argument("--limit", type=int, default=50, help="at most this many (50)")
    listing.add_argument("--json", action="store_true", help="JSON instead of a table")
    show = actions.add_parser("show", help="one incident with its evidence, history and"
                              " containment", parents=[store])  # fmt: skip
    show.add_argument("id", help="an incident id or its unique prefix")
    show.add_argument("--json", action="store_true", help="JSON instead of text")
    for name, what in (("ack", "acknowledge: someone is on it"),
                       ("contain", "take the containment action now (the policy's, or --action)"),
                       ("resolve", "resolve, undoing every containment action taken")):  # fmt: skip
        change = actions.add_parser(name, help=what, parents=[store])
        change.add_argument("id", help="an incident id or its unique prefix")
        change.add_argument("--note", default="", help="why, for the history")
        change.add_argument("--json", action="store_true", help="JSON instead of text")
        if name == "contain":
            change.add_argument("--action", dest="action_name", choices=ACTIONS,
                                help="instead of the policy's")  # fmt: skip
    demo.add_parser(commands)
    review = commands.add_parser("review", help="answers waiting for human review",
                                 parents=[store])  # fmt: skip
    verdicts = review.add_subparsers(dest="action", required=True)
    pending = verdicts.add_parser("list", help="answers waiting for a verdict", parents=[store])
    pending.add_argument("--all", action="store_true", help="decided ones too")
    pending.add_argument("--json", action="store_true", help="JSON instead of a table")
    for name in ("approve", "reject"):
        verdict = verdicts.add_parser(name, help=f"{name} one answer", parents=[store])
        verdict.add_argument("id", type=int, help="the review id")
        verdict.add_argument("--note", default="", help="why, kept with the verdict")
    _add_investigation_parsers(commands, store)
    return parser


# Investigation: one incident's recorded calls, and its postmortem.
_INVESTIGATION_COMMANDS = {"investigate": run_investigate, "postmortem": run_postmortem}


def _add_investigation_parsers(
    commands: argparse._SubParsersAction, store: argparse.ArgumentParser
) -> None:
    add_investigate_parser(commands, store)
    add_postmortem_parser(commands, store)


def main(argv: Sequence[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    if args.command == "version":
        print(f"ai-incidents {__version__}")
        return 0
    if args.command == "demo":
        return demo.run(args)
    path = getattr(args, "store", None) or get_settings().store
    store = IncidentStore(path, create=False, fall_back=False)
    console = Console(highlight=False)
    try:
        if args.command == "review":
            return _review(args, store, console)
        if args.command in _INVESTIGATION_COMMANDS:
            return _INVESTIGATION_COMMANDS[args.command](args, store, console)
        return _incidents(args, store, console)
    except StoreUnavailable as error:
        print(f"ai-incidents: cannot read the incident store: {error}", file=sys.stderr)
        return 2
    except KeyError:
        print(f"ai-incidents: no incident or review {args.id!r} (or more than one starting"
              f" so) in {store.path}", file=sys.stderr)  # fmt: skip
        return 1


def _incidents(args: argparse.Namespace, store: IncidentStore, console: Console) -> int:
    if args.action == "list":
        found = store.list(status=args.status, limit=args.limit)
        if args.json:
            print(json.dumps([as_json(i) for i in found], indent=2))
        else:
            console.print(_table(found))
        return 0
    state = ContainmentState(store)
    incident = store.get(args.id)
    if args.action == "ack":
        incident = store.set_status(incident.id, "acknowledged", f"operator: {args.note}")
    elif args.action == "contain":
        settings = get_settings()
        policy = ContainmentPolicy(known_good=settings.known_good_models)
        action = args.action_name or policy.action_for(incident)
        plans = policy.plans(incident, population=True, action=action)
        actor = f"operator{': ' + args.note if args.note else ''}"
        contain(store, state, incident, plans, actor, monitoring_s=settings.monitoring_s)
        incident = store.get(incident.id)
    elif args.action == "resolve":
        incident = resolve(store, state, incident.id, "operator", args.note)
    if args.json:
        print(json.dumps(as_json(incident, state.history(incident.id)), indent=2))
    else:
        _print_incident(console, incident, state.history(incident.id))
    return 0


def _review(args: argparse.Namespace, store: IncidentStore, console: Console) -> int:
    queue = ReviewQueue(store)
    if args.action == "list":
        found = queue.list(pending_only=not args.all)
        if args.json:
            print(json.dumps([dataclasses.asdict(r) for r in found], indent=2))
            return 0
        table = Table(title="Answers waiting for review" if not args.all else "Reviews")
        for column in ("id", "incident", "feature", "question", "answer", "verdict"):
            table.add_column(column, no_wrap=column in ("id", "incident"), overflow="fold")
        for r in found:
            table.add_row(
                str(r.id), plain(r.incident_id), plain(r.feature), plain(r.question[:200]),
                plain(r.answer[:400]), plain(r.verdict or ""),
            )  # fmt: skip
        console.print(table)
        return 0
    decided = queue.decide(args.id, "approved" if args.action == "approve" else "rejected",
                           args.note)  # fmt: skip
    console.print(Text(f"review {decided.id}: {decided.verdict} (fed back as user feedback by"
                       " the running app within about a second)"))  # fmt: skip
    return 0


def as_json(incident: Incident, containment: Sequence[Action] = ()) -> dict:
    data = dataclasses.asdict(incident)
    data["containment"] = [
        {**dataclasses.asdict(a), "started": _time(a.started),
         "until": _time(a.until) if a.until else None,
         "ended": _time(a.ended) if a.ended else None}
        for a in containment
    ]  # fmt: skip
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


def _print_incident(
    console: Console, incident: Incident, containment: Sequence[Action] = ()
) -> None:
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
    for a in containment:
        state = f"ended {_time(a.ended)}" if a.ended else "in force"
        whom = "the feature" if a.subject == "*" else f"user or session {a.subject}"
        lines.append(Text.assemble(
            "containment: ", plain(a.action), " for ", plain(whom), f", {state}, by ",
            plain(a.actor), ": ", plain(a.reason),
        ))  # fmt: skip
    for line in lines:
        console.print(line)


if __name__ == "__main__":
    sys.exit(main())
