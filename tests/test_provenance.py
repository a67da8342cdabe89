"""Provenance: the commit from a setuptools-scm version, the dirty flag of a checkout (the run's
own output folder left out), null when git cannot say; every verb's results pipeline."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import simulator
from simulator import cli
from simulator.cli import provenance as prov
from simulator.cli.run import effective_backend
from simulator.studies import STUDIES, registry

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(root: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
    }
    return subprocess.run(
        ["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git checkout with a tracked source file and a tracked, committed output folder."""
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    (root / "reports").mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "p"\ndynamic = ["version"]\n')
    (root / "pkg" / "__init__.py").write_text("")
    (root / "reports" / "index.md").write_text("full-scale report\n")
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "initial")
    return root


@pytest.mark.parametrize(
    ("version", "commit", "dirty"),
    [
        ("0.1.1.dev14+g9e6bc7f86", "9e6bc7f86", False),
        ("0.1.1.dev14+g9e6bc7f86.d20261129", "9e6bc7f86", True),
        ("1.0.0", None, None),  # a release tag: no commit in the version
        ("0.1.0", None, None),  # the fallback of a tree without git metadata
        ("0.0.0+unknown", None, None),
    ],
)
def test_version_commit_parses_setuptools_scm_versions(
    version: str, commit: str | None, dirty: bool | None
) -> None:
    assert prov.version_commit(version) == (commit, dirty)


@needs_git
def test_version_commit_on_a_version_that_setuptools_scm_derived(repo: Path) -> None:
    # The version an installed copy carries is what setuptools-scm derives at build time; the
    # commit read back from it must be the checkout's HEAD, clean and dirty.
    setuptools_scm = pytest.importorskip("setuptools_scm")
    head = _git(repo, "rev-parse", "HEAD")
    commit, dirty = prov.version_commit(setuptools_scm.get_version(root=str(repo)))
    assert commit is not None and head.startswith(commit) and dirty is False
    (repo / "pkg" / "__init__.py").write_text("x = 1\n")
    commit, dirty = prov.version_commit(setuptools_scm.get_version(root=str(repo)))
    assert commit is not None and head.startswith(commit) and dirty is True


@needs_git
def test_dirty_flag_ignores_the_output_folder(repo: Path) -> None:
    head = _git(repo, "rev-parse", "HEAD")
    assert prov.git_state(repo) == {"commit": head, "dirty": False}
    (repo / "reports" / "index.md").write_text("quick-scale numbers\n")
    assert prov.git_state(repo)["dirty"] is True
    for out in (repo / "reports", Path(os.path.relpath(repo / "reports"))):
        assert prov.git_state(repo, exclude=(out,)) == {"commit": head, "dirty": False}
    assert prov.git_state(repo, exclude=(repo.parent / "elsewhere",))["dirty"] is True
    (repo / "pkg" / "__init__.py").write_text("x = 1\n")
    assert prov.git_state(repo, exclude=(repo / "reports",))["dirty"] is True


def test_git_state_is_null_without_git_metadata(tmp_path: Path) -> None:
    assert prov.git_state(tmp_path) == {"commit": None, "dirty": None}


