"""The study registry and the run context handed to every study.

A study is a function ``run(ctx) -> StudyResult`` registered under a name with its title, the paper
claims it tests (declared once, copied into its results) and a frozen config dataclass per scale
plus a tiny one for tests; it reads ``cfg = ctx.config or CONFIGS[ctx.scale]``. Every config
states the memory its study needs (:meth:`StudyConfig.memory_bytes`), so that a run can be
refused before any work when it would not fit. The CLI reads :data:`STUDIES`; the context
carries everything a study may need from the outside world (scale, seed, backend, progress bar,
checkpoint store) so that studies do no I/O.

Randomness inside a study comes only from its cells. A cell is addressed by one key, a tuple of
strings and numbers; its generator is ``SeedSequence(seed, spawn_key=(study_id, cell_id))`` with
``study_id`` a stable hash of the study name and ``cell_id`` a stable hash of the key, so a cell
draws the same numbers wherever and whenever it runs, and no two cells (of one study or of two)
share a stream.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from types import ModuleType
from typing import Any, Protocol, TypeVar

import numpy as np

from simulator.backend import get_namespace
from simulator.results import StudyResult
from simulator.studies.executors import (
    CellFailedError,
    Executor,
    SerialExecutor,
    raise_warnings,
)

SCALES = ("quick", "full")
T = TypeVar("T")
CellKey = tuple[str | int | float, ...]


class CheckpointStore(Protocol):
    """Saved results of finished sweep cells, keyed by a string."""

    def __contains__(self, key: str) -> bool: ...

    def get(self, key: str) -> Any: ...

    def put(self, key: str, value: Any, seconds: float = 0.0) -> None: ...


class StudyConfig(Protocol):
    """What :func:`register` requires of a study's config (besides being a frozen dataclass)."""

    def memory_bytes(self) -> int:
        """Upper bound, in bytes, of the peak a process allocates while it computes one cell of
        the study (the largest) or the study's own work between its sweeps.

        Derived from the config's sizes (the largest arrays alive at once, with a stated
        overhead factor for temporaries), not counting what the process holds before the
        study starts (its imports); checked against the peak traced on the ``TINY`` config.
        It bounds host memory with NumPy, and on CuPy too, where the large arrays move to the
        device (host-draw mode draws them on the host first).
        """
        ...


class MemoryStore:
    """Checkpoint store that keeps cells in memory (the default outside the CLI).

    Each cell's compute time is kept beside its value, so a resumed run can report the time its
    cells cost when they were computed rather than the time of reading them back.
    """

    def __init__(self) -> None:
        self._cells: dict[str, Any] = {}
        self._seconds: dict[str, float] = {}

    def __contains__(self, key: str) -> bool:
        return key in self._cells

    def __len__(self) -> int:
        return len(self._cells)

    def get(self, key: str) -> Any:
        return self._cells[key]

    def put(self, key: str, value: Any, seconds: float = 0.0) -> None:
        self._cells[key] = value
        self._seconds[key] = seconds

    def compute_seconds(self) -> float:
        """Total compute time of the saved cells."""
        return sum(self._seconds.values())


def _no_progress(iterable: Iterable[T], total: int | None = None, desc: str = "") -> Iterator[T]:
    return iter(iterable)


