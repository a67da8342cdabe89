"""Tests of the ``train`` verb, ``bench train`` and the study ``table1-synthetic`` (tiny sizes)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from simulator import cli
from simulator.gaussianity.metrics import clopper_pearson
from simulator.report import study_files
from simulator.results import FINDING_VERDICTS, VERDICTS
from simulator.studies import RunContext, get_study
from simulator.studies.registry import Cell
from simulator.studies.table1_synthetic import (
    NAME,
    TINY,
    CellConfig,
    pass_ci,
    seed_ci,
    table1_cell,
)

SMALL = ["--p", "32", "--n-train", "64", "--n-test", "64", "--d", "4", "--batch", "16"]
#: A stand-in Laplace eta2 for cells whose checks do not involve it (skips the quadrature).
FAKE_ETA2 = ((0.6, (0.5, 0.56, 0.0, "stand-in")),)


def test_train_json_keys_and_out_files(tmp_path, capsys: pytest.CaptureFixture) -> None:
    args = ["train", "--data", "gmm", *SMALL, "--epochs", "2", "--eval-every", "1", "--json"]
    assert cli.main([*args, "--out", str(tmp_path)]) == 0
    out = json.loads(capsys.readouterr().out)
    need = {"cv", "ad_mean", "ad_pass", "dp_mean", "dp_pass", "alignment", "eta2", "bound"}
    assert need | {"loss", "epochs"} <= set(out)
    assert out["epochs"] == 2 and out["diverged"] is None
    names = {p.name for p in tmp_path.iterdir()}
    assert {"train.json", "train.md", "train-metrics.csv", "train-embeddings.npy"} <= names
    emb = np.load(tmp_path / "train-embeddings.npy")
    assert emb.shape == (64, 4)
    saved = json.loads((tmp_path / "train.json").read_text())
    assert [h["epoch"] for h in saved["data"]["history"]] == [0, 1, 2]
    assert saved["provenance"]["seed"] is not None and "metrics" in saved["tables"]


@pytest.mark.parametrize(
    ("flags", "name"),
    [
        (["--tau", "0"], "tau"),
        (["--batch", "1"], "batch"),
        (["--d", "1"], "d"),
        (["--epochs", "0"], "epochs"),
        (["--A", "1.5"], "A"),
        (["--lr", "0"], "learning rate"),
        (["--encoder", "cnn"], "encoder"),
        (["--loss", "hinge"], "loss"),
    ],
)
def test_train_bad_input_one_line_exit_2(flags, name, capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["train", "--data", "gmm", *flags]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and name in err[0]


def test_train_unknown_dataset(capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["train", "--data", "mnist"]) == 2
    assert "--data" in capsys.readouterr().err


def test_seed_ci_matches_student_t_and_clips() -> None:
    v = [0.2, 0.5, 0.3]
    mean, lo, hi = seed_ci(v)
    half = stats.t.ppf(0.975, 2) * np.std(v, ddof=1) / math.sqrt(3)
    assert (lo, hi) == pytest.approx((mean - half, mean + half))
    assert seed_ci([0.0, 1.0], bounds=(0.0, 1.0))[1:] == (0.0, 1.0)
    with pytest.raises(ValueError, match="2 seeds"):
        seed_ci([1.0])


def test_pass_ci_keeps_binomial_uncertainty_when_seeds_agree() -> None:
    mean, lo, hi = pass_ci([[0, 64], [0, 64]])
    assert mean == 0.0 and lo == 0.0
    assert hi == pytest.approx(clopper_pearson(0, 128)[1])


def test_table1_cell_is_a_function_of_its_address() -> None:
    cc = CellConfig(TINY, FAKE_ETA2)
    a = table1_cell(Cell(NAME, ("table1", "gmm", "supervised", 0), 7, cc))
    b = table1_cell(Cell(NAME, ("table1", "gmm", "supervised", 0), 7, cc))
    c = table1_cell(Cell(NAME, ("table1", "gmm", "supervised", 1), 7, cc))
    assert a == b and a != c
    json.dumps(a)
    assert [h["epoch"] for h in a["history"]] == [0, 1, 2]


@pytest.mark.slow
def test_bench_train_rows(capsys: pytest.CaptureFixture) -> None:
    from simulator.cli.benches import BENCHES, BenchConfig

    rows = BENCHES["train"](BenchConfig(repeats=1))
    assert len(rows) == 2 and rows[0].ours_s > 0 and rows[0].baseline_s > 0
    assert rows[0].met == (rows[0].ratio <= 2.0)


@pytest.mark.slow
def test_tiny_study_runs_and_renders() -> None:
    res = get_study(NAME).run(RunContext(config=TINY)).to_dict()
    assert res["rows"] and all(r["verdict"] in (*VERDICTS, *FINDING_VERDICTS) for r in res["rows"])
    assert {"table1", "fig3", "fig11"} <= set(res["tables"])
    files = study_files(res)
    assert f"{NAME}.md" in files and f"{NAME}-fig3.png" in files
