"""The ``ai-incidents`` command: ``incidents list|show|ack|contain|resolve``, ``review
list|approve|reject``, ``investigate``, ``postmortem``, ``cases``, ``replay``, ``eval``,
``demo``, ``version``."""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn
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
from ai_incidents.incidents.recorder import FlightRecorder
from ai_incidents.incidents.store import STATUSES, IncidentStore, StoreUnavailable
from ai_incidents.investigation import cases as regression_cases
from ai_incidents.investigation import model_eval, promptfoo_assert
from ai_incidents.investigation.postmortem import add_postmortem_parser, run_postmortem
from ai_incidents.investigation.replay import ReplayResult, replay
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
    _add_cases_parser(commands, store)
    _add_replay_parser(commands)
    _add_eval_parser(commands)
    return parser


# Investigation: one incident's recorded calls, and its postmortem (run from _STORE_COMMANDS).


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
    console = Console(highlight=False)
    if args.command in _REGRESSION_COMMANDS:
        return _REGRESSION_COMMANDS[args.command](args, console)
    path = getattr(args, "store", None) or get_settings().store
    store = IncidentStore(path, create=False, fall_back=False)
    try:
        if args.command == "review":
            return _review(args, store, console)
        if args.command in _STORE_COMMANDS:
            return _STORE_COMMANDS[args.command](args, store, console)
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


# Regression cases, replay and model-update testing (``investigation``): one parser and one
# runner per command (cases reads the store main opens; replay opens none unless asked).


def _add_cases_parser(commands: argparse._SubParsersAction, store: argparse.ArgumentParser):
    cases = commands.add_parser(
        "cases", parents=[store], help="an incident's affected interactions as regression cases"
    )
    cases.add_argument("id", help="an incident id or its unique prefix")
    cases.add_argument(
        "--format",
        choices=("promptfoo", "jsonl"),
        default="promptfoo",
        help="a promptfoo test file (JSON; runs offline) or dataset JSON lines",
    )
    cases.add_argument("--out", help="write here (promptfoo: its assertion script beside it)")
    cases.add_argument("--limit", type=int, default=50, help="at most this many cases (50)")