def _stable_id(text: str) -> int:
    """A 64-bit integer that depends only on ``text`` (unlike ``hash``, stable across processes)."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def cell_address(key: CellKey) -> str:
    """The one address of a cell: the canonical JSON of its key (checkpoint key and RNG source)."""
    if not isinstance(key, tuple) or not key:
        raise ValueError(f"cell key must be a non-empty tuple, got {key!r}")
    for part in key:
        if isinstance(part, bool) or not isinstance(part, (str, int, float)):
            raise ValueError(f"cell key parts must be str, int or float, got {part!r} in {key!r}")
    return json.dumps(list(key), separators=(",", ":"))


def cell_seed_sequence(seed: int, study: str, key: CellKey) -> np.random.SeedSequence:
    """``SeedSequence(seed, spawn_key=(study_id, cell_id))`` of cell ``key`` of ``study``."""
    return np.random.SeedSequence(
        seed, spawn_key=(_stable_id(study), _stable_id(cell_address(key)))
    )


@dataclass(frozen=True)
class Cell:
    """What a cell's compute function receives: its address, the study config and the backend.

    It is small and picklable (the config is a frozen dataclass), so an executor can send it to
    another process or machine; the generator is rebuilt there from ``(seed, study, key)``.
    """

    study: str
    key: CellKey
    seed: int
    config: Any = None
    backend: str = "numpy"
    rng_mode: str = "host"

    @property
    def rng(self) -> np.random.Generator:
        """A fresh generator for this cell (the same numbers on every access)."""
        return np.random.default_rng(cell_seed_sequence(self.seed, self.study, self.key))

    @property
    def xp(self) -> ModuleType:
        return get_namespace(self.backend)


@dataclass
class RunContext:
    """What a study receives from its caller.

    Attributes
    ----------
    study : str
        Name of the study being run (part of every cell's RNG address).
    scale : {'quick', 'full'}
        Size of the grids and samples.
    seed : int
        Root seed of the run.
    backend : {'numpy', 'cupy'}
        Array backend for hot paths; ``xp`` is its namespace.
    rng_mode : {'host', 'device'}
        How device arrays are drawn (see :mod:`simulator.backend`).
    progress : callable
        ``progress(iterable, total=None, desc='')`` wrapping long loops.
    store : CheckpointStore
        Saved cells of an interrupted run; :meth:`cell` and :meth:`map` read and fill it.
    config : object, optional
        Overrides the study's config for ``scale`` (tests build tiny ones).
    executor : Executor
        Where :meth:`map` runs missing cells (default: serially in this process); its owner
        opens and closes it (see :mod:`simulator.studies.executors`).
    """

    study: str = ""
    scale: str = "quick"
    seed: int = 0
    backend: str = "numpy"
    rng_mode: str = "host"
    progress: Callable[..., Iterator[Any]] = _no_progress
    store: CheckpointStore = field(default_factory=MemoryStore)
    config: Any = None
    addresses: list[str] = field(default_factory=list)
    executor: Executor = field(default_factory=SerialExecutor)

    def __post_init__(self) -> None:
        if self.scale not in SCALES:
            raise ValueError(f"scale must be one of {SCALES}, got {self.scale!r}")

    @property
    def xp(self) -> ModuleType:
        return get_namespace(self.backend)

    def _cell(self, key: CellKey, config: Any) -> Cell:
        return Cell(self.study, key, self.seed, config, self.backend, self.rng_mode)

    def cell(self, key: CellKey, compute: Callable[[Cell], T], config: Any = None) -> T:
        """Return the saved value of cell ``key``, computing and saving it if absent.

        ``compute(cell)`` must return JSON-serialisable data and draw its randomness only from
        ``cell.rng``, so a resumed run reproduces it. A single cell runs in this process whatever
        the executor: there is nothing to run beside it, and ``compute`` may be a closure.
        """
        address = cell_address(key)
        self.addresses.append(address)
        if address in self.store:
            return self.store.get(address)
        value = compute(self._cell(key, config))
        self.store.put(address, value)
        return value

    def map(
        self,
        compute: Callable[[Cell], T],
        keys: Sequence[CellKey],
        config: Any = None,
        *,
        desc: str = "",
    ) -> list[T]:
        """Values of the independent cells ``keys``, computing (and saving) the missing ones.

        The missing cells run on :attr:`executor`; each result is saved here, in the calling
        process, as it arrives, and the progress bar counts finished cells. The warnings the
        cells raised wherever they ran are raised again here (same category and message) once
        the batch is done, in the order of ``keys``. ``compute`` must be a module-level
        function of the :class:`Cell` alone (an executor sends it to other processes by
        reference), with the study's parameters in ``config`` or the key.

        Returns
        -------
        list
            Values in the order of ``keys``: saved ones as the store returns them, new ones as
            ``compute`` returned them.

        Raises
        ------
        CellFailedError
            A cell raised or its worker died. Every cell that finished is saved first and no new
            cell is started after the failure, so rerunning the same study resumes.
        """
        addresses = [cell_address(k) for k in keys]
        self.addresses.extend(addresses)
        out: list[Any] = [None] * len(keys)
        todo = []
        for i, address in enumerate(addresses):
            if address in self.store:
                out[i] = self.store.get(address)
            else:
                todo.append(i)
        outcomes = self.executor.run(compute, [self._cell(keys[i], config) for i in todo])
        if desc:
            outcomes = self.progress(outcomes, total=len(todo), desc=desc)
        failure: tuple[int, BaseException] | None = None
        saved = 0
        sent: dict[int, tuple[Any, ...]] = {}
        for outcome in outcomes:
            sent[outcome.index] = outcome.warnings
            if outcome.error is None:
                i = todo[outcome.index]
                out[i] = outcome.value
                self.store.put(addresses[i], outcome.value, outcome.seconds)
                saved += 1
            elif failure is None:
                failure = (outcome.index, outcome.error)
        # In the order of the keys, not of completion: the same whatever the executor.
        for index in sorted(sent):
            raise_warnings(sent[index])
        if failure is not None:
            index, error = failure
            raise CellFailedError(self.study, keys[todo[index]], error, saved) from error
        return out


@dataclass(frozen=True)
class Study:
    """A registered study.

    Attributes
    ----------
    name, title : str
        Registry name and one-line title (also the title of its result).
    claims : tuple of str
        The paper claims it tests, declared once here and copied into every result.
    run : callable
        ``run(ctx) -> StudyResult``.
    configs : dict
        Frozen config dataclass per scale of :data:`SCALES`; the study reads
        ``ctx.config or configs[ctx.scale]`` (:func:`register` requires them; a study built by
        hand in a test may leave them out).
    tiny : object
        A config that runs in seconds, for tests (``RunContext(config=study.tiny)``).
    backends : tuple of str
        Array backends its cells actually use (``ctx.xp`` / ``cell.xp``); other studies compute
        with NumPy whatever backend is asked for, and their results record that.
    """

    name: str
    title: str
    claims: tuple[str, ...]
    run: Callable[[RunContext], StudyResult]
    configs: dict[str, Any] = field(default_factory=dict)
    tiny: Any = None
    backends: tuple[str, ...] = ("numpy",)

    def memory_bytes(self, scale: str) -> int:
        """The config's :meth:`StudyConfig.memory_bytes` at ``scale`` (0 for a study built by
        hand without configs)."""
        if not self.configs:
            return 0
        return int(self.configs[scale].memory_bytes())


STUDIES: dict[str, Study] = {}


def register(
    name: str,
    title: str,
    claims: tuple[str, ...],
    *,
    configs: dict[str, StudyConfig],
    tiny: StudyConfig,
    backends: tuple[str, ...] = ("numpy",),
) -> Callable:
    """Decorator registering ``run(ctx) -> StudyResult`` as study ``name``.

    ``configs`` maps every scale of :data:`SCALES` to a frozen dataclass config and ``tiny`` is a
    config of the same type for tests; the type has a ``memory_bytes()`` method
    (:class:`StudyConfig`). The result the study returns gets ``title`` and ``claims``.
    ``backends`` lists the array backends the study's cells compute with (see :class:`Study`).
    """
    if set(configs) != set(SCALES):
        raise ValueError(f"study {name!r}: configs must cover the scales {SCALES}")
    kinds = {type(c) for c in (*configs.values(), tiny)}
    if len(kinds) != 1:
        raise ValueError(f"study {name!r}: configs and tiny must share one type, got {kinds}")
    # Frozen, so that a config shipped with a cell to another process cannot drift from the run's.
    if not (dataclasses.is_dataclass(tiny) and type(tiny).__dataclass_params__.frozen):
        raise ValueError(f"study {name!r}: configs must be frozen dataclasses")
    if not callable(getattr(tiny, "memory_bytes", None)):
        raise ValueError(f"study {name!r}: configs must state memory_bytes() (see StudyConfig)")

    def wrap(fn: Callable[[RunContext], StudyResult]) -> Callable[[RunContext], StudyResult]:
        if name in STUDIES:
            raise ValueError(f"study {name!r} registered twice")

        @functools.wraps(fn)
        def run(ctx: RunContext) -> StudyResult:
            if ctx.config is not None and not isinstance(ctx.config, type(tiny)):
                raise ValueError(
                    f"config of study {name!r} must be a {type(tiny).__name__}, "
                    f"got {type(ctx.config).__name__}"
                )
            # The study name is part of every cell's RNG address: a context is always bound to
            # the study that runs in it (its store and address log are shared, not copied).
            result = fn(ctx if ctx.study == name else replace(ctx, study=name))
            if result.study != name:
                raise ValueError(f"study {name!r} returned the result of {result.study!r}")
            result.title, result.claims = title, list(claims)
            return result

        STUDIES[name] = Study(name, title, claims, run, dict(configs), tiny, backends)
        return run

    return wrap


def get_study(name: str) -> Study:
    """Look a study up by name; ValueError listing the known names otherwise."""
    if name not in STUDIES:
        raise ValueError(f"unknown study {name!r}; known studies: {', '.join(sorted(STUDIES))}")
    return STUDIES[name]
