"""Helpers shared by the sub-commands: common options, progress bars, the start of a command
(provenance read once) and the result JSON of a verb."""

from __future__ import annotations

import argparse
import decimal
import math
import shlex
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from simulator.backend import BACKENDS, RNG_MODES
from simulator.cli.io import check_out_folder
from simulator.cli.provenance import provenance, source_state
from simulator.results import StudyResult

T = TypeVar("T")


#: The warnings caught by the running command (see :func:`capture_warnings`); the list object
#: is the one ``warnings.catch_warnings(record=True)`` fills as the command runs.
_caught: dict[str, list[warnings.WarningMessage]] = {"seen": []}


@contextmanager
def capture_warnings() -> Iterator[None]:
    """Catch every warning raised while a command runs, so that none reaches the user as a raw
    Python warning: :func:`verb_result` copies them into the result's notes and the entry point
    prints them as one-line notes (:func:`warning_lines`)."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        _caught["seen"] = seen
        yield


def warning_count() -> int:
    """How many warnings the running command has caught so far."""
    return len(_caught["seen"])


def warning_lines(start: int = 0) -> list[str]:
    """One line per distinct warning the running (or last) command caught, from the
    ``start``-th on (see :func:`warning_count`)."""
    found: list[str] = []
    for w in _caught["seen"][start:]:
        line = f"{w.category.__name__}: {' '.join(str(w.message).split())}"
        if line not in found:
            found.append(line)
    return found


def positive_int(name: str) -> Callable[[str], int]:
    """argparse type: an integer >= 1 (integral floats like 1e6 accepted)."""
    return bounded_int(name, 1)


def bounded_int(name: str, low: int) -> Callable[[str], int]:
    """argparse type: an integer >= ``low``, read exactly (``1e30`` is 10**30, and a 20-digit
    integer keeps every digit, which a float would round)."""

    def parse(text: str) -> int:
        try:
            value = decimal.Decimal(text.strip())
        except decimal.InvalidOperation:
            raise argparse.ArgumentTypeError(f"{name} must be an integer, got {text!r}") from None
        if not value.is_finite() or value != value.to_integral_value():
            raise argparse.ArgumentTypeError(f"{name} must be a finite integer, got {text!r}")
        if value < low:
            raise argparse.ArgumentTypeError(f"{name} must be an integer >= {low}, got {text}")
        if value.adjusted() > 1000:
            raise argparse.ArgumentTypeError(f"{name} must be below 1e1000, got {text}")
        return int(value)

    return parse


def out_path(text: str) -> Path:
    """argparse type of ``--out``: a non-empty path (``Path("")`` would silently mean ``.``)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must name a folder, got an empty path")
    return Path(text)


_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


def memory_size(text: str) -> int:
    """argparse type of ``--max-memory``: bytes, or a number with a K/M/G/T suffix (binary)."""
    body = text.strip().lower().removesuffix("ib").removesuffix("b")
    unit = body[-1:] if body[-1:] in _UNITS else ""
    try:
        value = float(body[: len(body) - len(unit)]) * _UNITS[unit]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a size such as 8G, 512M or 1000000 (bytes), got {text!r}"
        ) from None
    if not math.isfinite(value) or value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive finite size, got {text!r}")
    return int(value)


def add_memory_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-memory",
        type=memory_size,
        default=None,
        metavar="SIZE",
        help="refuse, before any work, a computation estimated to need more memory than SIZE "
        "(e.g. 8G; default: half the available memory)",
    )


def check_memory_limit(
    nbytes: float, what: str, max_memory: int | None, *, remedy: str = "reduce the sizes"
) -> None:
    """ValueError naming ``--max-memory`` when ``nbytes`` exceeds the limit (default: half the
    available memory, :func:`simulator.validation.default_memory_limit`); ``remedy`` is the
    advice given beside raising the limit."""
    from simulator.validation import check_memory, default_memory_limit

    limit = default_memory_limit() if max_memory is None else max_memory
    try:
        check_memory(nbytes, what=what, limit_bytes=limit)
    except ValueError as exc:
        source = "--max-memory" if max_memory is not None else "half the available memory"
        raise ValueError(
            str(exc)
            .replace("raise the memory limit", f"raise --max-memory (limit: {source})")
            .replace("reduce the sizes", remedy)
        ) from None


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
        help="host: draw on the CPU (the same random numbers as --backend numpy; results agree "
        "up to the device's rounding); device: draw on the GPU, faster, statistically "
        "equivalent only (default: host)",
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
    for line in warning_lines():
        result.notes.append(f"warning caught during the computation: {line}")
    return {
        **result.to_dict(),
        "data": data,
        "provenance": provenance(source, command=command_line(argv), **run),
    }


def add_out_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--out",
        type=out_path,
        default=None,
        help=f"folder for {what} (JSON with provenance, Markdown, CSV, LaTeX), created with its "
        "missing parents; nothing is written without it",
    )


def begin_command(out: Path | None) -> dict[str, Any]:
    """Start of a verb: refuse an ``--out`` that is not a folder, then read the source commit and
    dirty flag once, before anything is written, leaving ``out`` out of the dirty check."""
    if out is None:
        return source_state()
    check_out_folder(out)
    return source_state(exclude=(out,))
