"""The command line: exact, run/report/list with resume, bad input with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from simulator import cli
from simulator.backend import cupy_available
from simulator.cli.checkpoints import FileCheckpointStore
from simulator.cli.io import atomic_write_text
from simulator.results import StudyResult, series
from simulator.sphere.laws import exact_distances
from simulator.studies import registry


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "simulator.cli", *args], capture_output=True, text=True, check=False
    )


def test_exact_json_keys_and_values(capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["exact", "--d", "200", "--k", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"d", "k", "tv", "kl", "ks", "df_bound"}
    e = exact_distances(200, 1)
    assert out["tv"] == e.tv and out["ks"] == e.ks and out["df_bound"] == e.df_bound
    assert cli.main(["exact", "--d", "6", "--k", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ks"] is None and out["df_bound"] is None


def test_a_command_imports_only_its_own_module() -> None:
    """``exact`` must not pay for importing every study and verb (issue: `exact` under 2 s)."""
    code = (
        "import sys; from simulator import cli;"
        "assert cli.main(['exact', '--d', '100', '--k', '2', '--json']) == 0;"
        "loaded = [m for m in ('simulator.studies', 'simulator.cli.run', 'simulator.cli.audit',"
        " 'simulator.cli.train', 'matplotlib', 'sympy') if m in sys.modules];"
        "assert not loaded, loaded"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_sizes_are_read_exactly() -> None:
    """``1e30`` is 10**30 and a 20-digit size keeps its digits (a float would round both)."""
    from simulator.cli.common import bounded_int

    parse = bounded_int("--d", 2)
    assert parse("1e30") == 10**30
    assert parse("12345678901234567891") == 12345678901234567891
    assert parse("2.5e1") == 25


def test_exact_echoes_the_dimension_it_was_given(capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["exact", "--d", "1e30", "--k", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["d"] == 10**30


def test_exact_text_output(capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["exact", "--d", "1000", "--k", "2"]) == 0
    text = capsys.readouterr().out
    assert "total variation" in text and "Diaconis-Freedman" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["exact", "--d", "1", "--k", "1"], "--d must be an integer >= 2"),
        (["exact", "--d", "5", "--k", "0"], "--k must be an integer >= 1"),
        (["exact", "--d", "5", "--k", "5"], "1 <= k < d"),
        (["exact", "--d", "5.5", "--k", "1"], "finite integer"),
        (["exact", "--d", "nan", "--k", "1"], "finite integer"),
        (["exact", "--d", "inf", "--k", "1"], "finite integer"),
        (["run", "no-such-study", "--quiet"], "unknown study"),
        (["run", "--backend", "jax"], "invalid choice"),
        (["run", "--seed", "-3"], "--seed must be an integer >= 0"),
        (["bench", "nope"], "unknown benchmark"),
    ],
)
def test_bad_input_exits_2_without_traceback(args: list[str], message: str) -> None:
    proc = run_cli(*args)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_cupy_backend_without_gpu_exits_2() -> None:
    if cupy_available():
        pytest.skip("a CUDA device is present (gpu machine): the error path does not apply")
    proc = run_cli("run", "spherical-clt", "--backend", "cupy", "--quiet")
    assert proc.returncode == 2
    assert "backend 'cupy'" in proc.stderr and "Traceback" not in proc.stderr


class Interrupt(Exception):
    pass


@pytest.fixture
def toy_study(monkeypatch: pytest.MonkeyPatch) -> dict:
    """Register a small study whose cells can be interrupted on demand."""
    state = {"fail_at": None, "computed": []}

    def run(ctx: registry.RunContext) -> StudyResult:
        values = []
        for i in ctx.progress(range(5), total=5, desc="toy"):

            def compute(cell: registry.Cell, i: int = i) -> float:
                if state["fail_at"] == i:
                    raise KeyboardInterrupt
                state["computed"].append(i)
                return float(cell.rng.standard_normal())

            values.append(ctx.cell(("cell", i), compute))
        result = StudyResult("toy", "Toy study", ["Toy claim"])
        result.add_verdict("toy claim", "none", "holds", measured=sum(values))
        rows = [{"i": i, "value": v} for i, v in enumerate(values)]
        result.add_table("values", "Values", ["i", "value"], rows)
        result.add_figure(
            {"id": "values", "title": "values", "series": [series("v", list(range(5)), values)]}
        )
        return result

    monkeypatch.setitem(registry.STUDIES, "toy", registry.Study("toy", "Toy", ("Toy claim",), run))
    return state


def test_run_writes_file_set_and_resumes(
    toy_study: dict, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "reports"
    toy_study["fail_at"] = 3
    assert cli.main(["run", "toy", "--out", str(out), "--quiet"]) == 130
    assert not (out / "toy.json").exists()  # nothing half-written
    assert toy_study["computed"] == [0, 1, 2]
    partial = next((out / ".partial").glob("toy-*.jsonl")).read_text()
    saved = [json.loads(line) for line in partial.splitlines()]
    saved_seconds = sum(entry["seconds"] for entry in saved)
    toy_study["fail_at"] = None
    assert cli.main(["run", "toy", "--out", str(out), "--quiet"]) == 0
    assert toy_study["computed"] == [0, 1, 2, 3, 4]  # only the missing cells were computed
    resumed = json.loads((out / "toy.json").read_text())
    assert resumed["provenance"]["resumed_cells"] == 3
    # A resumed run records what its saved cells cost when computed, not reading them back.
    assert resumed["provenance"]["resumed_compute_s"] == round(saved_seconds, 3)
    # Both fields are rounded to 1 ms, hence the 1 ms allowance.
    assert resumed["provenance"]["compute_time_s"] == pytest.approx(
        resumed["provenance"]["wall_time_s"] + saved_seconds, abs=1e-3
    )
    # An uninterrupted run in a fresh folder gives the same numbers.
    assert cli.main(["run", "toy", "--out", str(tmp_path / "fresh"), "--quiet"]) == 0
    fresh = json.loads((tmp_path / "fresh" / "toy.json").read_text())
    assert resumed["tables"] == fresh["tables"]
    for name in ("toy.md", "toy-values.csv", "toy-values.tex", "toy-values.png", "index.md"):
        assert (out / name).stat().st_size > 0
    prov = resumed["provenance"]
    for key in (
        "version",
        "commit",
        "dirty",
        "numpy",
        "scipy",
        "backend",
        "rng_mode",
        "seed",
        "scale",
        "wall_time_s",
        "command",
    ):
        assert key in prov
    assert "toy claim" in (out / "index.md").read_text()
    assert not list((out / ".partial").glob("*.jsonl"))
    # report re-renders from JSON without running anything
    (out / "toy.md").unlink()
    capsys.readouterr()
    assert cli.main(["report", "--out", str(out)]) == 0
    assert (out / "toy.md").exists()


def test_report_without_results_is_an_error(tmp_path: Path) -> None:
    proc = run_cli("report", "--out", str(tmp_path))
    assert proc.returncode == 2 and "no study results" in proc.stderr


def test_list_names_every_study(capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["list"]) == 0
    text = capsys.readouterr().out
    for name in registry.STUDIES:
        assert name in text


def test_checkpoint_store_ignores_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "cells.jsonl"
    store = FileCheckpointStore(path)
    store.put("a", {"x": 1.5})
    with open(path, "a") as fh:
        fh.write('{"key": "b", "val')  # killed mid-write
    again = FileCheckpointStore(path)
    assert again.get("a") == {"x": 1.5} and "b" not in again


def test_atomic_write_leaves_no_temp_files(tmp_path: Path) -> None:
    atomic_write_text(tmp_path / "a" / "f.txt", "hello")
    assert (tmp_path / "a" / "f.txt").read_text() == "hello"
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["f.txt"]


def test_cell_caches_null_and_falsy_values() -> None:
    ctx = registry.RunContext()
    calls = []

    def compute(cell: registry.Cell) -> None:
        calls.append(1)

    assert ctx.cell(("k",), compute) is None
    assert ctx.cell(("k",), compute) is None
    assert len(calls) == 1
