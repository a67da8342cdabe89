"""Bench harness: configuration, result rows, the registry and a synchronised timer."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from types import ModuleType
from typing import Any

import numpy as np

from simulator.backend import synchronize


@dataclass(frozen=True)
class BenchConfig:
    """Settings for one bench run: array namespace, RNG mode (host or device draws, for the
    benches that draw on the backend) and how many timing repeats to take."""

    xp: ModuleType = np
    backend: str = "numpy"
    repeats: int = 3
    rng_mode: str = "host"


@dataclass(frozen=True)
class BenchRow:
    """One measured comparison.

    ``ratio`` is the quantity the target is stated in (speed-up ``baseline / ours`` unless
    ``note`` says otherwise); ``met`` is None when no target applies.
    """

    name: str
    ours_s: float | None
    baseline_s: float | None
    baseline: str
    ratio: float | None
    target: str
    met: bool | None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


BENCHES: dict[str, Callable[[BenchConfig], list[BenchRow]]] = {}
#: Benches whose hot paths run in ``cfg.xp``, with how to label where their rows computed; the
#: others compute on the CPU with NumPy whatever ``--backend`` says, and are labelled ``numpy``.
BACKEND_BENCHES: dict[str, Callable[[BenchConfig], str]] = {}


def backend_label(cfg: BenchConfig) -> str:
    """Label of a bench that computes in ``cfg.xp`` and draws with ``cfg.rng_mode``."""
    return f"{cfg.backend}, {cfg.rng_mode} draws"


def host_draws_label(cfg: BenchConfig) -> str:
    """Label of a bench that computes in ``cfg.xp`` but draws its inputs on the host."""
    return f"{cfg.backend}, host draws"


def register(name: str, *, label: Callable[[BenchConfig], str] | None = None) -> Callable:
    """Register a bench; ``label`` marks it as computing on the chosen backend."""

    def wrap(
        fn: Callable[[BenchConfig], list[BenchRow]],
    ) -> Callable[[BenchConfig], list[BenchRow]]:
        BENCHES[name] = fn
        if label is not None:
            BACKEND_BENCHES[name] = label
        return fn

    return wrap


def best_time(fn: Callable[[], Any], *, repeats: int, xp: ModuleType = np) -> float:
    """Minimum wall time of ``fn()`` over ``repeats`` runs, synchronising the device each time."""
    best = float("inf")
    for _ in range(repeats):
        synchronize(xp)
        start = time.perf_counter()
        fn()
        synchronize(xp)
        best = min(best, time.perf_counter() - start)
    return best


_PEAK_MARKER = "__infonce_sim_peak_kib__"
# Appended to a child's code: VmHWM is the high-water mark of the exec'd image only, whereas
# ru_maxrss of a waited-for child also counts the parent pages its fork copied.
_PEAK_EPILOGUE = f"""
import resource as _r, sys as _s
try:
    with open("/proc/self/status") as _fh:
        _kib = next(int(_l.split()[1]) for _l in _fh if _l.startswith("VmHWM"))
except OSError:
    _kib = _r.getrusage(_r.RUSAGE_SELF).ru_maxrss
print("{_PEAK_MARKER}", _kib, file=_s.stderr)
"""


@dataclass(frozen=True)
class ChildRun:
    """Outcome of :func:`run_child`: wall time, peak resident memory and the child's output."""

    wall_s: float
    peak_bytes: int
    stdout: str


def run_child(code: str, *args: str) -> ChildRun:
    """Run Python ``code`` in a fresh interpreter and measure its wall time and peak RSS."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code + _PEAK_EPILOGUE, *args],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    marker = [line for line in proc.stderr.splitlines() if line.startswith(_PEAK_MARKER)]
    if proc.returncode != 0 or not marker:
        raise RuntimeError(f"benchmark child failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return ChildRun(wall, int(marker[-1].split()[1]) * 1024, proc.stdout)
