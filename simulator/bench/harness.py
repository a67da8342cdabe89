"""Bench harness: configuration, result rows, the registry and a synchronised timer."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from types import ModuleType
from typing import Any

import numpy as np

from simulator.backend import synchronize


@dataclass(frozen=True)
class BenchConfig:
    """Settings for one bench run: array namespace and how many timing repeats to take."""

    xp: ModuleType = np
    backend: str = "numpy"
    repeats: int = 3


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


def register(name: str) -> Callable:
    def wrap(
        fn: Callable[[BenchConfig], list[BenchRow]],
    ) -> Callable[[BenchConfig], list[BenchRow]]:
        BENCHES[name] = fn
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
