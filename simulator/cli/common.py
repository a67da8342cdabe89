"""Helpers shared by the sub-commands: common options, progress bars, JSON output."""

from __future__ import annotations

import argparse
import math
import shlex
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from simulator.backend import BACKENDS, RNG_MODES

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


def command_line() -> str:
    return "infonce-sim " + " ".join(shlex.quote(a) for a in sys.argv[1:])