def test_git_state_is_null_when_git_is_missing(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    assert prov.git_state(repo) == {"commit": None, "dirty": None}


def test_checkout_root_only_for_the_package_parent(tmp_path: Path, repo: Path) -> None:
    assert prov.checkout_root(repo / "pkg") == repo
    # An installed copy under a checkout (a virtual environment inside it) is not that checkout.
    site = repo / ".venv" / "lib" / "site-packages" / "simulator"
    site.mkdir(parents=True)
    assert prov.checkout_root(site) is None
    assert prov.checkout_root(tmp_path / "x" / "simulator") is None


def test_installed_copy_reads_the_commit_from_its_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(prov, "checkout_root", lambda: None)
    monkeypatch.setattr(simulator, "__version__", "0.1.1.dev3+gabc1234.d20260101")
    assert prov.source_state() == {
        "commit": "abc1234",
        "dirty": True,
        "source": "package version",
    }
    monkeypatch.setattr(simulator, "__version__", "0.1.0")
    assert prov.source_state()["commit"] is None


def test_rng_mode_device_with_numpy_exits_2(capsys: pytest.CaptureFixture) -> None:
    for argv in (["run", "proofs", "--rng-mode", "device"], ["bench", "--rng-mode", "device"]):
        assert cli.main(argv) == 2
        assert "--rng-mode device needs --backend cupy" in capsys.readouterr().err


def test_backend_recorded_as_used() -> None:
    numpy_only = registry.Study("s", "s", (), lambda ctx: None)
    assert effective_backend(numpy_only, "cupy", "device") == ("numpy", "host")
    assert effective_backend(STUDIES["spherical-clt"], "cupy", "device") == ("cupy", "device")


@pytest.fixture
def two_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The proofs registry cut to two fast checks, so the proofs study runs in a second."""
    from proofs_check import core

    checks = core.load_all()
    ids = ["hgr.multiplicative-dpi", "hgr.tensorisation-dks"]
    monkeypatch.setattr(core, "CHECKS", {i: checks[i] for i in ids})
    return ids


def test_proofs_json_writes_nothing(
    two_checks: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli.main(["proofs", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows] == two_checks
    assert {r["status"] for r in rows} == {"pass"}
    assert list(tmp_path.iterdir()) == []


def _without_run_details(markdown: str) -> str:
    """The page less what differs between two runs: the provenance line and the timings."""
    lines = [line for line in markdown.splitlines() if not line.startswith("Command `")]
    return re.sub(r"\| [0-9.]+ \|$", "| t |", "\n".join(lines), flags=re.MULTILINE)


def test_proofs_and_run_proofs_write_the_same_file(
    two_checks: list[str], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert cli.main(["proofs", "--out", str(tmp_path / "a")]) == 0
    assert cli.main(["run", "proofs", "--out", str(tmp_path / "b"), "--quiet"]) == 0
    a, b = ((tmp_path / x / "proofs.md").read_text() for x in ("a", "b"))
    assert _without_run_details(a) == _without_run_details(b)
    assert "hgr.tensorisation-dks" in a
    saved = json.loads((tmp_path / "a" / "proofs.json").read_text())
    assert saved["provenance"]["command"] == f"infonce-sim proofs --out {tmp_path / 'a'}"


@pytest.mark.parametrize(
    ("argv", "stem"),
    [
        (["exact", "--d", "20", "--k", "2"], "exact"),
        (["hgr", "--channel", "bsc", "--p", "0.1"], "hgr"),
    ],
)
def test_verbs_write_only_with_out(
    argv: list[str], stem: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli.main([*argv, "--json"]) == 0
    assert list(tmp_path.iterdir()) == []
    assert cli.main([*argv, "--out", "out"]) == 0
    saved = json.loads((tmp_path / "out" / f"{stem}.json").read_text())
    assert saved["provenance"]["command"] == "infonce-sim " + " ".join([*argv, "--out", "out"])
    assert {"commit", "dirty", "version", "backend"} <= saved["provenance"].keys()
    assert (tmp_path / "out" / f"{stem}.md").read_text().startswith("# ")


def test_bench_writes_only_with_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from simulator.cli.benches import BENCHES, BenchRow

    row = BenchRow("toy", 0.5, 1.0, "loop", 2.0, ">= 1.5", True, "a note")
    monkeypatch.setitem(BENCHES, "toy", lambda cfg: [row])
    monkeypatch.chdir(tmp_path)
    assert cli.main(["bench", "toy", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    # A bench not registered as computing on the backend is labelled numpy (CPU-only).
    expected = {**row.to_dict(), "computed_on": "numpy"}
    assert printed["rows"] == [expected] and printed["provenance"]["backend"] == "numpy"
    assert list(tmp_path.iterdir()) == []
    assert cli.main(["bench", "toy", "--out", "out"]) == 0
    saved = json.loads((tmp_path / "out" / "bench.json").read_text())
    assert saved["data"] == [expected]
    first = saved["tables"]["timings"]["rows"][0]
    assert [first[c] for c in ("benchmark", "ours [s]", "baseline [s]")] == ["toy", 0.5, 1.0]
    assert "| toy |" in (tmp_path / "out" / "bench.md").read_text()
    assert (tmp_path / "out" / "bench-timings.csv").read_text().startswith("benchmark,")
