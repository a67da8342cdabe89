"""Tests of simulator.contrastive.route2 (Lemma 1, Theorem 1, Appendix D on vMF laws) and of the
studies ``route2`` and ``appendix-d``."""

from __future__ import annotations

import json
import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proofs_check._util import mp_log_z, mp_phi_vmf
from simulator.contrastive import route2 as r2
from simulator.results import HOLDS
from simulator.sphere.vmf import log_normaliser, mean_resultant_length, vmf_uniformity_potential
from simulator.studies import STUDIES, RunContext
from simulator.studies import appendix_d as appendix_d_study
from simulator.studies import route2 as route2_study

COARSE = tuple(float(k) for k in np.geomspace(1e-2, 1e4, 13))


@pytest.mark.parametrize(("d", "tau"), [(3, 0.5), (12, 0.1)])
def test_curvature_against_30_digit_quadrature(d: int, tau: float) -> None:
    # [Phi(vMF_k) - Phi(sigma)]/k^2 -> a(1 - a/2)/d: the residual is O(k^2), so halving k divides
    # it by about 4 (this checks the derivation, not just closeness).
    closed = r2.potential_curvature(d, tau)
    residuals = []
    with mpmath.workdps(30):
        alpha = mpmath.mpf(1) / mpmath.mpf(tau)
        for k in (mpmath.mpf("2e-3"), mpmath.mpf("1e-3")):
            gap = mp_phi_vmf(d, k, alpha) - mp_log_z(d, alpha)
            residuals.append(float(gap / k**2) - closed)
    assert abs(residuals[1]) < 1e-5 * closed
    assert 3.5 < residuals[0] / residuals[1] < 4.5


@pytest.mark.parametrize(("d", "tau"), [(8, 0.1), (16, 0.5), (64, 0.05)])
def test_local_critical_eta2_separates_signs(d: int, tau: float) -> None:
    # Appendix D: the second-order coefficient of J_q(vMF_k) - J_q(sigma) changes sign at the
    # local critical eta2; at k = 0.01 the O(k^4) term is far below the +-0.02 alpha/d^2 k^2 margin.
    crit = r2.local_critical_eta2(d, tau)
    assert 0.02 < crit < 0.98
    alpha, kappa = 1.0 / tau, 1e-2
    pot = vmf_uniformity_potential(d, kappa, alpha)
    m2 = float(mean_resultant_length(d, kappa)) ** 2
    for eta2, sign in ((crit + 0.02, 1.0), (crit - 0.02, -1.0)):
        gap = pot.gap - alpha * (1 - eta2) * m2
        assert sign * gap > pot.error


def test_local_beta_threshold_separates_signs() -> None:
    d, tau, eta2 = 4, 0.1, 0.0
    local = r2.local_beta_threshold(d, tau, eta2)
    assert local > 0
    profile = r2.vmf_profile(d, tau, (1e-2, 2e-2))
    for beta, sign in ((1.02 * local, 1.0), (0.98 * local, -1.0)):
        gap = r2.reduced_objective_gap(profile, eta2, beta)[0]
        assert sign * gap > profile.phi_error[0]


@settings(max_examples=30, deadline=None)
@given(d=st.integers(2, 10_000), kappa=st.floats(1e-4, 1e4))
def test_lemma1_ratio_above_explicit_constant(d: int, kappa: float) -> None:
    # KL >= (d/2)|m|^2 (Eqs. 41-46): the ratio is at least d/(2(d-1)) >= 1/2 (double-precision
    # error of KL and A_d below 1e-11 relative).
    ratio = r2.lemma1_ratio(d, kappa)
    assert ratio >= r2.lemma1_explicit_constant(d) * (1 - 1e-11)
    assert r2.lemma1_explicit_constant(d) >= r2.LEMMA1_C


def test_lemma1_ratio_tight_as_kappa_to_zero() -> None:
    for d in (2, 3, 50, 4096):
        # KL = k^2/(2d) + O(k^4), A^2 = k^2/d^2 + O(k^4): relative O(k^2) off the explicit C.
        assert r2.lemma1_ratio(d, 1e-4) == pytest.approx(r2.lemma1_explicit_constant(d), rel=1e-7)


@settings(max_examples=8, deadline=None)
@given(
    d=st.integers(2, 2048),
    tau=st.floats(0.05, 1.0),
    eta2=st.floats(0.0, 0.99),
    excess=st.floats(0.0, 3.0),
)
def test_minimiser_is_sigma_when_beta_at_least_beta0(
    d: int, tau: float, eta2: float, excess: float
) -> None:
    # Theorem 1 (ii), Eqs. 17-19, with the explicit constant C = 1/2 and Align at its ceiling.
    beta = r2.beta0(d, tau, eta2) * (1 + excess)
    profile = r2.vmf_profile(d, tau, COARSE)
    res = r2.minimise_reduced_objective(profile, eta2, beta)
    assert res.kappa == 0.0
    assert np.all(r2.reduced_objective_gap(profile, eta2, beta) >= -profile.phi_error)


def test_minimiser_moves_away_below_threshold() -> None:
    d, tau, eta2 = 4, 0.1, 0.0
    profile = r2.vmf_profile(d, tau, COARSE)
    thr = r2.beta_threshold(profile, eta2)
    assert thr.value == pytest.approx(r2.local_beta_threshold(d, tau, eta2))
    below = r2.minimise_reduced_objective(profile, eta2, 0.5 * thr.value)
    assert below.kappa > 0 and below.value < -below.error
    above = r2.minimise_reduced_objective(profile, eta2, 1.01 * thr.value)
    assert above.kappa == 0.0


