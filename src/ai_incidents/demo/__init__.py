"""``ai-incidents demo``: an incident unfolding in a small support app, scenario by
scenario, offline, in under two minutes."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

SCENARIOS = ("all", "quality", "regression", "retrieval", "injection", "feedback")


def add_parser(commands: argparse._SubParsersAction) -> None:
    demo = commands.add_parser("demo", help="watch incidents unfold in a small support app")
    demo.add_argument("--scenario", choices=SCENARIOS, default="all", help="one, or all (all)")
    demo.add_argument("--seed", type=int, default=7, help="random seed of the traffic (7)")
    demo.add_argument(
        "--speed", type=float, default=1.0, help="pace: 2 twice as fast, 0 flat out (1)"
    )
    demo.add_argument("--otlp-endpoint", help="also send spans to this OTLP/HTTP endpoint")
    demo.add_argument("--no-live", action="store_true", help="plain log lines (CI, pipes)")
    demo.add_argument(
        "--out", default="ai-incidents-demo", help="folder for what it writes (ai-incidents-demo)"
    )


def run(args: argparse.Namespace) -> int:
    """Play the demo as ``args`` say; 0 when every scenario was detected."""
    from ai_incidents.demo.runner import DemoRun
    from ai_incidents.demo.view import finish, showing

    console = Console(highlight=False)
    demo = DemoRun(Path(args.out), seed=args.seed, speed=args.speed,
                   only=args.scenario, otlp_endpoint=args.otlp_endpoint)  # fmt: skip
    demo.start()
    try:
        with showing(demo, console, live=not args.no_live and console.is_terminal):
            for progress in demo.progress:
                demo.play(progress)
    finally:
        demo.stop()
    finish(demo, console, demo.out / "closing-table.svg")
    return 0 if all(p.incident is not None for p in demo.progress) else 1
