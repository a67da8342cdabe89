"""Route 2 regulariser of Eq. 11: Kozachenko-Leonenko entropy, its gradient, the regulariser in
the trainer, and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from simulator.contrastive.data import DataSetting, Eta2
from simulator.contrastive.regularisers import (
    _neighbours,
    kl_entropy,
    kl_entropy_and_grad,
    log_unit_ball_volume,
    matched_lambda,
    route2_regulariser,
)
from simulator.contrastive.trainer import TrainConfig, train


def _gaussian_entropy(d: int, s: float) -> float:
    """Differential entropy of N(0, s^2 I_d): (d/2) log(2 pi e s^2)."""
    return 0.5 * d * math.log(2.0 * math.pi * math.e * s * s)


def _central_differences(fun, z: np.ndarray, h: float) -> np.ndarray:
    out = np.zeros_like(z)
    for idx in np.ndindex(z.shape):
        zp, zm = z.copy(), z.copy()
        zp[idx] += h
        zm[idx] -= h
        out[idx] = (fun(zp) - fun(zm)) / (2.0 * h)
    return out


def _same_neighbours(z: np.ndarray, k: int, h: float) -> bool:
    """Whether every +-h coordinate move keeps the neighbour assignment (smooth piece)."""
    base = _neighbours(z, k)[0]
    for idx in np.ndindex(z.shape):
        for step in (h, -h):
            moved = z.copy()
            moved[idx] += step
            if not np.array_equal(_neighbours(moved, k)[0], base):
                return False
    return True


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 2**63 - 1),
    n=st.integers(4, 12),
    d=st.integers(1, 4),
    k=st.integers(1, 3),
)
def test_kl_entropy_gradient_matches_finite_differences(seed: int, n: int, d: int, k: int) -> None:
    z = np.random.default_rng(seed).standard_normal((n, d))
    h = 1e-6
    if not _same_neighbours(z, k, h):
        return  # a move crosses a kink of the piecewise smooth estimator
    value, grad = kl_entropy_and_grad(z, k)
    fd = _central_differences(lambda x: kl_entropy_and_grad(x, k)[0], z, h)
    # Central differences of a smooth function: error O(h^2 |f'''|) + O(eps |f| / h).
    scale = 1.0 + float(np.max(np.abs(grad)))
    np.testing.assert_allclose(grad, fd, atol=1e-5 * scale)
    assert math.isfinite(value)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**63 - 1), beta=st.floats(0.0, 5.0), lam=st.floats(0.01, 3.0))
def test_regulariser_gradient_matches_fd(seed: int, beta: float, lam: float) -> None:
    z = np.random.default_rng(seed).standard_normal((10, 3))
    h = 1e-6
    if not _same_neighbours(z, 1, h):
        return
    _, grad = route2_regulariser(z, beta, lam)
    fd = _central_differences(lambda x: route2_regulariser(x, beta, lam)[0], z, h)
    np.testing.assert_allclose(grad, fd, atol=1e-5 * (1.0 + float(np.max(np.abs(grad)))))


def test_entropy_of_a_gaussian_within_its_interval() -> None:
    # Known entropy of N(0, 4 I_2); the estimator's bias at d = 2, n = 4000 is far below its CI.
    z = 2.0 * np.random.default_rng(11).standard_normal((4000, 2))
    est = kl_entropy(z)
    truth = _gaussian_entropy(2, 2.0)
    assert est.ci_low <= truth <= est.ci_high, (est, truth)
    assert est.stderr < 0.05


def test_regulariser_value_against_a_gaussian_reference() -> None:
    # Eq. 13: -H(rho) + lambda E||z||^2 at rho = N(0, s^2 I_d); the entropy part is the only
    # estimated term, so the interval of the entropy estimate bounds the error.
    s, d = 0.7, 3
    z = s * np.random.default_rng(5).standard_normal((3000, d))
    lam = 1.0 / (2.0 * s * s)
    value, _ = route2_regulariser(z, 1.0, lam)
    m2 = float(np.mean(np.sum(z * z, axis=1)))
    est = kl_entropy(z)
    expected = -_gaussian_entropy(d, s) + lam * m2
    half = est.ci_high - est.value
    assert abs(value - expected) <= half, (value, expected, half)
    assert value == pytest.approx(-est.value + lam * m2, rel=1e-12)


def test_entropy_interval_coverage() -> None:
    # Statistical sanity: the 95% batch-means interval covers the true entropy at about its
    # nominal rate (two-sided binomial test at level 1e-3 over 300 independent samples).
    gen = np.random.default_rng(2026)
    truth = _gaussian_entropy(2, 1.0)
    hits = 0
    reps = 300
    for _ in range(reps):
        est = kl_entropy(gen.standard_normal((200, 2)))
        hits += est.ci_low <= truth <= est.ci_high
    assert stats.binomtest(hits, reps, 0.95).pvalue > 1e-3, hits


def test_log_unit_ball_volume_closed_forms() -> None:
    assert math.exp(log_unit_ball_volume(1)) == pytest.approx(2.0, rel=1e-14)
    assert math.exp(log_unit_ball_volume(2)) == pytest.approx(math.pi, rel=1e-14)
    assert math.exp(log_unit_ball_volume(3)) == pytest.approx(4.0 * math.pi / 3.0, rel=1e-14)


def test_duplicates_and_ties_stay_finite() -> None:
    # Rows 0 and 1 coincide: each one's neighbour is the nearest row at a positive distance.
    z = np.array([[0.0, 0.0], [0.0, 0.0], [3.0, 4.0], [0.0, 1.0]])
    idx, eps = _neighbours(z, 1)
    np.testing.assert_array_equal(idx[:2], [3, 3])
    np.testing.assert_allclose(eps, [1.0, 1.0, math.sqrt(18.0), 1.0])
    value, grad = kl_entropy_and_grad(z, 1)
    assert math.isfinite(value) and np.all(np.isfinite(grad))
    # Ties: the four corners of a square are all at distance 1 from two neighbours.
    square = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    _, eps = _neighbours(square, 1)
    np.testing.assert_allclose(eps, 1.0)
    value, _ = kl_entropy_and_grad(square, 1)
    # psi(4) - psi(1) = 1 + 1/2 + 1/3, log V_2 = log pi, log eps = 0.
    expected = 1.0 + 1.0 / 2.0 + 1.0 / 3.0 + math.log(math.pi)
    assert value == pytest.approx(expected, rel=1e-12)


def test_array_api_strict_parity() -> None:
    xps = pytest.importorskip("array_api_strict")
    z = np.random.default_rng(4).standard_normal((9, 3))
    v, g = kl_entropy_and_grad(z, 2)
    sv, sg = kl_entropy_and_grad(xps.asarray(z), 2)
    assert sv == pytest.approx(v, rel=1e-13)
    np.testing.assert_allclose(np.asarray(sg), g, rtol=1e-12, atol=1e-14)
    r, gr = route2_regulariser(z, 0.3, 0.8)
    sr, sgr = route2_regulariser(xps.asarray(z), 0.3, 0.8)
    assert sr == pytest.approx(r, rel=1e-13)
    np.testing.assert_allclose(np.asarray(sgr), gr, rtol=1e-12, atol=1e-14)
    assert matched_lambda(xps.asarray(z)) == pytest.approx(matched_lambda(z), rel=1e-14)


def test_matched_lambda_closed_form() -> None:
    # Rows of squared norm 25 in d = 2: lambda = d / (2 * 25).
    assert matched_lambda(np.array([[3.0, 4.0], [0.0, 5.0]])) == pytest.approx(0.04, rel=1e-15)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: kl_entropy_and_grad(np.zeros((1, 2)), 1), "k \\+ 1"),
        (lambda: kl_entropy_and_grad(np.eye(3), 3), "k \\+ 1"),
        (lambda: kl_entropy_and_grad(np.ones((5, 2)), 1), "duplicate"),
        (lambda: kl_entropy_and_grad(np.eye(3), 0), "k"),
        (lambda: kl_entropy(np.eye(5)), "batches"),
        (lambda: route2_regulariser(np.eye(3), -1.0, 1.0), "beta"),
        (lambda: route2_regulariser(np.eye(3), 1.0, 0.0), "lambda"),
        (lambda: matched_lambda(np.zeros((3, 2))), "not all zero"),
    ],
)
def test_bad_input(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


def _tiny(**kw) -> TrainConfig:
    data = DataSetting("laplace", p=16, n_train=96, n_test=48)
    base = {"data": data, "d": 4, "batch": 16, "epochs": 2, "eval_every": 2}
    base |= {"null_columns": 50, "uniformity_rows": 48}
    return TrainConfig(**(base | kw))


ETA2 = Eta2(0.3, 0.3, 0.0, "given")


def test_trainer_regulariser_moves_embeddings_continuously_in_beta() -> None:
    # Same seed, same data and views: only the gradient differs, so the final embeddings move
    # away from beta = 0 as beta grows and return to it as beta -> 0.
    base = train(_tiny(), rng=7, eta2=ETA2).embeddings
    moves = []
    for beta in (1e-6, 1e-3, 1.0):
        r = train(_tiny(beta=beta), rng=7, eta2=ETA2)
        assert r.regulariser["beta"] == beta and r.regulariser["lambda"] > 0
        moves.append(float(np.linalg.norm(r.embeddings - base) / np.linalg.norm(base)))
    assert moves[0] < moves[1] < moves[2]
    assert moves[0] < 1e-4
    assert "regulariser" not in train(_tiny(), rng=7, eta2=ETA2).to_dict()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"beta": -0.1}, "beta"),
        ({"beta": 1.0, "lam": 0.0}, "lambda"),
        ({"beta": 1.0, "lam": -2.0}, "lambda"),
        ({"beta": 1.0, "entropy_k": 16}, "more samples"),
    ],
)
def test_bad_regulariser_config(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        _tiny(**kwargs)


def test_supervised_loss_refuses_the_regulariser() -> None:
    data = DataSetting("gmm", p=8, n_train=64, n_test=32)
    with pytest.raises(ValueError, match="contrastive"):
        TrainConfig(data=data, d=4, batch=16, loss="supervised", beta=1.0)


@pytest.mark.parametrize(
    ("flags", "match"),
    [
        (["--beta", "-1"], "beta"),
        (["--beta", "1", "--lambda", "0"], "lambda"),
        (["--beta", "1", "--entropy-k", "16"], "more samples"),
    ],
)
def test_train_cli_bad_regulariser_flags(flags: list[str], match: str, capsys) -> None:
    from simulator.cli import main

    base = ["train", "--data", "laplace", "--p", "16", "--n-train", "64", "--n-test", "32"]
    base += ["--d", "4", "--batch", "16", "--epochs", "1", "--quiet"]
    assert main(base + flags) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and match in err[0]
