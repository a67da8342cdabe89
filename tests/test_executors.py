"""Executors behind ``RunContext.map``: identical results everywhere, resume after a failure, and
the ``run`` flags that choose them (issue 10)."""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import pickle
import socket
import sys
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from simulator import cli
from simulator.results import StudyResult
from simulator.studies import STUDIES, RunContext, Study
from simulator.studies import executors as ex
from simulator.studies.registry import Cell, MemoryStore, cell_address


@dataclass(frozen=True)
class ToyConfig:
    """A toy sweep; ``fail_key`` raises once (``marker`` records that it did), ``exit_key`` kills
    its worker process once."""

    cells: int = 6
    draws: int = 200
    fail_key: int = -1
    exit_key: int = -1
    marker: str = ""


def _toy_cell(cell: Cell) -> dict[str, Any]:
    cfg = cell.config
    index = cell.key[1]
    if index in (cfg.fail_key, cfg.exit_key) and not os.path.exists(cfg.marker):
        Path(cfg.marker).touch()
        if index == cfg.exit_key:
            os._exit(1)
        raise RuntimeError(f"first attempt of cell {index} fails")
    x = cell.rng.standard_normal(cfg.draws)
    return {"mean": float(x.mean()), "head": x[:3].tolist()}


def _toy_run(ctx: RunContext) -> StudyResult:
    cfg = ctx.config or ToyConfig()
    values = ctx.map(_toy_cell, [("toy", i) for i in range(cfg.cells)], cfg, desc="toy")
    result = StudyResult("toy-sweep", "Toy sweep", ["none"])
    result.add_table(
        "cells",
        "Cells",
        ["i", "mean", "head 0", "head 1", "head 2"],
        [
            {"i": i, "mean": v["mean"], **{f"head {j}": h for j, h in enumerate(v["head"])}}
            for i, v in enumerate(values)
        ],
    )
    return result


class ToyWarning(UserWarning):
    """A warning category defined outside the library (resolved by name in the caller)."""


def _warning_cell(cell: Cell) -> int:
    index = cell.key[1]
    warnings.warn(f"toy cell {index} warns", ToyWarning, stacklevel=1)
    warnings.warn("a numerical note", RuntimeWarning, stacklevel=1)
    return index


def _warning_run(ctx: RunContext) -> StudyResult:
    values = ctx.map(_warning_cell, [("toy", i) for i in range(3)], desc="toy")
    result = StudyResult("toy-warnings", "Toy warnings", ["none"])
    result.add_table("cells", "Cells", ["i"], [{"i": v} for v in values])
    return result


def _toy_run_with(config: ToyConfig, ctx: RunContext) -> StudyResult:
    return _toy_run(dataclasses.replace(ctx, config=config))


TOY = Study("toy-sweep", "Toy sweep", ("none",), _toy_run)


class RecordingStore(MemoryStore):
    """A memory store that remembers which addresses were written."""

    def __init__(self) -> None:
        super().__init__()
        self.puts: list[str] = []

    def put(self, key: str, value: Any, seconds: float = 0.0) -> None:
        self.puts.append(key)
        super().put(key, value, seconds)


@pytest.fixture(scope="module")
def processes() -> Iterator[ex.ProcessExecutor]:
    with ex.ProcessExecutor(2) as executor:
        yield executor


@pytest.fixture(scope="module")
def dask_cluster() -> Iterator[ex.DaskExecutor]:
    pytest.importorskip("distributed")
    with ex.DaskExecutor(2) as executor:
        yield executor


@pytest.fixture(params=["serial", "processes", "dask_cluster"])
def executor(request: pytest.FixtureRequest) -> ex.Executor:
    if request.param == "serial":
        return ex.SerialExecutor()
    return request.getfixturevalue(request.param)


def _run(study: Study, config: Any, executor: ex.Executor, store: Any = None) -> dict[str, Any]:
    ctx = RunContext(
        study.name,
        seed=11,
        config=config,
        executor=executor,
        store=MemoryStore() if store is None else store,
    )
    return study.run(ctx).to_dict()


#: Result fields that hold wall-clock timings (the proofs study times each check): not numbers
#: of the study, so they are left out of the comparison.
TIMING_KEYS = frozenset({"seconds", "wall_time_s"})


def _without_timings(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _without_timings(v) for k, v in obj.items() if k not in TIMING_KEYS}
    if isinstance(obj, list):
        return [_without_timings(v) for v in obj]
    return obj


def assert_identical_across_executors(study: Study, config: Any, executors: list[Any]) -> None:
    """Serial, a two-process pool and a two-worker LocalCluster give the same result, bit for
    bit (JSON text compared, so floats compare by representation; timings left out)."""

    def text(executor: Any) -> str:
        return json.dumps(_without_timings(_run(study, config, executor)), sort_keys=True)

    reference = text(ex.SerialExecutor())
    for executor in executors:
        assert text(executor) == reference, executor.name


