"""Uniformity tests, Mardia, sliced Gaussianity, negative-pair cosines and whitening."""

from __future__ import annotations

import math

import numpy as np
import pytest
from harness import assert_coverage, assert_mean, assert_not_rejected, assert_within_se
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from simulator.gaussianity.uniformity import (
    bingham_from_scatter,
    bingham_test,
    cosines_against_null,
    gine_test,
    mardia_test,
    negative_pair_cosines,
    rayleigh_from_mean,
    rayleigh_test,
    sliced_gaussianity,
    unit_rows,
    whiten,
    whitening_from_moments,
)
from simulator.sphere.sampling import uniform_sphere

SEEDS = st.integers(0, 2**63 - 1)


def _assert_size(pvalues: np.ndarray, alpha: float = 0.05) -> None:
    """Rejection count at level alpha consistent with Binomial(m, alpha) (two-sided)."""
    assert_coverage(int(np.sum(pvalues >= alpha)), pvalues.size, 1 - alpha)


def test_rayleigh_and_bingham_have_nominal_size() -> None:
    gens = np.random.default_rng(0).spawn(300)
    samples = [uniform_sphere(150, 5, rng=g) for g in gens]
    _assert_size(np.array([rayleigh_test(u).p_value for u in samples]))
    _assert_size(np.array([bingham_test(u).p_value for u in samples]))


def test_rayleigh_detects_a_mean_direction() -> None:
    g = np.random.default_rng(1).standard_normal((500, 6))
    g[:, 0] += 0.5
    assert rayleigh_test(g).p_value < 1e-8


def test_bingham_detects_anisotropy_that_rayleigh_cannot_see() -> None:
    g = np.random.default_rng(2).standard_normal((500, 6)) * np.array([2.5, 1, 1, 1, 1, 1])
    assert bingham_test(g).p_value < 1e-8
    assert rayleigh_test(g).p_value > 1e-3  # symmetric law: no mean direction


def test_gine_statistic_matches_pairwise_definition() -> None:
    u = uniform_sphere(25, 4, rng=3)
    psi = [
        math.acos(max(-1.0, min(1.0, float(u[i] @ u[j]))))
        for i in range(25)
        for j in range(i + 1, 25)
    ]
    const = (4 - 1) / (2 * 25) * math.exp(2 * (special.gammaln(1.5) - special.gammaln(2.0)))
    expected = 25 / 2 - const * sum(math.sin(a) for a in psi)
    assert gine_test(u, n_mc=1, rng=0).statistic == pytest.approx(expected, rel=1e-12)


def test_gine_mean_is_one_half_under_uniformity() -> None:
    # E G_n = n/2 - c n(n-1)/2 E sin(psi) = 1/2 exactly under sigma.
    gens = np.random.default_rng(4).spawn(300)
    values = np.array(
        [gine_test(uniform_sphere(30, 5, rng=g), n_mc=1, rng=0).statistic for g in gens]
    )
    assert_mean(values, 0.5)


def test_gine_detects_axial_clustering() -> None:
    gen = np.random.default_rng(5)
    g = gen.standard_normal((200, 5)) * 0.3
    g[:, 0] += np.where(gen.random(200) < 0.5, -1.0, 1.0)
    result = gine_test(g, n_mc=49, rng=6)
    assert result.p_value == pytest.approx(1 / 50)
    assert rayleigh_test(g).p_value > 1e-4  # antipodal: no mean direction


def test_mardia_matches_definitions() -> None:
    x = np.random.default_rng(7).standard_t(6, (80, 3))
    res = mardia_test(x, k=3)
    y = x - x.mean(axis=0)
    s_inv = np.linalg.inv(y.T @ y / 80)
    g = y @ s_inv @ y.T
    assert res.b1 == pytest.approx(np.sum(g**3) / 80**2, rel=1e-9)
    assert res.b2 == pytest.approx(np.mean(np.diag(g) ** 2), rel=1e-9)


@settings(max_examples=20, deadline=None)
@given(seed=SEEDS)
def test_mardia_is_affine_invariant(seed: int) -> None:
    gen = np.random.default_rng(seed)
    x = gen.standard_normal((60, 3))
    a = gen.standard_normal((3, 3)) + 3 * np.eye(3)
    r1, r2 = mardia_test(x, k=3), mardia_test(x @ a + gen.standard_normal(3), k=3)
    assert r1.b1 == pytest.approx(r2.b1, rel=1e-6, abs=1e-10)
    assert r1.b2 == pytest.approx(r2.b2, rel=1e-8)


