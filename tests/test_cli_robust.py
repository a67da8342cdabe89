"""The command line on hostile ground: bad ``--out`` folders, warnings, closed pipes, usage
errors, file permissions, leftover checkpoint folders and repeated study names (issue 9,
items 9, 10 and 12)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from simulator import cli
from simulator.results import StudyResult
from simulator.studies import registry

#: The cheapest complete invocation of every verb that takes ``--out``.
VERBS_WITH_OUT = {
    "exact": ["exact", "--d", "10", "--k", "2"],
    "population": ["population", "--d", "8", "--kappa", "1", "--tau", "0.5"],
    "hgr": ["hgr", "--channel", "bsc"],
    "audit": ["audit", "MISSING.npy"],
    "bench": ["bench", "proofs"],
    "proofs": ["proofs"],
    "train": ["train", "--data", "gmm", "--epochs", "1"],
    "run": ["run", "toy"],
}


def exit_code(argv: list[str]) -> int:
    """``cli.main``'s exit code, whether returned or raised by argparse as SystemExit."""
    try:
        return cli.main(argv)
    except SystemExit as exc:
        return int(exc.code)


def one_line_error(capsys: pytest.CaptureFixture) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and "usage:" not in err
    return err


@pytest.fixture
def toy(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A two-cell study that records how often it runs."""
    runs: list[int] = []

    def run(ctx: registry.RunContext) -> StudyResult:
        runs.append(1)
        values = [ctx.cell(("c", i), lambda cell: float(cell.rng.random())) for i in range(2)]
        result = StudyResult("toy", "Toy", ["toy claim"])
        result.add_verdict("toy claim", "none", "holds", measured=sum(values))
        return result

    monkeypatch.setitem(registry.STUDIES, "toy", registry.Study("toy", "Toy", ("toy",), run))
    return runs


@pytest.mark.parametrize("verb", sorted(VERBS_WITH_OUT))
@pytest.mark.parametrize("kind", ["empty", "file", "under-file", "unwritable"])
def test_bad_out_is_one_line_exit_2_before_any_work(
    verb: str, kind: str, tmp_path: Path, toy: list[int], capsys: pytest.CaptureFixture
) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    out = {
        "empty": "",
        "file": str(a_file),
        "under-file": str(a_file / "sub"),
        # /proc takes no new files, even for root (whom permission bits do not stop).
        "unwritable": "/proc/infonce-sim-out",
    }[kind]
    # audit's input is missing: a check made after reading it would name the file instead.
    assert exit_code([*VERBS_WITH_OUT[verb], "--out", out]) == 2
    err = one_line_error(capsys)
    assert "--out" in err
    assert toy == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_out_folder_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        assert cli.main([*VERBS_WITH_OUT["exact"], "--out", str(folder / "new")]) == 2
    finally:
        folder.chmod(0o700)
    assert "cannot write into" in one_line_error(capsys)


def test_missing_parents_of_out_are_created(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "a" / "b" / "c"
    assert cli.main([*VERBS_WITH_OUT["exact"], "--out", str(out)]) == 0
    assert (out / "exact.json").is_file()


def test_population_writes_its_result_through_out(tmp_path: Path) -> None:
    assert cli.main([*VERBS_WITH_OUT["population"], "--json", "--out", str(tmp_path)]) == 0
    saved = json.loads((tmp_path / "population.json").read_text())
    assert saved["data"]["d"] == 8 and saved["provenance"]["command"].startswith("infonce-sim")
    assert (tmp_path / "population.md").is_file()


def test_output_files_honour_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        assert cli.main([*VERBS_WITH_OUT["exact"], "--json", "--out", str(tmp_path)]) == 0
    finally:
        os.umask(old)
    modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
    assert modes and set(modes.values()) == {0o640}, modes


def test_finished_run_leaves_no_partial_folder_and_runs_a_repeated_study_once(
    toy: list[int], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert cli.main(["run", "toy", "toy", "--out", str(tmp_path), "--quiet"]) == 0
    assert toy == [1]
    assert not (tmp_path / ".partial").exists()
    assert capsys.readouterr().out.count("[toy]") == 1


def test_library_warning_becomes_a_note(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    import simulator.cli.exact as exact_cli

    real = exact_cli.exact_distances

    def noisy(d: int, k: int):
        warnings.warn("quadrature\n  did not converge", RuntimeWarning, stacklevel=1)
        return real(d, k)

    monkeypatch.setattr(exact_cli, "exact_distances", noisy)
    assert cli.main([*VERBS_WITH_OUT["exact"], "--json", "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert err == "infonce-sim exact: note: RuntimeWarning: quadrature did not converge\n"
    notes = json.loads((tmp_path / "exact.json").read_text())["notes"]
    assert any("RuntimeWarning: quadrature did not converge" in n for n in notes)


def test_usage_error_is_one_line(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["exact", "--d", "10"])
    assert info.value.code == 2
    assert "--k" in one_line_error(capsys)


def test_closed_pipe_exits_quietly() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulator.cli", "exact", "--d", "10", "--k", "2", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()  # the reader is gone before the first byte is written
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait() == 0
    assert err == ""


@pytest.mark.parametrize(
    "argv",
    [
        ["hgr", "--channel", "qary", "--q", "1000000"],
        ["hgr", "--channel", "partial-sums", "--n", "100000000", "--m", "50000000"],
        ["hgr", "--channel", "sparse-binary", "--method", "ace", "--samples", "1e9"],
        [
            "hgr",
            "--channel",
            "gaussian",
            "--method",
            "ace",
            "--samples",
            "1e6",
            "--max-memory",
            "1M",
        ],
        ["train", "--data", "gmm", "--n-train", "1000000000", "--epochs", "1"],
        ["audit", "EXISTING", "--max-memory", "1K"],
    ],
)
def test_sizes_above_the_memory_limit_refuse_before_work(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys
) -> None:
    import numpy as np

    import simulator.cli.audit as audit_lib
    import simulator.cli.hgr as hgr_cli
    import simulator.contrastive.trainer as trainer

    def no_work(*args: object, **kwargs: object) -> None:
        raise AssertionError("computed before refusing")

    monkeypatch.setattr(hgr_cli, "channel_hgr", no_work)
    monkeypatch.setattr(hgr_cli, "qary_symmetric", no_work)
    monkeypatch.setattr(trainer, "train", no_work)
    monkeypatch.setattr(audit_lib, "audit", no_work)
    path = tmp_path / "x.npy"
    np.save(path, np.zeros((30, 4)))
    argv = [str(path) if a == "EXISTING" else a for a in argv]
    assert exit_code(argv) == 2
    err = one_line_error(capsys)
    assert "memory" in err and "--max-memory" in err


def test_numeric_method_on_a_channel_without_kernel_refuses_before_computing(
    monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    import simulator.cli.hgr as hgr_cli

    def no_work(*args: object, **kwargs: object) -> None:
        raise AssertionError("computed before refusing")

    monkeypatch.setattr(hgr_cli, "channel_hgr", no_work)
    argv = ["hgr", "--channel", "partial-sums", "--n", "1000", "--m", "10", "--method", "numeric"]
    assert exit_code(argv) == 2
    assert "--method numeric applies to" in one_line_error(capsys)


def test_max_memory_sizes_parse() -> None:
    from simulator.cli.common import memory_size

    assert memory_size("8G") == 8 * 2**30
    assert memory_size("512MiB") == 512 * 2**20
    assert memory_size("1000") == 1000
    for bad in ("", "x", "-1G", "inf"):
        with pytest.raises(Exception, match="size"):
            memory_size(bad)


def _refuse_work(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Make study ``name`` and every executor's start raise: a refusal must come before them."""
    import dataclasses

    from simulator.studies import executors

    def no_work(*args: object, **kwargs: object) -> None:
        raise AssertionError("worked before refusing")

    study = dataclasses.replace(registry.STUDIES[name], run=no_work)
    monkeypatch.setitem(registry.STUDIES, name, study)
    monkeypatch.setattr(executors.ProcessExecutor, "open", no_work)
    monkeypatch.setattr(executors.DaskExecutor, "open", no_work)


def test_run_above_max_memory_refuses_before_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    _refuse_work(monkeypatch, "appendix-d")
    out = tmp_path / "out"
    argv = ["run", "appendix-d", "--scale", "full", "--max-memory", "1M", "--out", str(out)]
    assert exit_code(argv) == 2
    err = one_line_error(capsys)
    # The estimate, the limit and the option that raises it, in one line; nothing written.
    assert "appendix-d" in err and "needs about" in err and "above the limit of 1 MiB" in err
    assert "--max-memory" in err
    assert not out.exists()


@pytest.mark.parametrize("executor", ["processes", "dask"])
def test_run_with_too_many_workers_refuses_before_starting_them(
    executor: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    _refuse_work(monkeypatch, "appendix-d")
    out = tmp_path / "out"
    argv = ["run", "appendix-d", "--executor", executor, "--workers", "100000", "--out", str(out)]
    assert exit_code(argv) == 2
    err = one_line_error(capsys)
    assert f"100000 workers ({executor})" in err and "--workers" in err and "--max-memory" in err
    assert not out.exists()


def test_run_memory_counts_every_process_on_this_machine() -> None:
    from simulator.cli.run import PROCESS_BASE_BYTES, run_memory_bytes
    from simulator.studies import executors

    studies = [registry.STUDIES["appendix-d"], registry.STUDIES["test-calibration"]]
    cell = studies[1].memory_bytes("quick")  # the larger cell
    serial, account = run_memory_bytes(studies, "quick", executors.SerialExecutor())
    assert serial == PROCESS_BASE_BYTES + cell and "test-calibration" in account
    # Three workers each compute a cell; the idle parent holds only its imports.
    pool, _ = run_memory_bytes(studies, "quick", executors.ProcessExecutor(3))
    assert pool == 4 * PROCESS_BASE_BYTES + 3 * cell
    # A remote cluster's workers use another machine's memory.
    remote = executors.DaskExecutor(scheduler="tcp://127.0.0.1:8786")
    assert run_memory_bytes(studies, "quick", remote)[0] == PROCESS_BASE_BYTES + cell
