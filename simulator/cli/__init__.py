"""The ``infonce-sim`` command line: argument parsing, progress bars and file output.

This package is the only place that does I/O. Each sub-command lives in its own module exposing
``register(subparsers)``, which adds a parser whose ``handler`` default takes the parsed arguments
and returns an exit code. Library ``ValueError``\\ s become a one-line error and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from simulator import __version__

#: Modules providing sub-commands, in the order ``--help`` lists them.
COMMAND_MODULES = (
    "simulator.cli.run",
    "simulator.cli.exact",
    "simulator.cli.population",
    "simulator.cli.audit",
    "simulator.cli.hgr",
    "simulator.cli.train",
    "simulator.cli.proofs",
    "simulator.cli.bench",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="infonce-sim",
        description=(
            "Theory-verification simulator for 'InfoNCE Induces Gaussian Distribution' "
            "(Betser, Gofer, Levi, Gilboa; ICLR 2026)."
        ),
    )
    parser.add_argument("--version", action="version", version=f"infonce-sim {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv
    try:
        return int(args.handler(args) or 0)
    except ValueError as exc:
        print(f"infonce-sim {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"infonce-sim {args.command}: interrupted; finished cells are saved", file=sys.stderr)
        return 130