def test_timings_are_the_only_fields_left_out() -> None:
    payload = {"rows": [{"value": 1.5, "seconds": 0.2}], "wall_time_s": 3.0, "note": "x"}
    assert _without_timings(payload) == {"rows": [{"value": 1.5}], "note": "x"}


def test_toy_identical_across_executors(processes: Any, dask_cluster: Any) -> None:
    assert_identical_across_executors(TOY, ToyConfig(), [processes, dask_cluster])


def test_existing_scheduler_is_used_with_its_workers(dask_cluster: Any) -> None:
    with ex.DaskExecutor(scheduler=dask_cluster.address) as remote:
        assert remote.workers == 2 and remote.slots == 2
        assert_identical_across_executors(TOY, ToyConfig(), [remote])


def test_scheduler_without_workers_is_refused() -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=0, dashboard_address=":0") as empty:
        executor = ex.DaskExecutor(scheduler=empty.scheduler_address, timeout=0.5)
        with pytest.raises(ValueError, match=r"has no worker after 0\.5 s"):
            executor.open()


@pytest.mark.parametrize("name", sorted(STUDIES))
def test_every_study_identical_across_executors(
    name: str, processes: Any, dask_cluster: Any
) -> None:
    study = STUDIES[name]
    assert_identical_across_executors(study, study.tiny, [processes, dask_cluster])


def test_failed_cell_is_named_finished_cells_kept_and_rerun_resumes(
    executor: Any, tmp_path: Path
) -> None:
    cfg = ToyConfig(fail_key=5, marker=str(tmp_path / "failed-once"))
    store = RecordingStore()
    with pytest.raises(ex.CellFailedError, match=r"cell \('toy', 5\) of study 'toy-sweep'") as info:
        _run(TOY, cfg, executor, store)
    assert info.value.key == ("toy", 5)
    first = set(store.puts)
    failed = cell_address(("toy", 5))
    assert failed not in first and len(first) == info.value.saved >= 1
    if executor.name == "serial":
        assert len(first) == 5  # cells 0-4 ran before the failing one
    store.puts.clear()
    resumed = _run(TOY, cfg, executor, store)
    # Only the missing cells ran again, and the numbers are those of a run that never failed.
    assert failed in store.puts and not first & set(store.puts)
    assert len(first) + len(store.puts) == cfg.cells
    assert resumed == _run(TOY, cfg, ex.SerialExecutor())


def test_killed_worker_process_is_reported_and_pool_recovers(
    processes: Any, tmp_path: Path
) -> None:
    cfg = ToyConfig(exit_key=2, marker=str(tmp_path / "killed-once"))
    store = MemoryStore()
    with pytest.raises(ex.CellFailedError, match="BrokenProcessPool"):
        _run(TOY, cfg, processes, store)
    assert _run(TOY, cfg, processes, store) == _run(TOY, cfg, ex.SerialExecutor())


def test_progress_counts_finished_cells(dask_cluster: Any) -> None:
    calls: list[tuple[int | None, str]] = []
    finished: list[int] = []

    def progress(iterable: Any, total: int | None = None, desc: str = "") -> Iterator[Any]:
        calls.append((total, desc))
        for item in iterable:
            finished.append(item.index)
            yield item

    store = MemoryStore()
    store.put(cell_address(("toy", 0)), {"mean": 0.0, "head": []})
    ctx = RunContext("toy-sweep", progress=progress, store=store, executor=dask_cluster)
    ctx.map(_toy_cell, [("toy", i) for i in range(4)], ToyConfig(), desc="toy")
    assert calls == [(3, "toy")] and sorted(finished) == [0, 1, 2]  # the 3 missing cells


def test_workers_receive_no_generator() -> None:
    ctx = RunContext("toy-sweep", seed=3)
    cell = ctx._cell(("toy", 1), ToyConfig())
    payload = pickle.dumps(cell)
    assert b"Generator" not in payload and b"SeedSequence" not in payload
    assert pickle.loads(payload).rng.standard_normal() == cell.rng.standard_normal()


