"""Tests of simulator.sphere.vmf: Bessel ratio, normaliser and KL against mpmath, and Wood's
sampler."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from harness import assert_mean, assert_mean_vector, assert_not_rejected
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from simulator.sphere import vmf

GRID = [
    (d, k)
    for d in (2, 3, 5, 64, 1000, 100_000)
    for k in (1e-8, 1e-3, 0.5, 5.0, 100.0, 5000.0, 1e5)
    if not (d >= 1000 and k >= 5000.0)  # mpmath's 0F1 series is too slow there
]


def _mp_reference(d: int, kappa: float) -> tuple[float, float, float]:
    # Independent route: 0F1 at 40 digits (Z_d(k) = 0F1(; d/2; k^2/4), A_d = Z'/Z).
    with mpmath.workdps(40):
        nu = mpmath.mpf(d) / 2 - 1
        k = mpmath.mpf(kappa)
        t = k * k / 4
        f0 = mpmath.hyp0f1(nu + 1, t, maxterms=10**6)
        f1 = mpmath.hyp0f1(nu + 2, t, maxterms=10**6)
        a = k / (2 * (nu + 1)) * f1 / f0
        log_z = mpmath.log(f0)
        return float(a), float(log_z), float(k * a - log_z)


@pytest.mark.parametrize(("d", "kappa"), GRID)
def test_against_mpmath(d: int, kappa: float) -> None:
    a, log_z, kl = _mp_reference(d, kappa)
    # Stated numerical bound: relative 1e-10 (log-space gammaln differences cost ~1e-11 at d=1e5).
    assert vmf.mean_resultant_length(d, kappa) == pytest.approx(a, rel=1e-10, abs=0.0)
    assert vmf.log_normaliser(d, kappa) == pytest.approx(log_z, rel=1e-10, abs=1e-300)
    assert vmf.kl_to_uniform(d, kappa) == pytest.approx(kl, rel=1e-10, abs=1e-300)


def test_large_d_and_kappa_against_uniform_asymptotics() -> None:
    # d = 2e5, kappa = 1e5 is beyond the mpmath series; the Amos (1974) bounds bracket
    # A_d = r_nu(k) = I_{nu+1}(k)/I_nu(k):
    #   k / (nu + 1/2 + sqrt((nu + 3/2)^2 + k^2)) <= r_nu(k)
    #   r_nu(k) <= k / (nu + 1/2 + sqrt((nu + 1/2)^2 + k^2)).
    d, k = 200_000, 1e5
    nu = d / 2 - 1
    lo = k / (nu + 0.5 + math.sqrt((nu + 1.5) ** 2 + k * k))
    hi = k / (nu + 0.5 + math.sqrt((nu + 0.5) ** 2 + k * k))
    a = vmf.mean_resultant_length(d, k)
    assert lo <= a <= hi
    # d log Z / dk = A_d: check the normaliser by a central difference (error O(h^2 |A''|)).
    h = 1e-2
    deriv = (vmf.log_normaliser(d, k + h) - vmf.log_normaliser(d, k - h)) / (2 * h)
    assert deriv == pytest.approx(a, rel=1e-7)


def test_closed_forms_d3() -> None:
    # S^2: A_3(k) = coth k - 1/k and Z_3(k) = sinh(k)/k.
    for k in (0.3, 2.0, 40.0, 700.0):
        assert vmf.mean_resultant_length(3, k) == pytest.approx(1 / math.tanh(k) - 1 / k, rel=1e-13)
        log_z = k + math.log1p(-math.exp(-2 * k)) - math.log(2 * k)
        assert vmf.log_normaliser(3, k) == pytest.approx(log_z, rel=1e-13)


def test_kappa_zero_and_arrays() -> None:
    assert vmf.mean_resultant_length(7, 0.0) == 0.0
    assert vmf.log_normaliser(7, 0) == 0.0
    assert vmf.kl_to_uniform(7, 0.0) == 0.0
    ks = np.array([[0.0, 1.0], [10.0, 1e4]])
    out = vmf.mean_resultant_length(9, ks)
    assert out.shape == (2, 2)
    assert out[1, 0] == vmf.mean_resultant_length(9, 10.0)


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 5000), st.floats(0.0, 2e4, allow_nan=False))
def test_sub_gaussian_mgf_and_kl_positive(d: int, kappa: float) -> None:
    # Lemma 1 (theory.md 2.4 [known]): log Z_d(t) <= t^2/(2d); KL >= 0; A_d in [0, 1).
    log_z = vmf.log_normaliser(d, kappa)
    assert 0.0 <= log_z <= kappa * kappa / (2 * d) * (1 + 1e-12) + 1e-300
    assert vmf.kl_to_uniform(d, kappa) >= 0.0
    a = vmf.mean_resultant_length(d, kappa)
    assert 0.0 <= a < 1.0
    # Small-kappa expansion A_d ~ kappa/d from above by the Amos upper bound: A_d <= kappa/d.
    assert a <= kappa / d * (1 + 1e-12) + 1e-300


@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("d", lambda: vmf.mean_resultant_length(1, 1.0)),
        ("kappa", lambda: vmf.log_normaliser(3, -0.1)),
        ("kappa", lambda: vmf.kl_to_uniform(3, float("nan"))),
        ("n", lambda: vmf.vmf_sample(0, [1.0, 0.0], 1.0)),
        ("kappa", lambda: vmf.vmf_sample(3, [1.0, 0.0], -1.0)),
        ("unit", lambda: vmf.vmf_sample(3, [1.0, 1.0], 1.0)),
        ("length", lambda: vmf.vmf_sample(3, [1.0], 1.0)),
        ("d", lambda: vmf.vmf_pairs(3, 1, 1.0)),
        ("n", lambda: vmf.vmf_pairs(0, 3, 1.0)),
        ("kappa", lambda: vmf.vmf_pairs(3, 3, -2.0)),
    ],
)
def test_bad_input(name: str, call) -> None:
    with pytest.raises(ValueError, match=name):
        call()


@pytest.mark.parametrize("d", [2, 3, 10, 200])
@pytest.mark.parametrize("kappa", [0.0, 0.7, 30.0, 1e6])
def test_sample_mean_matches_A_d(d: int, kappa: float) -> None:
    gen = np.random.default_rng(np.random.SeedSequence(20260, spawn_key=(d, int(kappa * 10))))
    mu = gen.standard_normal(d)
    mu /= np.linalg.norm(mu)
    n = 20_000
    x = vmf.vmf_sample(n, mu, kappa, rng=gen)
    assert x.shape == (n, d)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-13)
    cos = x @ mu
    assert_mean(cos, vmf.mean_resultant_length(d, kappa), atol=1e-15)
    # The component orthogonal to mu has mean zero (isotropy of the tangent direction).
    # In an orthonormal basis of mu's complement (its covariance is singular along mu).
    basis = np.linalg.svd(np.eye(d) - np.outer(mu, mu))[0][:, : d - 1]
    assert_mean_vector((x - np.outer(cos, mu)) @ basis, np.zeros(d - 1))


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_basis_mean_direction_cosine_law_d3(sign: float) -> None:
    # On S^2 the cosine w = x.mu has density k e^{k w} / (2 sinh k) on [-1, 1]: exact CDF.
    # mu = +-e_1 is the Householder edge case of reflection-based samplers.
    k = 2.5
    mu = np.array([sign, 0.0, 0.0])
    x = vmf.vmf_sample(20_000, mu, k, rng=np.random.SeedSequence(77, spawn_key=(int(sign > 0),)))
    w = x @ mu

    def cdf(t: np.ndarray) -> np.ndarray:
        return np.expm1(k * (t + 1)) / np.expm1(2 * k)

    assert_not_rejected(stats.kstest(w, cdf).pvalue)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**63 - 1), st.integers(2, 40), st.floats(0.0, 50.0))
def test_pairs_alignment_and_uniform_marginal(seed: int, d: int, kappa: float) -> None:
    # theory.md section 4: v ~ sigma and E[u.v] = A_d(kappa) for vMF positive pairs.
    gen = np.random.default_rng(seed)
    n = 4000
    u, v = vmf.vmf_pairs(n, d, kappa, rng=gen)
    np.testing.assert_allclose(np.linalg.norm(u, axis=1), 1.0, atol=1e-13)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-13)
    c = np.einsum("ij,ij->i", u, v)
    assert_mean(c, vmf.mean_resultant_length(d, kappa), atol=1e-12)
    # Uniform marginal of v: E v = 0.
    assert_mean_vector(v, np.zeros(d))


def test_same_seed_same_draws() -> None:
    # SPEC 7: an int seed and a Generator built from it give identical streams.
    u, v = vmf.vmf_pairs(3, 4, 2.0, rng=123)
    u2, v2 = vmf.vmf_pairs(3, 4, 2.0, rng=np.random.default_rng(123))
    np.testing.assert_array_equal(u, u2)
    np.testing.assert_array_equal(v, v2)