def _add_replay_parser(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser(
        "replay",
        help="run detection over recorded spans (OTLP JSON lines or the SDK's span JSON), offline",
    )
    run.add_argument("file", help="the span file")
    run.add_argument("--json", action="store_true", help="JSON instead of text")
    run.add_argument(
        "--reevaluate",
        action="store_true",
        help="judge recorded content again with the evaluators and thresholds now",
    )
    run.add_argument("--store", help="record the incidents in this store (default: none kept)")


def _add_eval_parser(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser(
        "eval",
        help="run regression cases against a candidate model;"
        " exit 1 when it is worse than the recorded baseline",
    )
    run.add_argument("cases", help="cases as JSON lines (from `ai-incidents cases --format jsonl`)")
    run.add_argument("--base-url", required=True, help="an OpenAI-compatible endpoint (…/v1)")
    run.add_argument("--model", required=True, help="the candidate model")
    run.add_argument("--api-key-env", help="the environment variable holding the API key")
    run.add_argument(
        "--adversarial",
        nargs="?",
        const="",
        metavar="FILE",
        help="also an adversarial set (default: the built-in one)",
    )
    run.add_argument(
        "--tolerance",
        type=float,
        default=model_eval.DEFAULT_TOLERANCE,
        help="allowed drop of mean quality (and rise of safety risk)",
    )
    run.add_argument("--json", action="store_true", help="JSON instead of a table")


def _run_cases(args: argparse.Namespace, store: IncidentStore, console: Console) -> int:
    settings = get_settings()
    incident = store.get(args.id)
    recorder = FlightRecorder(store, settings.recorder_max_rows, settings.recorder_max_age_s)
    found = regression_cases.cases_for(incident, recorder, settings.low_quality_threshold,
                                       args.limit)  # fmt: skip
    with_content = [c for c in found if c.has_content]
    note = (
        f"{len(found)} cases of {incident.id}: {len(with_content)} with content, "
        f"{len(found) - len(with_content)} with ids and scores only"
    )
    if len(with_content) < len(found):
        note += (
            " (content was not captured: the app did not export it, see"
            " OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT)"
        )
    if args.format == "jsonl":
        text = regression_cases.to_jsonl(found)
    else:
        catching = [c for c in with_content if c.catches]
        if not catching:
            print(
                f"ai-incidents: {note}; none whose answer text fails its checks: no promptfoo"
                " tests (use --format jsonl)",
                file=sys.stderr,
            )
            return 1
        note += f"; {len(catching)} promptfoo tests, each failing on its recorded answer"
        assertion = _promptfoo_assertion(args.out)
        suite = regression_cases.to_promptfoo(incident, catching, assertion)
        text = json.dumps(suite, indent=2, ensure_ascii=False) + "\n"
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    console.file = sys.stderr
    console.print(plain(note))
    return 0


def _promptfoo_assertion(out: str | None) -> str:
    """The assertion's ``file://`` reference: a script written beside the test file, else
    the installed module."""
    if out is None:
        return f"file://{promptfoo_assert.__file__}"
    folder = Path(out).resolve().parent
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / regression_cases.ASSERTION_FILE
    script.write_text(regression_cases.ASSERTION_SCRIPT, encoding="utf-8")
    return f"file://{regression_cases.ASSERTION_FILE}"


def _run_replay(args: argparse.Namespace, console: Console) -> int:
    store = IncidentStore(args.store, fall_back=False) if args.store else None
    show_progress = not args.json and console.is_terminal
    try:
        with Progress(
            "replaying",
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=not show_progress,
            transient=True,
        ) as bar:
            task = bar.add_task("replay", total=os.path.getsize(args.file))
            result = replay(
                args.file,
                reevaluate=args.reevaluate,
                store=store,
                progress=lambda n: bar.advance(task, n),
            )
    except OSError as error:
        print(f"ai-incidents: cannot read {args.file}: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(_replay_json(result), indent=2))
    else:
        _print_replay(console, result)
    return 0


def _replay_json(result: ReplayResult) -> dict:
    return {
        "spans": result.spans,
        "llm_spans": result.llm_spans,
        "reevaluated": result.reevaluated,
        "seconds": round(result.seconds, 3),
        "llm_spans_per_s": round(result.llm_spans_per_s),
        "candidates": len(result.candidates),
        "incidents": [as_json(i) for i in result.incidents],
        "scores": {
            mode: {
                "alerts": s.alerts,
                "right_alerts": s.right_alerts,
                "episodes": s.episodes,
                "detected": s.detected,
                "precision": s.precision,
                "recall": s.recall,
                "median_time_to_detect_s": s.median_time_to_detect_s,
            }
            for mode, s in result.scores.items()
        },
    }


def _print_replay(console: Console, result: ReplayResult) -> None:
    again = f", {result.reevaluated} judged again" if result.reevaluated else ""
    console.print(
        Text(
            f"{result.spans} spans, {result.llm_spans} LLM calls{again}, in"
            f" {result.seconds:.2f} s ({result.llm_spans_per_s:,.0f} LLM spans/s):"
            f" {len(result.candidates)} alerts, {len(result.incidents)} incidents"
        )
    )
    if result.incidents:
        console.print(_table(result.incidents))
    if result.scores:
        table = Table(title="Detection against the labels")
        for column in (
            "failure mode",
            "alerts",
            "precision",
            "episodes",
            "recall",
            "median time to detect",
        ):
            table.add_column(column)
        for s in result.scores.values():
            ttd = s.median_time_to_detect_s
            table.add_row(
                plain(s.failure_mode),
                str(s.alerts),
                _share(s.precision),
                str(s.episodes),
                _share(s.recall),
                "-" if ttd is None else f"{ttd:.0f} s",
            )
        console.print(table)


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _run_eval(args: argparse.Namespace, console: Console) -> int:
    try:
        cases = model_eval.load_cases(args.cases)
        if args.adversarial is not None:
            cases += (
                model_eval.load_cases(args.adversarial)
                if args.adversarial
                else model_eval.adversarial_cases()
            )
    except (OSError, ValueError) as error:
        print(f"ai-incidents: cannot read the cases: {error}", file=sys.stderr)
        return 2
    api_key = os.environ.get(args.api_key_env) if args.api_key_env else None
    report = model_eval.run_eval(cases, args.base_url, args.model, api_key, args.tolerance)
    worse = report.reasons_worse()
    if args.json:
        print(
            json.dumps(
                {
                    "model": args.model,
                    "worse": worse,
                    "means": report.means(),
                    "skipped": report.skipped,
                    "cases": [dataclasses.asdict(r) for r in report.results],
                },
                indent=2,
            )
        )
        return 1 if worse else 0
    table = Table(title=Text.assemble("Candidate ", plain(args.model)))
    table.add_column("case", no_wrap=True, overflow="fold")
    for column in ("failure mode", "baseline quality", "candidate quality", "flags", "result"):
        table.add_column(column)
    for r in report.results:
        v = r.verdict
        outcome = r.error or ("pass" if r.passed else "FAIL: " + "; ".join(v.reasons))
        table.add_row(
            plain(r.case_id),
            plain(r.failure_mode),
            _score(r.baseline_quality),
            _score(v.quality if v else None),
            plain(", ".join(v.flags) if v else ""),
            plain(outcome),
        )
    console.print(table)
    m = report.means()
    console.print(
        Text(
            f"mean quality: baseline {_score(m['baseline_quality'])}, candidate"
            f" {_score(m['candidate_quality'])}; {len(report.failed)} of"
            f" {len(report.results)} cases failed"
            + (f"; {report.skipped} without content skipped" if report.skipped else "")
        )
    )
    console.print(
        plain("worse than the baseline: " + "; ".join(worse))
        if worse
        else Text("not worse than the baseline")
    )
    return 1 if worse else 0


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


_STORE_COMMANDS = {
    "investigate": run_investigate,
    "postmortem": run_postmortem,
    "cases": _run_cases,
}
"""Investigation commands that read the incident store (``main`` opens it)."""
_REGRESSION_COMMANDS = {"replay": _run_replay, "eval": _run_eval}
"""Commands that open no incident store unless asked."""


if __name__ == "__main__":
    sys.exit(main())