def test_mardia_size_and_power() -> None:
    gens = np.random.default_rng(8).spawn(200)
    p = np.array([mardia_test(g.standard_normal((400, 3)), k=3).kurtosis.p_value for g in gens])
    # The asymptotic kurtosis test is slightly conservative at n = 400: one-sided check.
    assert_coverage(int(np.sum(p >= 0.05)), 200, 0.95, conservative=True)
    cube = np.random.default_rng(9).random((2000, 4))
    assert mardia_test(cube, k=4).kurtosis.p_value < 1e-10
    with pytest.raises(ValueError, match="nonsingular covariance"):
        mardia_test(np.ones((30, 2)) * np.arange(2), k=2)


def test_sliced_gaussianity() -> None:
    gen = np.random.default_rng(10)
    good = sliced_gaussianity(gen.standard_normal((1000, 20)), n_directions=64, rng=1)
    assert good.ad_pass.ci_high > 0.9 and good.d == 64
    # Sparse heavy-tailed coordinates: projections are far from Gaussian.
    bad_x = gen.standard_t(1.5, (1000, 20))
    bad = sliced_gaussianity(bad_x, n_directions=16, rng=1)
    assert bad.ad_pass.ci_high < 0.5


def test_negative_pair_cosines_under_the_null() -> None:
    res = negative_pair_cosines(uniform_sphere(4000, 30, rng=11), max_pairs=2000, rng=12)
    assert res.n_pairs == 2000
    # E[(sqrt(d) u.v)^2] = 1 for independent uniform u, v (disjoint pairs: iid cosines); the SE
    # of a sample sd is about sqrt((kurtosis - 1) / (4 n)) <= sqrt(0.5 / n), as the kurtosis
    # 3d/(d+2) of sqrt(d) U_1 is below 3.
    assert_within_se(res.scaled_sd, 1.0, math.sqrt(0.5 / 2000))
    assert_not_rejected(res.ks.p_value)


def test_negative_pair_cosines_see_anisotropy() -> None:
    g = np.random.default_rng(13).standard_normal((4000, 30)) + 0.4
    assert negative_pair_cosines(g, rng=1).ks.p_value < 1e-10


@pytest.mark.parametrize("method", ["pca", "zca"])
def test_whitening_gives_identity_covariance(method: str) -> None:
    gen = np.random.default_rng(14)
    x = gen.standard_normal((500, 6)) @ gen.standard_normal((6, 6)) + 3.0
    y, w = whiten(x, method)
    np.testing.assert_allclose(np.cov(y.T), np.eye(6), atol=1e-9)
    assert w.rank == 6
    if method == "zca":
        np.testing.assert_allclose(w.matrix, w.matrix.T, atol=1e-10)


def test_whitening_drops_null_directions() -> None:
    x = np.random.default_rng(15).standard_normal((200, 3))
    x = np.column_stack([x, x[:, 0] + x[:, 1]])
    y, w = whiten(x, "pca")
    assert w.rank == 3 and y.shape == (200, 3)
    with pytest.raises(ValueError, match="covariance is zero"):
        whitening_from_moments(np.zeros(2), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="whitening method"):
        whitening_from_moments(np.zeros(2), np.eye(2), "cholesky")


def test_zero_rows_have_no_direction() -> None:
    x = np.random.default_rng(16).standard_normal((10, 3))
    x[4] = 0.0
    with pytest.raises(ValueError, match="1 row\\(s\\) have zero norm"):
        unit_rows(x)


def test_cosines_against_null_rejects_impossible_cosines() -> None:
    with pytest.raises(ValueError, match="must be finite"):
        cosines_against_null(np.array([0.1, np.nan, -0.2]), 5)
    with pytest.raises(ValueError, match="must lie in"):
        cosines_against_null(np.array([0.1, 3.0, -0.2]), 5)


def test_moment_based_tests_reject_malformed_moments() -> None:
    with pytest.raises(ValueError, match="scatter must be a finite \\(d, d\\) matrix"):
        bingham_from_scatter(np.ones((3, 4)) / 4, 10)
    with pytest.raises(ValueError, match="mean must be a finite vector"):
        rayleigh_from_mean(np.array([0.1]), 10)
    with pytest.raises(ValueError, match="mean must be a finite vector"):
        rayleigh_from_mean(np.array([0.1, np.nan]), 10)
