"""The demo on a terminal: a live table while scenarios play (``rich``), plain log lines with
``--no-live``, and the closing table (also saved as SVG)."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from ai_incidents.demo.runner import DemoRun, Progress


def live_table(run: DemoRun) -> Table:
    table = Table(title="ai-incidents demo: acme-support", title_justify="left")
    for column in ("scenario", "phase", "calls", "calls/s", "signals", "blocked", "incident",
                   "containment"):  # fmt: skip
        table.add_column(column, no_wrap=column == "incident")
    for p in run.progress:
        incident = p.incident
        table.add_row(
            Text(p.scenario.name), Text(p.phase), str(p.calls), f"{p.rate:.0f}", str(p.flagged),
            str(p.blocked),
            Text(f"{incident.severity} {incident.failure_mode}") if incident else Text("-"),
            Text(p.containment or (incident.action if incident else "")),
        )  # fmt: skip
    return table


def closing_table(run: DemoRun) -> Table:
    table = Table(title="What the demo raised", title_justify="left")
    for column in ("failure mode", "detected", "to detect", "false alarms", "severity",
                   "containment", "undone", "incident"):  # fmt: skip
        table.add_column(column, overflow="fold", no_wrap=column == "incident")
    for p in run.progress:
        incident = p.incident
        detected = incident is not None
        delay = (f"{p.detected_after_calls} calls, {p.detected_after_s:.1f} s"
                 if detected else f"not in {p.failing_calls} calls")  # fmt: skip
        table.add_row(
            Text(p.scenario.failure_mode), "yes" if detected else "no", delay,
            str(p.false_alarms), Text(incident.severity if incident else "-"),
            Text(p.containment or "-"), "yes" if p.undone else "-",
            Text(incident.id if incident else "-"),
        )  # fmt: skip
    return table


@contextlib.contextmanager
def showing(run: DemoRun, console: Console, live: bool) -> Iterator[None]:
    """The live table while the block runs, with events above it; or, not ``live``, plain
    log lines of the events only (for CI and pipes)."""

    def log(progress: Progress, message: str | None) -> None:
        if message is not None:
            console.print(Text(f"[{progress.scenario.name}] {message}"), highlight=False)

    if not live:
        run.notify = log
        yield
        return
    with Live(live_table(run), console=console, refresh_per_second=8) as display:

        def update(progress: Progress, message: str | None) -> None:
            log(progress, message)
            display.update(live_table(run))

        run.notify = update
        yield
        display.update(live_table(run))


def finish(run: DemoRun, console: Console, svg: Path) -> None:
    table = closing_table(run)
    recorder = Console(record=True, width=160, file=io.StringIO())
    recorder.print(table)
    recorder.save_svg(str(svg), title="ai-incidents demo")
    lines = [Text(f"{p.scenario.name}: {p.scenario.title}; postmortem {p.postmortem}")
             for p in run.progress if p.postmortem]  # fmt: skip
    console.print(Group(table, *lines, Text(f"incidents: {run.store_path}"),
                        Text(f"telemetry (OTLP JSON lines): {run.telemetry_path}"),
                        Text(f"this table as SVG: {svg}")))  # fmt: skip