def test_closure_is_refused_before_anything_runs(processes: Any) -> None:
    ctx = RunContext(study="toy-sweep", executor=processes)
    with pytest.raises(ValueError, match="module-level function"):
        ctx.map(lambda cell: 0, [("a", 1)])
    assert ctx.cell(("a", 1), lambda cell: 0) == 0  # a single cell runs here, closures allowed


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "threads"}, "executor must be one of"),
        ({"name": "processes", "workers": 0}, "workers must be an integer >= 1"),
        ({"name": "processes", "workers": -2}, "workers must be an integer >= 1"),
        ({"name": "dask", "workers": 1.5}, "workers must be an integer >= 1"),
        ({"name": "serial", "workers": 2}, "workers must be 1"),
        ({"name": "processes", "scheduler": "tcp://h:8786"}, "needs executor 'dask'"),
        ({"name": "dask", "workers": 2, "scheduler": "tcp://h:8786"}, "has its own workers"),
    ],
)
def test_make_executor_bad_input(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ex.make_executor(**kwargs)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workers", "0"], "--workers must be an integer >= 1"),
        (["--workers", "-1"], "--workers must be an integer >= 1"),
        (["--workers", "1.5"], "--workers must be a finite integer"),
        (["--workers", "two"], "--workers must be an integer"),
        (["--executor", "threads"], "invalid choice"),
        (["--scheduler", "tcp://127.0.0.1:8786"], "needs executor 'dask'"),
    ],
)
def test_run_flags_bad_input_exit_2(
    args: list[str],
    message: str,
    capsys: pytest.CaptureFixture,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(STUDIES, "toy-sweep", TOY)
    with pytest.raises(SystemExit) as exit_info:
        code = cli.main(["run", "toy-sweep", "--out", str(tmp_path), "--quiet", *args])
        raise SystemExit(code)
    err = capsys.readouterr().err
    # One error line, last (argparse prints its usage above it).
    assert exit_info.value.code == 2 and "Traceback" not in err
    assert message in err.strip().splitlines()[-1] and err.count("error:") == 1


def test_unreachable_scheduler_exits_2_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    pytest.importorskip("distributed")
    monkeypatch.setattr(ex, "CONNECT_TIMEOUT_S", 1.0)
    address = f"tcp://127.0.0.1:{_free_port()}"
    args = [
        "run",
        "toy-sweep",
        "--executor",
        "dask",
        "--scheduler",
        address,
        "--out",
        str(tmp_path),
    ]
    monkeypatch.setitem(STUDIES, "toy-sweep", TOY)
    assert cli.main(args) == 2
    err = capsys.readouterr().err.strip()
    assert address in err and len(err.splitlines()) == 1


def test_missing_dask_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # makes `import distributed` fail
    monkeypatch.setitem(STUDIES, "toy-sweep", TOY)
    assert cli.main(["run", "toy-sweep", "--executor", "dask", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "pip install 'infonce-sim[dask]'" in err and len(err.splitlines()) == 1


def test_run_records_executor_and_resumes_after_a_failed_cell(
    dask_cluster: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    tmp_path: Path,
) -> None:
    cfg = ToyConfig(fail_key=3, marker=str(tmp_path / "failed-once"))
    run = functools.partial(_toy_run_with, cfg)
    monkeypatch.setitem(STUDIES, "toy-sweep", Study("toy-sweep", "Toy sweep", ("none",), run))
    out = tmp_path / "out"
    args = ["run", "toy-sweep", "--seed", "11", "--out", str(out), "--quiet"]
    assert cli.main(args) == 1
    assert "cell ('toy', 3) of study 'toy-sweep' failed" in capsys.readouterr().err
    # The checkpoint does not depend on the executor: a Dask cluster (the running one, reached
    # by its address) resumes a serial run.
    assert cli.main([*args, "--executor", "dask", "--scheduler", dask_cluster.address]) == 0
    result = json.loads((out / "toy-sweep.json").read_text())
    assert result["provenance"]["executor"] == "dask"
    assert result["provenance"]["workers"] == 2
    assert result["provenance"]["resumed_cells"] == 3
    reference = _run(Study("toy-sweep", "", (), run), None, ex.SerialExecutor())
    assert result["tables"] == json.loads(json.dumps(reference["tables"]))


def test_cell_warnings_are_raised_again_in_the_caller(executor: Any) -> None:
    ctx = RunContext("toy-warnings", executor=executor)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert ctx.map(_warning_cell, [("toy", i) for i in range(3)]) == [0, 1, 2]
    # Same category (the class itself) and message as where the cell ran.
    seen = Counter((w.category, str(w.message)) for w in caught)
    expected = Counter({(RuntimeWarning, "a numerical note"): 3})
    expected.update((ToyWarning, f"toy cell {i} warns") for i in range(3))
    assert seen == expected, executor.name


def test_worker_warnings_become_the_same_notes_whatever_the_executor(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture, tmp_path: Path
) -> None:
    """Issue 9, item 10: a warning raised in a cell becomes a note in the result and a one-line
    note on stderr, and nothing raw reaches stderr, also from worker processes."""
    pytest.importorskip("distributed")
    study = Study("toy-warnings", "Toy warnings", ("none",), _warning_run)
    monkeypatch.setitem(STUDIES, "toy-warnings", study)
    notes = {}
    for name, extra in (
        ("serial", []),
        ("processes", ["--workers", "2"]),
        ("dask", ["--workers", "2"]),
    ):
        out = tmp_path / name
        argv = ["run", "toy-warnings", "--executor", name, *extra, "--out", str(out), "--quiet"]
        assert cli.main(argv) == 0, name
        err = capfd.readouterr().err
        warned = [line for line in err.splitlines() if "warns" in line or "numerical" in line]
        assert warned and all(line.startswith("infonce-sim run: note: ") for line in warned), err
        notes[name] = json.loads((out / "toy-warnings.json").read_text())["notes"]
    assert notes["serial"] == notes["processes"] == notes["dask"]
    assert "warning caught during the computation: ToyWarning: toy cell 2 warns" in notes["dask"]
