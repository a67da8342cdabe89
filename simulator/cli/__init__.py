"""The ``infonce-sim`` command line: argument parsing, progress bars and file output.

This package is the only place that does I/O. Each sub-command lives in its own module exposing
``register(subparsers)``, which adds a parser whose ``handler`` default takes the parsed arguments
and returns an exit code. Nothing reaches the user as a traceback or a raw warning: library
``ValueError``\\ s, usage errors, unwritable files and exhausted memory become one line and exit
code 2; warnings become one-line notes (and notes in the result); a closed output pipe
(``audit --json | head``) ends the command quietly with exit code 0.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from simulator import __version__
from simulator.cli.common import capture_warnings, warning_lines

#: Sub-commands and the modules providing them, in the order ``--help`` lists them.
COMMAND_MODULES = {
    "run": "simulator.cli.run",
    "exact": "simulator.cli.exact",
    "population": "simulator.cli.population",
    "audit": "simulator.cli.audit",
    "hgr": "simulator.cli.hgr",
    "train": "simulator.cli.train",
    "proofs": "simulator.cli.proofs",
    "bench": "simulator.cli.bench",
}
#: Sub-commands registered by another sub-command's module.
COMMAND_ALIASES = {"list": "run", "report": "run"}


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (the usage block only with --help)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every sub-command, or only of ``command`` when it names one.

    Importing a sub-command imports what it computes with (the studies, SciPy's statistics,
    the trainer); parsing ``infonce-sim exact ...`` therefore imports only the ``exact`` module,
    which keeps a one-line command fast.
    """
    parser = OneLineParser(
        prog="infonce-sim",
        description=(
            "Theory-verification simulator for 'InfoNCE Induces Gaussian Distribution' "
            "(Betser, Gofer, Levi, Gilboa; ICLR 2026)."
        ),
    )
    parser.add_argument("--version", action="version", version=f"infonce-sim {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    command = COMMAND_ALIASES.get(command, command)
    names = [command] if command in COMMAND_MODULES else list(COMMAND_MODULES)
    for name in names:
        importlib.import_module(COMMAND_MODULES[name]).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv[0] if argv else None)
    args = parser.parse_args(argv)
    args.argv = argv
    prefix = f"infonce-sim {args.command}"
    try:
        with capture_warnings():
            code = int(args.handler(args) or 0)
            sys.stdout.flush()  # a closed pipe shows here, inside the handler's guard
    except BrokenPipeError:
        # The reader closed the pipe (``| head``): stop quietly, and point stdout at devnull so
        # that the interpreter's final flush cannot raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except ValueError as exc:
        _print_notes(prefix)
        print(f"{prefix}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        _print_notes(prefix)
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"{prefix}: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"{prefix}: error: out of memory; reduce the sizes", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prefix}: interrupted; finished cells are saved", file=sys.stderr)
        return 130
    _print_notes(prefix)
    return code


def _print_notes(prefix: str) -> None:
    for line in warning_lines():
        print(f"{prefix}: note: {line}", file=sys.stderr)