def test_interior_threshold_is_exact() -> None:
    # d = 64, tau = 0.5, eta2 = 0: the binding tilt is a finite kappa (first-order transition).
    d, tau, eta2 = 64, 0.5, 0.0
    profile = r2.vmf_profile(d, tau, r2.DEFAULT_KAPPAS)
    thr = r2.beta_threshold(profile, eta2)
    assert 0 < thr.kappa < math.inf
    assert thr.value > thr.local
    # Below the threshold some tilt beats sigma; above it none does.
    assert r2.minimise_reduced_objective(profile, eta2, thr.value * (1 - 1e-3)).kappa > 0
    assert r2.minimise_reduced_objective(profile, eta2, thr.value * (1 + 1e-6)).kappa == 0.0
    # The threshold never exceeds 2 q/d = beta0 (d-1)/d (Phi gap >= 0 and KL >= (d/2)|m|^2).
    assert thr.value <= 2 / tau * (1 - eta2) / d


def test_point_mass_limit_for_jq() -> None:
    # beta = 0, eta2 = 0: J_q(point mass) - J_q(sigma) = alpha eta2 - log Z_d(alpha) < 0 beats
    # every finite kappa of the grid.
    d, tau = 4, 0.5
    profile = r2.vmf_profile(d, tau, COARSE)
    res = r2.minimise_reduced_objective(profile, 0.0, 0.0)
    assert math.isinf(res.kappa)
    assert res.value == -float(log_normaliser(d, 2.0))


def test_global_critical_at_least_local_and_point_mass() -> None:
    for d, tau in ((4, 0.1), (64, 0.5), (1024, 0.2)):
        crit = r2.global_critical_eta2(r2.vmf_profile(d, tau, COARSE))
        assert crit.value >= crit.local - 1e-15
        assert crit.value >= float(log_normaliser(d, 1 / tau)) * tau - 1e-15
        # At eta2 above the global value, no grid law beats sigma for J_q.
        profile = r2.vmf_profile(d, tau, COARSE)
        gap = r2.reduced_objective_gap(profile, min(1.0, crit.value + 1e-6), 0.0)
        assert np.all(gap >= -profile.phi_error)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: r2.beta0(8, 0.0, 0.5), r"tau must lie in \(0, inf\)"),
        (lambda: r2.beta0(8, -1.0, 0.5), r"tau must lie in \(0, inf\)"),
        (lambda: r2.beta0(8, 0.1, 1.5), r"eta2 must lie in \[0, 1\]"),
        (lambda: r2.beta0(8, 0.1, -0.1), r"eta2 must lie in \[0, 1\]"),
        (lambda: r2.local_critical_eta2(1, 0.1), "d must be an integer in"),
        (lambda: r2.lemma1_ratio(8, 0.0), r"kappa must lie in \(0, 10000\]"),
        (lambda: r2.lemma1_ratio(8, -1.0), r"kappa must lie in \(0, 10000\]"),
        (lambda: r2.vmf_profile(8, 0.1, (1.0, -1.0)), "kappas must be increasing"),
        (lambda: r2.vmf_profile(8, 1e-5, COARSE), r"tau must lie in \[0.0001, inf\)"),
    ],
)
def test_bad_input(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


def test_bad_beta_and_eta2_on_profile() -> None:
    profile = r2.vmf_profile(8, 0.2, COARSE[:3])
    with pytest.raises(ValueError, match=r"beta must lie in \[0, inf\)"):
        r2.reduced_objective_gap(profile, 0.5, -1e-3)
    with pytest.raises(ValueError, match=r"beta must lie in \[0, inf\)"):
        r2.minimise_reduced_objective(profile, 0.5, -1.0)
    with pytest.raises(ValueError, match=r"eta2 must lie in \[0, 1\]"):
        r2.beta_threshold(profile, 1.01)


@pytest.mark.parametrize(
    ("name", "module"), [("route2", route2_study), ("appendix-d", appendix_d_study)]
)
def test_study_tiny(name: str, module) -> None:
    assert name in STUDIES
    ctx = RunContext(config=module.TINY)
    result = STUDIES[name].run(ctx).to_dict()
    json.dumps(result, allow_nan=False)
    assert result["rows"] and all(r["verdict"] == HOLDS for r in result["rows"])
    assert result["tables"] and result["figures"]
    assert len(set(ctx.addresses)) == len(ctx.addresses)
    assert set(module.CONFIGS) == {"quick", "full"}


def test_appendix_d_tiny_matches_library() -> None:
    result = appendix_d_study.run(RunContext(config=appendix_d_study.TINY)).to_dict()
    table = result["tables"]["critical"]
    for row in table["rows"]:
        d, tau, local, glob = (row[c] for c in table["columns"][:4])
        assert local == pytest.approx(r2.local_critical_eta2(d, tau), rel=1e-14)
        assert glob >= local


def test_grid_edge_is_flagged() -> None:
    # d = 64, tau = 0.5, eta2 = 0, beta = 0.5 beta_c: the minimiser is near kappa = 94, beyond a
    # grid that stops at kappa = 1.
    profile = r2.vmf_profile(64, 0.5, tuple(np.geomspace(1e-2, 1.0, 5)))
    res = r2.minimise_reduced_objective(profile, 0.0, 5.6e-4)
    assert res.kappa == 1.0 and res.at_edge
    full = r2.minimise_reduced_objective(r2.vmf_profile(64, 0.5, COARSE), 0.0, 5.6e-4)
    assert 10 < full.kappa < 1e3 and not full.at_edge
