"""The ``ai-incidents`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ai_incidents.version import __version__


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ai-incidents", description="Detect, raise and contain AI incidents."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("version", help="print the version")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    if args.command == "version":
        print(f"ai-incidents {__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
