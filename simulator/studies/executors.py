"""Where a study's cells run: in this process, in a local process pool, or on a Dask cluster.

:meth:`RunContext.map <simulator.studies.registry.RunContext.map>` hands the missing cells of a
sweep to an executor and saves each result in the calling process as it arrives, so checkpoints
never depend on where a cell ran. A worker receives only the cell's compute function (a
module-level function, sent by reference) and the :class:`~simulator.studies.registry.Cell`
(study, key, root seed, config, backend): it rebuilds the cell's generator from
``(seed, study, key)``, so results are bit-for-bit identical whatever the executor and the
number of workers.

Every executor follows one failure rule: after the first failed cell no new cell is started,
the cells already started are awaited and reported, and the caller saves those that finished.

Warnings a cell raises are recorded where it runs (:func:`timed_call`) and travel back with its
outcome as ``(category, message)`` pairs; :meth:`RunContext.map
<simulator.studies.registry.RunContext.map>` raises them again in the calling process, so that
they reach the caller's warning filters (the CLI turns them into notes) whatever the executor,
instead of a worker's stderr.

Dask (``dask.distributed``) is an optional dependency, imported only when a
:class:`DaskExecutor` is opened.
"""

from __future__ import annotations

import concurrent.futures
import importlib
import multiprocessing
import os
import pickle
import time
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

EXECUTORS = ("serial", "processes", "dask")
#: Seconds to wait for a Dask scheduler to answer, and then for its first worker.
CONNECT_TIMEOUT_S = 10.0
#: Cells in flight per worker thread: one running and one queued keeps every worker busy while
#: bounding how much work is still started after a failure.
CELLS_PER_SLOT = 2


#: A warning as it travels from a worker: the module and name of its category, and its message
#: (plain strings, so that any warning can be sent back from any process).
SentWarning = tuple[str, str, str]


@dataclass(frozen=True)
class CellOutcome:
    """What an executor reports for one cell: its index in the batch, its value or error, and
    the warnings it raised (:func:`timed_call`)."""

    index: int
    value: Any = None
    error: BaseException | None = None
    seconds: float = 0.0
    warnings: tuple[SentWarning, ...] = ()


def timed_call(
    compute: Callable[[Any], Any], cell: Any
) -> tuple[Any, float, tuple[SentWarning, ...]]:
    """``compute(cell)``, the seconds it took where it ran (the compute time a resumed run
    records for the cell) and every warning it raised, recorded rather than shown (a worker's
    stderr is not the user's): see :func:`raise_warnings`."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        value = compute(cell)
        seconds = time.perf_counter() - start
    sent = tuple((w.category.__module__, w.category.__qualname__, str(w.message)) for w in caught)
    return value, seconds, sent


def _category(module: str, name: str) -> type[Warning]:
    """The warning class ``module.name``, or a stand-in of the same name when it cannot be
    imported here (a class defined where the cell ran only)."""
    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        found = None
    if isinstance(found, type) and issubclass(found, Warning):
        return found
    return type(name.rpartition(".")[2], (UserWarning,), {"__module__": module})


def raise_warnings(sent: tuple[SentWarning, ...]) -> None:
    """Raise again, in this process, the warnings a cell recorded where it ran (same category
    and message), so that this process's warning filters decide what becomes of them."""
    for module, name, message in sent:
        warnings.warn(message, _category(module, name), stacklevel=2)


class CellFailedError(RuntimeError):
    """A cell of a sweep raised (or its worker died); the finished cells were saved.

    Attributes
    ----------
    study : str
        Study of the failing cell.
    key : tuple
        Key of the (first) failing cell.
    saved : int
        Cells of the batch saved before the error was raised.
    """

    def __init__(self, study: str, key: tuple, error: BaseException, saved: int) -> None:
        self.study, self.key, self.saved = study, key, saved
        super().__init__(
            f"cell {key!r} of study {study!r} failed ({type(error).__name__}: {error}); "
            f"{saved} finished cells of this batch are saved and a rerun resumes from them"
        )


def _check_workers(workers: int | None) -> int | None:
    if workers is None:
        return None
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    return workers


def _check_sendable(compute: Callable[..., Any], cell: Any) -> None:
    """Refuse, before anything runs, a compute function another process could not import."""
    try:
        pickle.dumps((compute, cell))
    except (pickle.PicklingError, AttributeError, TypeError) as exc:
        raise ValueError(
            f"compute {getattr(compute, '__qualname__', compute)!r} and its cell must be "
            "picklable to run in another process: use a module-level function of the Cell and "
            f"pass parameters through the cell key or config ({exc})"
        ) from exc


