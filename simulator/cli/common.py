"""Helpers shared by the sub-commands: common options, progress bars, the start of a command
(provenance read once) and the result JSON of a verb."""

from __future__ import annotations

import argparse
import math
import shlex
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from simulator.backend import BACKENDS, RNG_MODES
from simulator.cli.io import check_out_folder
from simulator.cli.provenance import provenance, source_state
from simulator.results import StudyResult

T = TypeVar("T")


def positive_int(name: str) -> Callable[[str], int]:
    """argparse type: an integer >= 1 (integral floats like 1e6 accepted)."""
    return bounded_int(name, 1)


def bounded_int(name: str, low: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer, got {text!r}") from None
        if not math.isfinite(value) or not value.is_integer():
            raise argparse.ArgumentTypeError(f"{name} must be a finite integer, got {text!r}")
        if value < low:
            raise argparse.ArgumentTypeError(f"{name} must be an integer >= {low}, got {text}")
        return int(value)

    return parse


def seed_type(text: str) -> int:
    return bounded_int("--seed", 0)(text)


def add_backend_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default="numpy",
        help="array backend for hot paths (default: numpy)",
    )
    parser.add_argument(
        "--rng-mode",
        choices=RNG_MODES,
        default="host",
        help="host: draw on the CPU, bit-identical to numpy; device: draw on the "
        "GPU, faster, statistically equivalent only (default: host)",
    )


def check_backend_options(backend: str, rng_mode: str) -> None:
    """Refuse option pairs that cannot be honoured, so provenance never records a mode not used."""
    if rng_mode == "device" and backend != "cupy":
        raise ValueError(
            f"--rng-mode device needs --backend cupy (backend {backend!r} draws on the host only)"
        )


def add_quiet_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def progress_factory(quiet: bool) -> Callable[..., Iterator[Any]]:
    """``progress(iterable, total=None, desc='')``: a tqdm bar on an interactive stderr."""
    show = not quiet and sys.stderr.isatty()

    def progress(iterable: Iterable[T], total: int | None = None, desc: str = "") -> Iterator[T]:
        if not show:
            return iter(iterable)
        from tqdm import tqdm

        return iter(tqdm(iterable, total=total, desc=desc, leave=False, dynamic_ncols=True))

    return progress


def command_line(argv: Sequence[str]) -> str:
    """The command as typed (``argv`` without the program name), for provenance."""
    return "infonce-sim " + " ".join(shlex.quote(a) for a in argv)


def verb_result(
    result: StudyResult, data: Any, argv: Sequence[str], source: dict[str, Any], **run: Any
) -> dict[str, Any]:
    """The result JSON of a verb other than ``run``: the study-shaped ``result`` (tables,
    figures, notes) that :mod:`simulator.report` renders, the verb's own ``data`` (what
    ``--json`` prints) and provenance (``source`` was read at the start of the command)."""
    return {
        **result.to_dict(),
        "data": data,
        "provenance": provenance(source, command=command_line(argv), **run),
    }


def add_out_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"folder for {what} (JSON with provenance, Markdown, CSV, LaTeX); nothing is "
        "written without it",
    )


def begin_command(out: Path | None) -> dict[str, Any]:
    """Start of a verb: refuse an ``--out`` that is not a folder, then read the source commit and
    dirty flag once, before anything is written, leaving ``out`` out of the dirty check."""
    if out is None:
        return source_state()
    check_out_folder(out)
    return source_state(exclude=(out,))
