"""The study registry and the run context handed to every study.

A study is a function ``run(ctx) -> StudyResult`` registered under a name with the paper claims it
tests. The CLI reads :data:`STUDIES`; the context carries everything a study may need from the
outside world (scale, seed, backend, progress bar, checkpoint store) so that studies do no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Protocol, TypeVar

import numpy as np

from simulator.backend import cell_generator
from simulator.results import StudyResult

SCALES = ("quick", "full")
T = TypeVar("T")


class CheckpointStore(Protocol):
    """Saved results of finished sweep cells, keyed by a string."""

    def __contains__(self, key: str) -> bool: ...

    def get(self, key: str) -> Any: ...

    def put(self, key: str, value: Any) -> None: ...


class MemoryStore:
    """Checkpoint store that keeps cells in memory (the default outside the CLI)."""

    def __init__(self) -> None:
        self._cells: dict[str, Any] = {}

    def __contains__(self, key: str) -> bool:
        return key in self._cells

    def __len__(self) -> int:
        return len(self._cells)

    def get(self, key: str) -> Any:
        return self._cells[key]

    def put(self, key: str, value: Any) -> None:
        self._cells[key] = value


def _no_progress(iterable: Iterable[T], total: int | None = None, desc: str = "") -> Iterator[T]:
    return iter(iterable)


@dataclass
class RunContext:
    """What a study receives from its caller.

    Attributes
    ----------
    scale : {'quick', 'full'}
        Size of the grids and samples.
    seed : int
        Root seed; cell ``key`` draws from ``SeedSequence(seed, spawn_key=key)``.
    xp : module
        Array namespace for hot paths (NumPy or CuPy).
    rng_mode : {'host', 'device'}
        How device arrays are drawn (see :mod:`simulator.backend`).
    progress : callable
        ``progress(iterable, total=None, desc='')`` wrapping long loops.
    store : CheckpointStore
        Saved cells of an interrupted run; :meth:`cell` reads and fills it.
    """

    scale: str = "quick"
    seed: int = 0
    xp: ModuleType = np
    rng_mode: str = "host"
    progress: Callable[..., Iterator[Any]] = _no_progress
    store: CheckpointStore = field(default_factory=MemoryStore)

    def __post_init__(self) -> None:
        if self.scale not in SCALES:
            raise ValueError(f"scale must be one of {SCALES}, got {self.scale!r}")

    def rng(self, *key: int) -> np.random.Generator:
        """Independent generator for the sweep cell addressed by ``key``."""
        return cell_generator(self.seed, *key)

    def cell(self, key: str, compute: Callable[[], T]) -> T:
        """Return the saved value of cell ``key``, computing and saving it if absent.

        ``compute`` must return JSON-serialisable data, and must draw its randomness from
        :meth:`rng` with a key that identifies the cell, so a resumed run reproduces it.
        """
        if key in self.store:
            return self.store.get(key)
        value = compute()
        self.store.put(key, value)
        return value


@dataclass(frozen=True)
class Study:
    """A registered study: its name, a one-line title, the claims it tests and its runner."""

    name: str
    title: str
    claims: tuple[str, ...]
    run: Callable[[RunContext], StudyResult]


STUDIES: dict[str, Study] = {}


def register(name: str, title: str, claims: tuple[str, ...]) -> Callable:
    """Decorator registering ``run(ctx) -> StudyResult`` as study ``name``."""

    def wrap(fn: Callable[[RunContext], StudyResult]) -> Callable[[RunContext], StudyResult]:
        if name in STUDIES:
            raise ValueError(f"study {name!r} registered twice")
        STUDIES[name] = Study(name, title, claims, fn)
        return fn

    return wrap


def get_study(name: str) -> Study:
    """Look a study up by name; ValueError listing the known names otherwise."""
    if name not in STUDIES:
        raise ValueError(f"unknown study {name!r}; known studies: {', '.join(sorted(STUDIES))}")
    return STUDIES[name]