class SerialExecutor:
    """Run cells one after the other in the calling process (the default)."""

    name = "serial"

    @property
    def workers(self) -> int:
        return 1

    def __enter__(self) -> SerialExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Nothing to release."""

    def run(self, compute: Callable[[Any], Any], cells: Sequence[Any]) -> Iterator[CellOutcome]:
        """Outcomes in the order of ``cells``; stops after the first failure."""
        for i, cell in enumerate(cells):
            try:
                value, seconds, sent = timed_call(compute, cell)
            except Exception as exc:
                yield CellOutcome(i, error=exc)
                return
            yield CellOutcome(i, value, seconds=seconds, warnings=sent)


class _PoolExecutor(ABC):
    """Common windowed submission for executors whose cells run elsewhere.

    At most ``CELLS_PER_SLOT * slots`` cells are in flight: workers never idle, the parent
    never holds more than that many pending handles, and after a failure only the cells already
    in flight still run.
    """

    name = ""

    @property
    @abstractmethod
    def workers(self) -> int:
        """Number of worker processes."""

    @property
    def slots(self) -> int:
        """Number of cells that can run at once."""
        return self.workers

    def __enter__(self) -> _PoolExecutor:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @abstractmethod
    def open(self) -> None:
        """Start the pool or connect to the cluster (idempotent)."""

    @abstractmethod
    def close(self) -> None:
        """Stop the pool or disconnect (idempotent)."""

    @abstractmethod
    def _submit(self, compute: Callable[[Any], Any], cell: Any) -> Any:
        """Start ``compute(cell)``; return its handle."""

    @abstractmethod
    def _wait_first(self, handles: list[Any]) -> set[Any]:
        """Block until some of ``handles`` are done; return those."""

    @abstractmethod
    def _outcome(self, index: int, handle: Any) -> CellOutcome:
        """The value or error of a done handle."""

    @abstractmethod
    def _cancel(self, handles: list[Any]) -> None:
        """Drop handles whose results are no longer wanted."""

    def run(self, compute: Callable[[Any], Any], cells: Sequence[Any]) -> Iterator[CellOutcome]:
        """Outcomes in completion order; no cell is started after the first failure."""
        if not cells:
            return
        _check_sendable(compute, cells[0])
        self.open()
        window = CELLS_PER_SLOT * self.slots
        todo = iter(enumerate(cells))
        in_flight: dict[Any, int] = {}
        failed = False
        try:
            while True:
                while not failed and len(in_flight) < window:
                    nxt = next(todo, None)
                    if nxt is None:
                        break
                    in_flight[self._submit(compute, nxt[1])] = nxt[0]
                if not in_flight:
                    return
                for handle in self._wait_first(list(in_flight)):
                    outcome = self._outcome(in_flight.pop(handle), handle)
                    failed = failed or outcome.error is not None
                    yield outcome
        finally:
            # Reached early only when the caller stops iterating (an interrupt): drop the rest.
            if in_flight:
                self._cancel(list(in_flight))


class ProcessExecutor(_PoolExecutor):
    """Run cells in a pool of ``workers`` local processes (standard library, spawn start method).

    Spawned workers import the compute function's module afresh; unlike ``fork`` this is safe
    with threads in the parent and behaves the same on every platform. The pool starts on first
    use and is replaced if a worker dies (the pool is then broken for good).

    Parameters
    ----------
    workers : int, optional
        Number of processes (``>= 1``); default: the number of CPUs.
    """

    name = "processes"

    def __init__(self, workers: int | None = None) -> None:
        self._workers = _check_workers(workers) or os.cpu_count() or 1
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None

    @property
    def workers(self) -> int:
        return self._workers

    def open(self) -> None:
        if self._pool is None:
            self._pool = concurrent.futures.ProcessPoolExecutor(
                self._workers, mp_context=multiprocessing.get_context("spawn")
            )

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _submit(self, compute: Callable[[Any], Any], cell: Any) -> Any:
        assert self._pool is not None
        return self._pool.submit(timed_call, compute, cell)

    def _wait_first(self, handles: list[Any]) -> set[Any]:
        done, _ = concurrent.futures.wait(handles, return_when=concurrent.futures.FIRST_COMPLETED)
        return done

    def _outcome(self, index: int, handle: Any) -> CellOutcome:
        error = handle.exception()
        if isinstance(error, concurrent.futures.process.BrokenProcessPool):
            # Every later submission would fail too: start a new pool on the next batch.
            self.close()
        if error:
            return CellOutcome(index, error=error)
        value, seconds, sent = handle.result()
        return CellOutcome(index, value, seconds=seconds, warnings=sent)

    def _cancel(self, handles: list[Any]) -> None:
        for handle in handles:
            handle.cancel()


class DaskExecutor(_PoolExecutor):
    """Run cells on a Dask cluster: a new ``LocalCluster`` or an existing scheduler.

    Parameters
    ----------
    workers : int, optional
        Workers of the ``LocalCluster`` (one thread each; default: the number of CPUs). Not
        allowed with ``scheduler``: an existing cluster has its own workers.
    scheduler : str, optional
        Address of a running scheduler, e.g. ``tcp://HOST:8786`` (started with Dask's own
        ``dask scheduler`` and ``dask worker`` commands).
    timeout : float, optional
        Seconds to wait for the scheduler to answer and then for at least one worker (default
        :data:`CONNECT_TIMEOUT_S`).

    Notes
    -----
    Dask retries a cell whose worker died on another worker and reports ``KilledWorker`` after
    its allowed number of failures; that is then the cell's error.
    """

    name = "dask"

    def __init__(
        self,
        workers: int | None = None,
        scheduler: str | None = None,
        timeout: float | None = None,
    ) -> None:
        if scheduler is not None and workers is not None:
            raise ValueError(
                "workers cannot be set with a scheduler address: the cluster at "
                f"{scheduler} has its own workers"
            )
        if scheduler is not None and (not isinstance(scheduler, str) or not scheduler):
            raise ValueError(
                f"scheduler must be an address like tcp://HOST:8786, got {scheduler!r}"
            )
        timeout = CONNECT_TIMEOUT_S if timeout is None else timeout
        if not timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout!r}")
        self._requested = _check_workers(workers) or (None if scheduler else os.cpu_count() or 1)
        self.scheduler = scheduler
        self.timeout = timeout
        self._client: Any = None
        self._cluster: Any = None

    @property
    def workers(self) -> int:
        if self._client is None or self.scheduler is None:
            return self._requested or 1
        return len(self._client.nthreads())

    @property
    def address(self) -> str | None:
        """Address of the scheduler in use (None before :meth:`open`)."""
        return None if self._client is None else self._client.scheduler.address

    @property
    def slots(self) -> int:
        # An existing cluster's workers may run several threads each.
        if self._client is None or self.scheduler is None:
            return self.workers
        return max(1, sum(self._client.nthreads().values()))

    def open(self) -> None:
        if self._client is not None:
            return
        try:
            import distributed
        except ImportError as exc:
            raise ValueError(
                "executor 'dask' needs Dask's distributed scheduler: pip install "
                "'infonce-sim[dask]'"
            ) from exc
        if self.scheduler is None:
            self._cluster = distributed.LocalCluster(
                n_workers=self._requested,
                threads_per_worker=1,
                processes=True,
                # Any free port: the default 8787 collides with other clusters on the machine.
                dashboard_address=":0",
            )
            self._client = distributed.Client(self._cluster)
            return
        try:
            self._client = distributed.Client(self.scheduler, timeout=self.timeout)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ValueError(
                f"cannot reach scheduler {self.scheduler} within {self.timeout:g} s ({exc})"
            ) from None
        try:
            self._client.wait_for_workers(1, timeout=self.timeout)
        except TimeoutError:
            self.close()
            raise ValueError(
                f"scheduler {self.scheduler} has no worker after {self.timeout:g} s; start one "
                f"with: dask worker {self.scheduler}"
            ) from None

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def _submit(self, compute: Callable[[Any], Any], cell: Any) -> Any:
        # pure=False: a cell is addressed by its key, not by Dask's hash of its arguments.
        return self._client.submit(timed_call, compute, cell, pure=False)

    def _wait_first(self, handles: list[Any]) -> set[Any]:
        import distributed

        done, _ = distributed.wait(handles, return_when="FIRST_COMPLETED")
        return done

    def _outcome(self, index: int, handle: Any) -> CellOutcome:
        if handle.status == "finished":
            value, seconds, sent = handle.result()
            return CellOutcome(index, value, seconds=seconds, warnings=sent)
        try:
            return CellOutcome(index, error=handle.exception())
        except Exception as exc:  # a cancelled future (lost scheduler) raises instead
            return CellOutcome(index, error=exc)

    def _cancel(self, handles: list[Any]) -> None:
        self._client.cancel(handles)


Executor = SerialExecutor | ProcessExecutor | DaskExecutor


def make_executor(
    name: str = "serial", workers: int | None = None, scheduler: str | None = None
) -> Executor:
    """The executor called ``name`` (one of :data:`EXECUTORS`), not yet started.

    Raises
    ------
    ValueError
        Unknown ``name``; ``workers`` not an integer >= 1; ``scheduler`` without ``'dask'``;
        ``workers`` with ``'serial'`` (it has exactly one) or with ``scheduler``.
    """
    if name not in EXECUTORS:
        raise ValueError(f"executor must be one of {EXECUTORS}, got {name!r}")
    _check_workers(workers)
    if scheduler is not None and name != "dask":
        raise ValueError(f"a scheduler address needs executor 'dask', got executor {name!r}")
    if name == "serial":
        if workers not in (None, 1):
            raise ValueError(
                f"executor 'serial' runs one cell at a time; workers must be 1, got {workers}"
            )
        return SerialExecutor()
    if name == "processes":
        return ProcessExecutor(workers)
    return DaskExecutor(workers, scheduler)
