"""Issue 13 items 3-6: VICReg, image settings in the trainer, the linear probe, the eta2 lower
bound, ``infonce-sim train`` on images and the study ``table1-real``."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from simulator.contrastive.image_augment import ImageAugmentation
from simulator.contrastive.images import ImageSetting, load_digits_split
from simulator.contrastive.probe import augmentation_eta2_lower, linear_probe
from simulator.contrastive.trainer import TrainConfig, config_dict, train
from simulator.contrastive.vicreg import VICRegWeights, vicreg_loss

NO_CHANGE = ImageAugmentation(max_shift=0.0, max_rotation=0.0, noise_std=0.0, erase_prob=0.0)


# --------------------------------------------------------------------------- VICReg


def _vicreg_reference(z: np.ndarray, zp: np.ndarray, w: VICRegWeights) -> float:
    """Bardes et al.'s terms written with NumPy's own variance and covariance routines."""

    def var_cov(x: np.ndarray) -> tuple[float, float]:
        std = np.sqrt(np.var(x, axis=0, ddof=1) + w.eps)
        cov = np.cov(x, rowvar=False)
        off = cov - np.diag(np.diag(cov))
        return float(np.mean(np.maximum(0.0, w.gamma - std))), float(np.sum(off**2)) / x.shape[1]

    v1, c1 = var_cov(z)
    v2, c2 = var_cov(zp)
    inv = float(np.mean((z - zp) ** 2))
    return w.invariance * inv + w.variance * (v1 + v2) + w.covariance * (c1 + c2)


@pytest.mark.parametrize("scale", [0.3, 1.0, 3.0])
def test_vicreg_value_and_gradient_against_reference_and_finite_differences(scale: float) -> None:
    # scale 0.3: every variance hinge active; 3.0: none; 1.0: a mix.
    gen = np.random.default_rng(11)
    z = scale * gen.standard_normal((9, 5))
    zp = z + 0.5 * scale * gen.standard_normal((9, 5))
    w = VICRegWeights()
    value, gz, gzp = vicreg_loss(z, zp)
    assert value == pytest.approx(_vicreg_reference(z, zp, w), rel=1e-12)
    h = 1e-6
    for arr, grad, which in ((z, gz, 0), (zp, gzp, 1)):
        num = np.zeros_like(arr)
        for idx in np.ndindex(arr.shape):
            e = np.zeros_like(arr)
            e[idx] = h
            args_p = (z + e, zp) if which == 0 else (z, zp + e)
            args_m = (z - e, zp) if which == 0 else (z, zp - e)
            num[idx] = (vicreg_loss(*args_p)[0] - vicreg_loss(*args_m)[0]) / (2 * h)
        # Central differences: error O(h^2 f''') plus rounding O(eps |f| / h) ~ 1e-9 here.
        np.testing.assert_allclose(grad, num, atol=1e-6 * max(1.0, abs(value)))


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**63 - 1), st.integers(2, 12), st.integers(1, 6))
def test_vicreg_invariances(seed: int, n: int, d: int) -> None:
    # Every term is built from differences and centred moments: a common shift of both views
    # and a common permutation of the rows change nothing; swapping the views swaps gradients.
    gen = np.random.default_rng(seed)
    z, zp = gen.standard_normal((n, d)), gen.standard_normal((n, d))
    value, gz, gzp = vicreg_loss(z, zp)
    shift = gen.standard_normal(d)
    assert vicreg_loss(z + shift, zp + shift)[0] == pytest.approx(value, rel=1e-9, abs=1e-9)
    perm = gen.permutation(n)
    pv, pgz, _ = vicreg_loss(z[perm], zp[perm])
    assert pv == pytest.approx(value, rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(pgz, gz[perm], rtol=1e-10, atol=1e-12)
    sv, sgz, sgzp = vicreg_loss(zp, z)
    np.testing.assert_allclose(sgzp, gz, rtol=1e-10, atol=1e-12)
    assert sv == pytest.approx(value, rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(sgz, gzp, rtol=1e-10, atol=1e-12)
    assert value >= 0.0


def test_vicreg_array_api_strict_parity() -> None:
    xps = pytest.importorskip("array_api_strict")
    gen = np.random.default_rng(3)
    z, zp = gen.standard_normal((6, 4)), gen.standard_normal((6, 4))
    value, gz, gzp = vicreg_loss(z, zp)
    svalue, sgz, sgzp = vicreg_loss(xps.asarray(z), xps.asarray(zp))
    assert svalue == pytest.approx(value, rel=1e-13)
    np.testing.assert_allclose(np.asarray(sgz), gz, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(np.asarray(sgzp), gzp, rtol=1e-12, atol=1e-15)


def test_vicreg_bad_input() -> None:
    with pytest.raises(ValueError, match="same shape"):
        vicreg_loss(np.zeros((4, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="n >= 2"):
        vicreg_loss(np.zeros((1, 3)), np.zeros((1, 3)))
    with pytest.raises(ValueError, match="gamma"):
        VICRegWeights(gamma=0.0)


# --------------------------------------------------------------------------- probe and eta2


def test_probe_separates_separable_classes_and_reports_chance() -> None:
    gen = np.random.default_rng(5)
    y = np.repeat(np.arange(4), 30)
    z = 10.0 * np.eye(4)[y] + 0.1 * gen.standard_normal((120, 4))
    r = linear_probe(z, y, rng=0)
    assert r.accuracy == 1.0 and r.standard_error == 0.0
    assert r.chance == pytest.approx(0.25) and r.n == 120 and r.classes == 4


@pytest.mark.parametrize(
    ("labels", "kwargs", "match"),
    [
        (np.repeat([0, 2], 10), {"classes": 3}, "class 1 has 0"),
        (np.r_[np.zeros(10, int), np.ones(3, int)], {}, "class 1 has 3"),
        (np.repeat([0.0, 1.0], 10), {}, "integers"),
        (np.zeros(20, int), {}, "at least 2 classes"),
    ],
)
def test_probe_bad_labels(labels: np.ndarray, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        linear_probe(np.zeros((labels.size, 3)), labels, **kwargs)


def test_probe_rejects_mismatched_rows() -> None:
    with pytest.raises(ValueError, match="one row per label"):
        linear_probe(np.zeros((5, 3)), np.repeat([0, 1], 10))


def test_eta2_lower_bound_tracks_the_strength_of_the_augmentation() -> None:
    images = load_digits_split().train_images
    # Identical views: the summaries coincide, rho_m = 1 = eta2.
    same = augmentation_eta2_lower(images, NO_CHANGE, pairs=400, rng=1)
    assert same["lower"] > 0.9
    # Noise 100 times the pixel scale: the views carry almost nothing of the item.
    noisy = ImageAugmentation(max_shift=0.0, max_rotation=0.0, noise_std=100.0, erase_prob=0.0)
    assert augmentation_eta2_lower(images, noisy, pairs=400, rng=1)["lower"] < same["lower"]
    with pytest.raises(ValueError, match="pairs"):
        augmentation_eta2_lower(images, pairs=10)


# --------------------------------------------------------------------------- trainer on images


def _digits_config(loss: str, **kw: object) -> TrainConfig:
    base = {
        "data": ImageSetting(load_digits_split()),
        "encoder": "mlp",
        "d": 64,
        "hidden": 64,
        "batch": 128,
        "epochs": 4,
        "eval_every": 4,
        "loss": loss,
        "null_columns": 50,
        "uniformity_rows": 100,
    }
    base.update(kw)
    return TrainConfig(**base)


@pytest.mark.parametrize("loss", ["infonce", "supervised", "vicreg"])
def test_every_loss_trains_on_digits_and_records_clean_test_embeddings(loss: str) -> None:
    cfg = _digits_config(loss, d=8, hidden=16, epochs=1, eval_every=1)
    run = train(cfg, rng=2)
    assert run.diverged is None
    assert run.clean_embeddings.shape == (450, 8) and run.clean_embeddings_e0.shape == (450, 8)
    assert np.all(np.isfinite(run.clean_embeddings))
    record = json.loads(json.dumps(config_dict(cfg)))
    assert record["data"]["name"] == "digits" and record["data"]["classes"] == 10
    assert record["loss"] == loss
    assert run.eta2["low"] == 0.0 and run.eta2["high"] == 1.0


def test_synthetic_runs_have_no_clean_embeddings() -> None:
    from simulator.contrastive.data import DataSetting, Eta2

    data = DataSetting("gmm", p=8, n_train=64, n_test=32, components=2)
    run = train(
        TrainConfig(data=data, d=4, batch=16, epochs=1, eval_every=1, null_columns=20),
        rng=0,
        eta2=Eta2(0.5, 0.5, 0.0, "given"),
    )
    assert run.clean_embeddings is None and run.clean_embeddings_e0 is None


def _t_lower(values: list[float]) -> float:
    """Lower end of the one-sided 95% Student-t bound on the mean over runs."""
    v = np.asarray(values)
    return float(v.mean() - stats.t.ppf(0.95, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))


@pytest.mark.slow
def test_supervised_accuracy_well_above_chance_and_contrastive_beats_e0() -> None:
    split = load_digits_split()
    sup, gain, drop = [], [], []
    for seed in range(5):
        run = train(_digits_config("supervised"), rng=seed)
        p = linear_probe(run.clean_embeddings, split.test_labels, rng=seed)
        sup.append(p.accuracy - p.chance)
        # At d = 8 a random encoder drops much of the class information of 64 pixels, so the
        # probe can tell a trained encoder from E0 (at d = 64 both are near the pixels' 0.9).
        run = train(_digits_config("infonce", d=8), rng=seed)
        trained = linear_probe(run.clean_embeddings, split.test_labels, rng=seed).accuracy
        e0 = linear_probe(run.clean_embeddings_e0, split.test_labels, rng=seed).accuracy
        gain.append(trained - e0)
        drop.append(run.history[0]["loss"] - run.history[-1]["loss"])
    # Margins from the run-to-run spread: one-sided 95% t bounds over the five seeds.
    assert _t_lower(sup) > 0.5
    assert _t_lower(gain) > 0.0
    assert _t_lower(drop) > 0.0


# --------------------------------------------------------------------------- CLI


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "simulator.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )


def test_train_digits_json_probe_and_audit_gives_identical_metrics(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["train", "--data", "digits", "--encoder", "mlp", "--d", "64", "--hidden", "32"]
    r = _cli(*args, "--epochs", "1", "--json", "--quiet", "--out", str(out))
    assert r.returncode == 0, r.stderr
    final = json.loads(r.stdout)
    assert 0.0 <= final["probe_accuracy"] <= 1.0 and final["probe_chance"] < 0.2
    assert final["eta2"] is None and final["prop1_verdict"] is None
    saved = np.load(out / "train-embeddings.npy")
    assert saved.shape == (450, 64)
    a = _cli("audit", str(out / "train-embeddings.npy"), "--json")
    assert a.returncode == 0, a.stderr
    audit = json.loads(a.stdout)
    z, u = audit["unnormalized"], audit["normalized"]
    # Same per-coordinate statistics on the same file: pass fractions and CV agree exactly;
    # the means only up to the order of a floating-point sum over 64 coordinates.
    for key in ("ad_pass", "dp_pass", "ad_pass_ci", "dp_pass_ci", "cv"):
        assert z[key] == final[key]
    for key in ("ad_mean", "dp_mean"):
        assert z[key] == pytest.approx(final[key], rel=1e-12)
        assert u[key] == pytest.approx(final["normalised"][key], rel=1e-12)
    assert u["ad_pass"] == final["normalised"]["ad_pass"]


def _save(path: Path, array: np.ndarray) -> str:
    np.save(path, array)
    return str(path)


@pytest.mark.parametrize(
    ("images", "labels", "match"),
    [
        (np.zeros((10, 4, 4)), np.repeat([0, 1], 4), "one label per image"),
        (np.zeros((10, 4, 4)), np.linspace(0, 1, 10), "integers"),
        (np.zeros((10, 4, 4)), np.zeros(10, int), "at least 2 classes"),
        (np.zeros((10, 2, 2, 2)), np.repeat([0, 1], 5), "2-D"),
        (
            np.random.default_rng(0).standard_normal((23, 4, 4)),
            np.r_[np.zeros(20, int), np.ones(3, int)],
            "probe split: class 1",
        ),
    ],
)
def test_train_bad_images_exit_2_with_one_line(
    tmp_path: Path, images: np.ndarray, labels: np.ndarray, match: str
) -> None:
    x = _save(tmp_path / "x.npy", images)
    y = _save(tmp_path / "y.npy", labels)
    r = _cli("train", "--images", x, "--labels", y, "--batch", "4", "--epochs", "1")
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and match in lines[0], r.stderr


def test_train_images_needs_labels(tmp_path: Path) -> None:
    r = _cli("train", "--images", _save(tmp_path / "x.npy", np.zeros((4, 2, 2))))
    assert r.returncode == 2 and "--images and --labels" in r.stderr


# --------------------------------------------------------------------------- the study


def test_table1_real_tiny_run_is_complete_and_serialisable() -> None:
    from simulator.studies import get_study
    from simulator.studies.registry import RunContext
    from simulator.studies.table1_real import TINY

    res = get_study("table1-real").run(RunContext(config=TINY)).to_dict()
    json.dumps(res)
    assert len(res["rows"]) == 4
    assert {r["verdict"] for r in res["rows"]} <= {"holds", "violated", "inconclusive"}
    rows = res["tables"]["table1-real"]["rows"]
    encoders = {(r["data"], r["encoder"]) for r in rows}
    assert ("digits", "E0") in encoders and ("gmm", "supervised") in encoders
    assert ("laplace", "supervised") not in encoders
    assert {f["id"] for f in res["figures"]} == {"ad-digits", "ad-gmm"}
    assert any("ACE lower bound" in n for n in res["notes"])
