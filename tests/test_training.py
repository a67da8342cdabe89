"""Tests of the training stack: InfoNCE gradients (Eq. 2) through the normalisation layer and both
encoders against finite differences, invariances, closed forms, Adam, the synthetic data, the
trainer (a short run, E0 against the classical CLT, divergence) and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.contrastive.data import DataSetting, Eta2, gmm_eta2
from simulator.contrastive.encoders import Encoder
from simulator.contrastive.infonce import (
    empirical_infonce,
    infonce_from_embeddings,
    infonce_loss_grad,
    normalise_rows,
)
from simulator.contrastive.optim import Adam
from simulator.contrastive.trainer import TrainConfig, train

LOSS_NAMES = ("infonce", "symmetric", "alignment")


def _loss_of_params(enc: Encoder, params: dict, x: np.ndarray, y: np.ndarray, tau, loss) -> float:
    z = enc.forward(params, np.concatenate([x, y]))[0]
    n = x.shape[0]
    return infonce_from_embeddings(z[:n], z[n:], tau, loss=loss)[0]


def _finite_difference(f, params: dict, name: str, h: float = 1e-6) -> np.ndarray:
    base = params[name]
    out = np.empty_like(base)
    for idx in np.ndindex(base.shape):
        plus = {**params, name: base.copy()}
        minus = {**params, name: base.copy()}
        plus[name][idx] += h
        minus[name][idx] -= h
        out[idx] = (f(plus) - f(minus)) / (2 * h)
    return out


@pytest.mark.parametrize("loss", LOSS_NAMES)
@pytest.mark.parametrize(
    ("kind", "activation"), [("linear", "relu"), ("mlp", "tanh"), ("mlp", "relu")]
)
def test_parameter_gradients_match_finite_differences(
    kind: str, activation: str, loss: str
) -> None:
    gen = np.random.default_rng(11)
    enc = Encoder(kind, p=5, d=3, hidden=4, activation=activation)
    params = enc.init(rng=gen)
    x, y = gen.standard_normal((6, 5)), gen.standard_normal((6, 5))
    tau = 0.3
    z, cache = enc.forward(params, np.concatenate([x, y]))
    _, gx, gy = infonce_from_embeddings(z[:6], z[6:], tau, loss=loss)
    grads = enc.backward(params, cache, np.concatenate([gx, gy]))
    assert set(grads) == set(params)
    for name in params:
        fd = _finite_difference(lambda p: _loss_of_params(enc, p, x, y, tau, loss), params, name)
        # Central differences of a smooth function: error O(h^2) + rounding O(eps/h) ~ 1e-9.
        np.testing.assert_allclose(grads[name], fd, rtol=1e-6, atol=1e-8, err_msg=name)


@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_embedding_gradients_match_finite_differences(loss: str) -> None:
    gen = np.random.default_rng(5)
    zx, zy = gen.standard_normal((7, 4)), gen.standard_normal((7, 4))
    _, gx, gy = infonce_from_embeddings(zx, zy, 0.2, loss=loss)
    p = {"zx": zx, "zy": zy}

    def f(q: dict) -> float:
        return infonce_from_embeddings(q["zx"], q["zy"], 0.2, loss=loss)[0]

    np.testing.assert_allclose(gx, _finite_difference(f, p, "zx"), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(gy, _finite_difference(f, p, "zy"), rtol=1e-6, atol=1e-9)


def _unit(gen: np.random.Generator, n: int, d: int) -> np.ndarray:
    return normalise_rows(gen.standard_normal((n, d)))[0]


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**63 - 1), n=st.integers(2, 10), d=st.integers(2, 6))
def test_loss_matches_forward_and_is_invariant(seed: int, n: int, d: int) -> None:
    gen = np.random.default_rng(seed)
    u, v = _unit(gen, n, d), _unit(gen, n, d)
    value, gu, gv = infonce_loss_grad(u, v, 0.5)
    assert value == pytest.approx(empirical_infonce(u, v, 0.5), rel=1e-12, abs=1e-12)
    q, _ = np.linalg.qr(gen.standard_normal((d, d)))
    rv, rgu, rgv = infonce_loss_grad(u @ q, v @ q, 0.5)
    assert rv == pytest.approx(value, rel=1e-12, abs=1e-12)
    # The gradient rotates with the embeddings (equivariance).
    np.testing.assert_allclose(rgu, gu @ q, atol=1e-12)
    np.testing.assert_allclose(rgv, gv @ q, atol=1e-12)
    perm = gen.permutation(n)
    for loss in LOSS_NAMES:
        a = infonce_loss_grad(u, v, 0.5, loss=loss)
        b = infonce_loss_grad(u[perm], v[perm], 0.5, loss=loss)
        assert b[0] == pytest.approx(a[0], rel=1e-12, abs=1e-12)
        np.testing.assert_allclose(b[1], a[1][perm], atol=1e-12)
        np.testing.assert_allclose(b[2], a[2][perm], atol=1e-12)


@pytest.mark.parametrize("loss", ["infonce", "symmetric"])
@pytest.mark.parametrize("tau", [0.01, 0.1, 1.0])
def test_aligned_orthogonal_pairs_closed_form(loss: str, tau: float) -> None:
    # u_i = v_i = e_i: S_ii = 1/tau, S_ij = 0, so L = log(1 + (N - 1) exp(-1/tau)) in both
    # directions; at tau = 0.01 exp(100) would overflow without the max shift.
    n = 6
    u = np.eye(n)
    value, gu, _ = infonce_loss_grad(u, u, tau, loss=loss)
    assert value == pytest.approx(math.log1p((n - 1) * math.exp(-1 / tau)), rel=1e-12)
    assert np.all(np.isfinite(gu))


def test_finite_at_small_temperature_with_unit_norms() -> None:
    gen = np.random.default_rng(2)
    u, v = _unit(gen, 64, 8), _unit(gen, 64, 8)
    value, gu, gv = infonce_loss_grad(u, v, 0.01, loss="symmetric")
    assert math.isfinite(value) and np.all(np.isfinite(gu)) and np.all(np.isfinite(gv))


def test_zero_row_maps_to_fixed_point_with_zero_gradient() -> None:
    z = np.array([[0.0, 0.0, 0.0], [3.0, 4.0, 0.0]])
    u, _ = normalise_rows(z)
    np.testing.assert_array_equal(u[0], [1.0, 0.0, 0.0])
    _, gx, _ = infonce_from_embeddings(z, z[::-1].copy(), 0.5)
    np.testing.assert_array_equal(gx[0], 0.0)


def test_array_api_strict_parity() -> None:
    xps = pytest.importorskip("array_api_strict")
    gen = np.random.default_rng(9)
    enc = Encoder("mlp", p=5, d=3, hidden=4)
    params = enc.init(rng=1)
    sparams = enc.init(rng=1, xp=xps)
    x = gen.standard_normal((8, 5))
    z, cache = enc.forward(params, x)
    sz, scache = enc.forward(sparams, xps.asarray(x))
    np.testing.assert_allclose(np.asarray(sz), z, rtol=1e-13)
    for loss in LOSS_NAMES:
        value, gx, gy = infonce_from_embeddings(z[:4], z[4:], 0.2, loss=loss)
        svalue, sgx, sgy = infonce_from_embeddings(sz[:4, :], sz[4:, :], 0.2, loss=loss)
        assert svalue == pytest.approx(value, rel=1e-13)
        np.testing.assert_allclose(np.asarray(sgx), gx, rtol=1e-12, atol=1e-15)
        g = np.concatenate([gx, gy])
        grads = enc.backward(params, cache, g)
        sgrads = enc.backward(sparams, scache, xps.concat([sgx, sgy], axis=0))
        for k in grads:
            np.testing.assert_allclose(np.asarray(sgrads[k]), grads[k], rtol=1e-12, atol=1e-15)
    opt, sopt = Adam(weight_decay=0.1), Adam(weight_decay=0.1)
    new = opt.step(params, grads)
    snew = sopt.step(sparams, sgrads)
    for k in new:
        np.testing.assert_allclose(np.asarray(snew[k]), new[k], rtol=1e-12)


def test_adam_first_step_is_lr_times_sign() -> None:
    # With bias correction the first Adam step is lr * g / (|g| + eps) (Kingma & Ba 2015).
    opt = Adam(lr=0.01)
    p = {"w": np.array([1.0, -2.0, 0.5])}
    g = {"w": np.array([3.0, -0.2, 1e-3])}
    new = opt.step(p, g)["w"]
    np.testing.assert_allclose(new, p["w"] - 0.01 * g["w"] / (np.abs(g["w"]) + 1e-8), rtol=1e-12)


def test_adam_minimises_a_quadratic() -> None:
    opt = Adam(lr=0.05)
    p = {"w": np.array([3.0, -4.0])}
    for _ in range(2000):
        p = opt.step(p, {"w": 2 * p["w"]})
    assert np.all(np.abs(p["w"]) < 1e-2)


def test_gmm_eta2_against_separable_and_independent_limits() -> None:
    gen = np.random.default_rng(0)
    far = 100.0 * gen.standard_normal((5, 20))
    assert gmm_eta2(far, 1.0, n=2000, rng=1).value == pytest.approx(1.0, abs=1e-9)
    same = np.zeros((5, 20))
    r = gmm_eta2(same + 1e-9, 1.0, n=2000, rng=1)
    # Identical components: X carries no information on the item, eta2 = 0.
    assert r.value <= 1e-6 + r.error


def _tiny(name: str, **kw) -> TrainConfig:
    defaults = dict(
        data=DataSetting(name, p=kw.pop("p", 64), n_train=512, n_test=kw.pop("n_test", 256)),
        d=16,
        batch=32,
        epochs=4,
        eval_every=4,
        null_columns=200,
        uniformity_rows=128,
    )
    defaults.update(kw)
    return TrainConfig(**defaults)


def test_short_run_lowers_loss_and_raises_alignment() -> None:
    # Margin from the run-to-run spread: the mean change over seeds must exceed three standard
    # errors of that mean, in the direction the optimiser is meant to move.
    d_loss, d_align = [], []
    for seed in range(4):
        r = train(_tiny("gmm", epochs=6, eval_every=6), rng=seed)
        first, last = r.history[0], r.history[-1]
        d_loss.append(last["loss"] - first["loss"])
        d_align.append(last["alignment"]["value"] - first["alignment"]["value"])
    for deltas, sign in ((d_loss, -1), (d_align, 1)):
        mean = float(np.mean(deltas))
        se = float(np.std(deltas, ddof=1) / math.sqrt(len(deltas)))
        assert sign * mean > 3 * se, (deltas, mean, se)


def test_e0_of_laplace_linear_map_is_gaussian_by_the_clt_and_sparse_binary_is_not() -> None:
    # A linear map of 1024 iid Laplace coordinates is a sum of many small independent terms:
    # its coordinates must be consistent with the calibrated Gaussian null (Fisher p >= 0.01).
    # eta2 enters only the Prop. 1 columns, not the metrics tested here: skip its quadrature.
    r = train(_tiny("laplace", p=1024, epochs=1, eval_every=1), rng=3, eta2=Eta2(0, 1, 0, "-"))
    e0 = r.history[0]["unnormalised"]["null"]
    assert e0["ad_pass"]["p_value"] >= 0.01 and e0["dp_pass"]["p_value"] >= 0.01
    # About 5 active entries per sparse item: the same test must reject E0 decisively.
    b = train(_tiny("binary", p=1024, n_test=2000, epochs=1, eval_every=1), rng=3)
    assert b.history[0]["unnormalised"]["null"]["ad_pass"]["p_value"] < 1e-3


def test_diverging_run_stops_with_the_epoch_and_keeps_history() -> None:
    cfg = _tiny("gmm", lr=1e38, dtype="float32", epochs=5, eval_every=1)
    r = train(cfg, rng=0)
    assert r.diverged is not None and "epoch" in r.diverged
    assert r.history[0]["epoch"] == 0
    assert len(r.history) < 6


def test_supervised_control_and_progress_callback() -> None:
    seen = []
    r = train(
        _tiny("gmm", loss="supervised", epochs=2, eval_every=1),
        rng=0,
        progress=lambda e, rec: seen.append(e),
    )
    assert seen == [0, 1, 2] and r.diverged is None and len(r.history) == 3


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"tau": 0.0}, "tau"),
        ({"batch": 1}, "batch"),
        ({"d": 1}, "d"),
        ({"epochs": 0}, "epochs"),
        ({"lr": 0.0}, "learning rate"),
        ({"encoder": "cnn"}, "encoder"),
        ({"loss": "triplet"}, "loss"),
        ({"loss": "supervised"}, "supervised"),
    ],
)
def test_bad_train_config(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        _tiny("laplace", **kwargs)


def test_bad_data_setting() -> None:
    with pytest.raises(ValueError, match="A"):
        DataSetting("laplace", A=1.5)
    with pytest.raises(ValueError, match="data"):
        DataSetting("imagenet")
    with pytest.raises(ValueError, match="batch size N"):
        infonce_loss_grad(np.eye(2)[:1], np.eye(2)[:1], 1.0)


@pytest.mark.gpu
def test_cupy_run_matches_numpy_run() -> None:
    # Host-draw mode: the same data and initial weights on both backends; float64 products on
    # cuBLAS and OpenBLAS differ only by rounding, which a 4-epoch run keeps far below 1e-6.
    import cupy

    cfg = _tiny("gmm", epochs=4, eval_every=2)
    a = train(cfg, rng=5)
    b = train(cfg, rng=5, xp=cupy)
    for ha, hb in zip(a.history, b.history, strict=True):
        assert hb["loss"] == pytest.approx(ha["loss"], rel=1e-6)
        assert hb["unnormalised"]["cv"] == pytest.approx(ha["unnormalised"]["cv"], rel=1e-6)
    np.testing.assert_allclose(b.embeddings, a.embeddings, rtol=1e-6, atol=1e-9)
