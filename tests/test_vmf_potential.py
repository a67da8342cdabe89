"""Tests of ``simulator.sphere.vmf.vmf_uniformity_potential`` (Phi of Eq. 4 at vMF laws) and of
the stability of ``||m||`` and ``KL`` over 2 <= d <= 10^4, 0 <= kappa <= 10^4.

References: the 30-digit quadrature of ``proofs_check`` (``mp_phi_vmf``), an independent mpmath
quadrature in the angle with the peak located (large d), the d = 3 closed forms
(``Z_3 = sinh(k)/k``) and Monte Carlo with Wood's sampler.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate

from proofs_check._util import mp_log_z, mp_phi_vmf
from simulator.sphere import vmf


def _mp_phi_angle(d: int, kappa: float, alpha: float, dps: int = 30) -> float:
    """``Phi(vMF)`` by mpmath quadrature in ``theta = arccos(w.u)``, with breakpoints around the
    mode of ``exp(kappa cos) sin^{d-2}`` so that a narrow peak (large d or kappa) is resolved."""
    with mpmath.workdps(dps):
        k, a, m = mpmath.mpf(kappa), mpmath.mpf(alpha), mpmath.mpf(d - 2)
        c = 2 * k / (m + mpmath.sqrt(m * m + 4 * k * k))
        mode = mpmath.acos(c)
        width = 1 / mpmath.sqrt(m + k)
        peak = k * c + (m / 2 * mpmath.log(1 - c * c) if m > 0 else 0)
        pts = sorted(
            {mpmath.mpf(0), mpmath.pi}
            | {
                mode + j * width
                for j in (-40, -20, -10, -5, -2, 0, 2, 5, 10, 20, 40)
                if 0 < mode + j * width < mpmath.pi
            }
        )

        def dens(th):
            s = mpmath.sin(th)
            if s == 0:
                return mpmath.mpf(0)
            return mpmath.exp(k * mpmath.cos(th) + m * mpmath.log(s) - peak)

        def g(th):
            r = mpmath.sqrt(k * k + a * a + 2 * k * a * mpmath.cos(th))
            return mp_log_z(d, r) - mp_log_z(d, k)

        num = mpmath.quad(lambda th: dens(th) * g(th), pts)
        den = mpmath.quad(dens, pts)
        return float(num / den)


@pytest.mark.parametrize(
    ("d", "kappa", "alpha"),
    [
        (3, 0.3, 1.0),
        (3, 15.0, 5.0),
        (5, 2.0, 10.0),
        (10, 10.0, 10.0),
        (40, 60.0, 2.0),
        (200, 2.0, 20.0),
        (64, 5.0, 5.0),
    ],
)
def test_against_proofs_check_quadrature(d: int, kappa: float, alpha: float) -> None:
    with mpmath.workdps(30):
        ref = float(mp_phi_vmf(d, mpmath.mpf(kappa), mpmath.mpf(alpha)))
    pot = vmf.vmf_uniformity_potential(d, kappa, alpha)
    assert pot.error < 1e-10
    assert abs(pot.value - ref) <= pot.error
    with mpmath.workdps(30):
        gap_ref = ref - float(mp_log_z(d, mpmath.mpf(alpha)))
    assert abs(pot.gap - gap_ref) <= pot.error + 1e-15 * abs(ref)


@pytest.mark.parametrize(
    ("d", "kappa", "alpha"),
    [(2, 3.0, 2.0), (2, 1e4, 20.0), (4096, 1e-3, 20.0), (3, 1e4, 1e4)]
    # mpmath's Bessel functions at order ~d/2 take 20-80 s per case here.
    + [
        pytest.param(*case, marks=pytest.mark.slow)
        for case in ((4096, 4096.0, 20.0), (10_000, 1e4, 2.0), (10_000, 50.0, 1e4))
    ],
)
def test_extreme_range_against_angle_quadrature(d: int, kappa: float, alpha: float) -> None:
    ref = _mp_phi_angle(d, kappa, alpha)
    pot = vmf.vmf_uniformity_potential(d, kappa, alpha)
    assert abs(pot.value - ref) <= pot.error
    assert pot.error <= 1e-8 * max(1.0, abs(pot.value))


def test_kappa_to_zero_gives_uniform() -> None:
    d, alpha = 7, 3.0
    at0 = vmf.vmf_uniformity_potential(d, 0.0, alpha)
    assert at0.gap == 0.0
    assert at0.value == pytest.approx(float(vmf.log_normaliser(d, alpha)), rel=1e-15)
    # Lemma 2 and the kappa^2 expansion: 0 <= gap <= kappa^2 (a(1 - a/2)/d) (1 + O(kappa^2)).
    a = float(vmf.mean_resultant_length(d, alpha))
    for kappa in (1e-6, 1e-3):
        pot = vmf.vmf_uniformity_potential(d, kappa, alpha)
        lead = kappa**2 * a * (1 - a / 2) / d
        assert abs(pot.gap - lead) <= pot.error + 10 * kappa**2 * lead


def test_d3_closed_forms() -> None:
    # Z_3(k) = sinh(k)/k, A_3 = coth k - 1/k, KL_3 = k A_3 - log(sinh(k)/k); cosine law of vMF on
    # S^2 is k e^{kt}/(2 sinh k) on [-1, 1] (Archimedes): an independent, Bessel-free route.
    def log_z3(k: float) -> float:
        return k + math.log(-math.expm1(-2 * k) / (2 * k))

    for kappa, alpha in ((0.5, 2.0), (4.0, 10.0), (30.0, 1.0)):
        a3 = 1 / math.tanh(kappa) - 1 / kappa
        assert vmf.mean_resultant_length(3, kappa) == pytest.approx(a3, rel=1e-13)
        assert vmf.kl_to_uniform(3, kappa) == pytest.approx(kappa * a3 - log_z3(kappa), rel=1e-12)

        def integrand(t: float, kappa: float = kappa, alpha: float = alpha) -> float:
            r = math.sqrt(kappa**2 + alpha**2 + 2 * kappa * alpha * t)
            dens = kappa * math.exp(kappa * (t - 1)) / (-math.expm1(-2 * kappa))
            return dens * (log_z3(r) - log_z3(kappa))

        ref, err = integrate.quad(integrand, -1, 1, epsabs=1e-14, epsrel=1e-13, limit=200)
        pot = vmf.vmf_uniformity_potential(3, kappa, alpha)
        assert abs(pot.value - ref) <= pot.error + err


def test_monte_carlo_outer_expectation() -> None:
    # Phi(vMF) = E_u G(w.u), G(t) = log Z_d(r(t)) - log Z_d(kappa): Monte Carlo over u ~ vMF with
    # Wood's sampler (seed fixed), against the quadrature within 4 standard errors.
    d, kappa, alpha, n = 16, 5.0, 4.0, 20_000
    w = np.zeros(d)
    w[0] = 1.0
    t = vmf.vmf_sample(n, w, kappa, rng=np.random.default_rng(20260))[:, 0]
    r = np.sqrt(kappa**2 + alpha**2 + 2 * kappa * alpha * t)
    g = vmf.log_normaliser(d, r) - vmf.log_normaliser(d, kappa)
    se = g.std(ddof=1) / math.sqrt(n)
    pot = vmf.vmf_uniformity_potential(d, kappa, alpha)
    assert abs(g.mean() - pot.value) <= 4 * se + pot.error


def test_monte_carlo_inner_identity() -> None:
    # E_{v ~ vMF(w, kappa)} exp(alpha u.v) = Z_d(|kappa w + alpha u|) / Z_d(kappa) at fixed u.
    d, kappa, alpha, n = 12, 3.0, 2.5, 400_000
    gen = np.random.default_rng(77)
    w = np.zeros(d)
    w[0] = 1.0
    u = gen.standard_normal(d)
    u /= np.linalg.norm(u)
    v = vmf.vmf_sample(n, w, kappa, rng=gen)
    vals = np.exp(alpha * (v @ u))
    r = float(np.linalg.norm(kappa * w + alpha * u))
    exact = math.exp(vmf.log_normaliser(d, r) - vmf.log_normaliser(d, kappa))
    assert abs(vals.mean() - exact) <= 4 * vals.std(ddof=1) / math.sqrt(n)


@settings(max_examples=25, deadline=None)
@given(
    d=st.integers(2, 10_000),
    k1=st.floats(1e-6, 1e4),
    k2=st.floats(1e-6, 1e4),
)
def test_kl_and_mean_norm_increase_in_kappa(d: int, k1: float, k2: float) -> None:
    lo, hi = sorted((k1, k2))
    if hi <= lo * (1 + 1e-9):
        return
    assert vmf.mean_resultant_length(d, hi) > vmf.mean_resultant_length(d, lo)
    assert vmf.kl_to_uniform(d, hi) > vmf.kl_to_uniform(d, lo)


@settings(max_examples=15, deadline=None)
@given(d=st.integers(2, 10_000), kappa=st.floats(0.0, 1e4), alpha=st.floats(0.0, 1e4))
def test_lemma2_gap_nonnegative(d: int, kappa: float, alpha: float) -> None:
    # Lemma 2 (Eq. 47): sigma minimises Phi, so Phi(vMF) - Phi(sigma) >= 0 up to the error bound.
    pot = vmf.vmf_uniformity_potential(d, kappa, alpha)
    assert pot.gap >= -pot.error
    assert math.isfinite(pot.value) and pot.error < 1e-6 * max(1.0, abs(pot.value))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"d": 1, "kappa": 1.0, "alpha": 1.0}, "d must be an integer in"),
        ({"d": 10_001, "kappa": 1.0, "alpha": 1.0}, "d must be an integer in"),
        ({"d": 5, "kappa": -0.1, "alpha": 1.0}, r"kappa must lie in \[0, 10000\]"),
        ({"d": 5, "kappa": 2e4, "alpha": 1.0}, r"kappa must lie in \[0, 10000\]"),
        ({"d": 5, "kappa": 1.0, "alpha": -1.0}, r"alpha must lie in \[0, 10000\]"),
        ({"d": 5, "kappa": float("nan"), "alpha": 1.0}, "kappa must be finite"),
    ],
)
def test_bad_input(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        vmf.vmf_uniformity_potential(**kwargs)


@pytest.mark.parametrize(
    ("d", "kappa"),
    [
        (2, 3000.0),
        (3, 3000.0),
        (3, 10000.0),
        (300, 5000.0),
        (1000, 10000.0),
        (4096, 10000.0),
        (10000, 0.001),
        (10000, 10000.0),
        (4096, 20.0),
        (64, 128.0),
        (64, 129.0),
    ],
)
def test_kl_and_mean_norm_stable_over_range(d: int, kappa: float) -> None:
    # kappa > 2d switches KL to the scaled-Bessel route: below, KL = kappa A - log Z cancelled to
    # ~6e-12 relative at d = 2, kappa = 3000. Reference: 40-digit mpmath Bessel functions.
    with mpmath.workdps(40):
        k, nu = mpmath.mpf(kappa), mpmath.mpf(d) / 2 - 1
        i0, i1 = mpmath.besseli(nu, k), mpmath.besseli(nu + 1, k)
        a = i1 / i0
        kl = k * a - (mpmath.loggamma(nu + 1) + nu * mpmath.log(2 / k) + mpmath.log(i0))
    assert vmf.mean_resultant_length(d, kappa) == pytest.approx(float(a), rel=1e-13)
    assert vmf.kl_to_uniform(d, kappa) == pytest.approx(float(kl), rel=2e-12)
