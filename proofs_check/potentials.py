"""Checks of the projection MGF, Lemma 1, the vMF closed forms and the InfoNCE potentials
(Eq. 4, Lemma 1 Eqs. 41-46; theory.md section 4).

The independent reference everywhere is direct mpmath quadrature against the cosine density
``∝ exp(kappa t)(1 - t^2)^{(d-3)/2}`` of ``t = w.u`` (or the power series of ``0F1``), never the
Bessel closed form under test; the simulator's :mod:`simulator.sphere.vmf` and
:mod:`simulator.contrastive.infonce`
are compared with these references.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import mpmath
import numpy as np
import sympy as sp

from proofs_check._util import (
    is_zero,
    mp_cosine_average,
    mp_log_z,
    mp_mean_resultant,
    mp_phi_vmf,
)
from proofs_check.core import Outcome, check, fmt_num

MGF_GRID_D = (2, 3, 5, 10, 50)
MGF_GRID_T = (0.1, 1.0, 5.0, 20.0)


def paper_mgf(d: int, t: mpmath.mpf) -> mpmath.mpf:
    """``Gamma(d/2) (2/t)^{d/2-1} I_{d/2-1}(t)`` (theory.md section 4, Lemma 1)."""
    nu = mpmath.mpf(d) / 2 - 1
    return mpmath.gamma(nu + 1) * (2 / t) ** nu * mpmath.besseli(nu, t)


def _mgf_series(d: int, t: mpmath.mpf) -> mpmath.mpf:
    """``sum_n t^{2n} E[U_1^{2n}] / (2n)!`` with ``E U_1^{2n} = (1/2)_n / (d/2)_n``."""
    half, dh = mpmath.mpf(1) / 2, mpmath.mpf(d) / 2
    return mpmath.nsum(
        lambda n: t ** (2 * n) * mpmath.rf(half, n) / (mpmath.rf(dh, n) * mpmath.factorial(2 * n)),
        [0, mpmath.inf],
    )


@check(
    "potentials.projection-mgf",
    "Lemma 1 (Eqs. 41-46), [known] projection MGF",
    "E_sigma exp(t w.u) = Gamma(d/2)(2/t)^{d/2-1} I_{d/2-1}(t) = 0F1(; d/2; t^2/4): the moment "
    "series and direct quadrature agree with the closed form to 25 digits on a (d, t) grid; "
    "simulator.sphere.vmf.log_normaliser agrees to 1e-12",
    "high-precision",
)
def projection_mgf(formula: Callable[[int, mpmath.mpf], mpmath.mpf] = paper_mgf) -> Outcome:
    from simulator.sphere.vmf import log_normaliser

    max_series = max_quad = max_sim = mpmath.mpf(0)
    with mpmath.workdps(30):
        for d in MGF_GRID_D:
            for tv in MGF_GRID_T:
                t = mpmath.mpf(tv)
                closed = formula(d, t)
                series = _mgf_series(d, t)
                max_series = max(max_series, abs(closed / series - 1))
                if d >= 3:  # the d = 2 cosine density has integrable endpoint singularities
                    quad = mp_cosine_average(d, lambda x, t=t: mpmath.exp(t * x))
                    max_quad = max(max_quad, abs(closed / quad - 1))
                hyp = mpmath.hyp0f1(mpmath.mpf(d) / 2, t * t / 4)
                max_series = max(max_series, abs(hyp / series - 1))
                sim = float(log_normaliser(d, float(t)))
                max_sim = max(max_sim, abs(sim - mpmath.log(series)) / max(1, abs(sim)))
    ok = max_series < 1e-25 and max_quad < 1e-20 and max_sim < 1e-12
    return ok, (
        f"max relerr vs series {fmt_num(max_series)}, vs quadrature {fmt_num(max_quad)}; "
        f"simulator.sphere.vmf.log_normaliser vs series: {fmt_num(max_sim)} "
        f"({len(MGF_GRID_D) * len(MGF_GRID_T)} grid points)"
    )


@check(
    "potentials.sub-gaussian-mgf",
    "Lemma 1 (Eqs. 43-45), [known] symmetric Beta is strictly sub-Gaussian",
    "log E_sigma exp(t w.u) <= t^2/(2d): termwise, (1/2)_n/(2n)! = 1/(4^n n!) (symbolic in n) and "
    "(d/2)_n >= (d/2)^n, so each series term is <= (t^2/(2d))^n/n!; checked on a grid of "
    "d in [2, 400], t in [0.01, 200]",
    "symbolic",
)
def sub_gaussian_mgf(variance_factor: float = 2.0) -> Outcome:
    n = sp.symbols("n", integer=True, nonnegative=True)
    ident = sp.rf(sp.Rational(1, 2), n) * 4**n * sp.factorial(n) / sp.factorial(2 * n) - 1
    if not is_zero(sp.gammasimp(ident.rewrite(sp.gamma))):
        return False, f"(1/2)_n 4^n n!/(2n)! - 1 = {sp.simplify(ident)}"
    worst, where = -math.inf, None
    with mpmath.workdps(20):
        for d in (2, 3, 4, 6, 10, 25, 60, 150, 400):
            for tv in np.geomspace(0.01, 200, 25):
                t = mpmath.mpf(float(tv))
                gap = float(mp_log_z(d, t) - t * t / (variance_factor * d))
                rel = gap / float(t * t / (variance_factor * d))
                if rel > worst:
                    worst, where = rel, (d, float(tv))
    ok = worst <= 1e-15
    return ok, (
        "termwise domination proved (residual 0); max [log MGF - t^2/(2d)]/(t^2/(2d)) = "
        f"{fmt_num(worst)} at (d, t) = ({where[0]}, {fmt_num(where[1])})"
        if ok
        else f"log MGF exceeds t^2/({variance_factor} d): relative excess {fmt_num(worst)} at "
        f"(d, t) = ({where[0]}, {fmt_num(where[1])})"
    )


VMF_GRID = [(d, kappa) for d in (3, 5, 10, 40, 200) for kappa in (0.05, 0.5, 2.0, 10.0, 60.0)]


@check(
    "potentials.lemma1-dv",
    "Lemma 1 (Eq. 44, Donsker-Varadhan) and its explicit constant",
    "KL(mu||sigma) >= t w.m - log E_sigma e^{t w.u} >= t|m| - t^2/(2d); maximising over t "
    "(symbolic) gives KL >= (d/2)|m|^2 >= C(d-1)|m|^2 with C = 1/2; checked on vMF laws, "
    "where KL = kappa A_d - log Z_d and |m| = A_d (mpmath), plus the simulator's vMF KL",
    "high-precision",
)
def lemma1_dv(constant: float = 0.5) -> Outcome:
    from simulator.sphere.vmf import kl_to_uniform, mean_resultant_length

    t, a, d_s = sp.symbols("t a d", positive=True)
    objective = t * a - t**2 / (2 * d_s)
    t_star = sp.solve(sp.diff(objective, t), t)
    if len(t_star) != 1 or sp.simplify(objective.subs(t, t_star[0]) - d_s * a**2 / 2) != 0:
        return False, f"max_t (t a - t^2/(2d)) is not d a^2/2 (stationary points {t_star})"
    worst_dv, worst_const, worst_sim = -math.inf, -math.inf, 0.0
    with mpmath.workdps(25):
        for d, kv in VMF_GRID:
            kappa = mpmath.mpf(kv)
            big_a = mp_mean_resultant(d, kappa)
            kl = kappa * big_a - mp_log_z(d, kappa)
            for tt in (kappa / 2, kappa, 2 * kappa, d * big_a):
                # E_mu[t w.u] - log E_sigma e^{t w.u} (Eq. 44 with phi = t w.u).
                dv = tt * big_a - mp_log_z(d, tt)
                worst_dv = max(worst_dv, float((dv - kl) / kl))
            worst_const = max(worst_const, float((constant * d * big_a**2 - kl) / kl))
            sim_kl = float(kl_to_uniform(d, float(kappa)))
            sim_a = float(mean_resultant_length(d, float(kappa)))
            worst_sim = max(worst_sim, abs(sim_kl / float(kl) - 1), abs(sim_a / float(big_a) - 1))
    ok = worst_dv <= 1e-20 and worst_const <= 1e-20 and worst_sim <= 1e-10
    return ok, (
        f"max_t solved symbolically; on {len(VMF_GRID)} vMF laws max (DV bound - KL)/KL = "
        f"{fmt_num(worst_dv)}, max ({constant} d A^2 - KL)/KL = {fmt_num(worst_const)}; "
        f"simulator.sphere.vmf KL and A_d max relerr {fmt_num(worst_sim)}"
    )


@check(
    "potentials.vmf-mean-resultant",
    "classical: A_d(kappa) = I_{d/2}/I_{d/2-1}",
    "A_d(kappa) = E_{vMF}[w.u] (quadrature) = d/dkappa log Z_d(kappa) (numerical derivative) "
    "to 20 digits; simulator.sphere.vmf.mean_resultant_length to 1e-12; the Wood sampler's mean "
    "cosine covers A_d within its 99.99% CI",
    "high-precision",
)
def vmf_mean_resultant(
    formula: Callable[[int, mpmath.mpf], mpmath.mpf] = mp_mean_resultant,
    n_mc: int = 100_000,
    seed: int = 7,
) -> Outcome:
    from simulator.sphere.vmf import mean_resultant_length, vmf_sample

    worst_quad = worst_diff = worst_sim = mpmath.mpf(0)
    with mpmath.workdps(30):
        for d in (3, 5, 10, 40):
            for kv in (0.5, 2.0, 10.0):
                kappa = mpmath.mpf(kv)
                claimed = formula(d, kappa)
                quad = mp_cosine_average(d, lambda x: x, kappa)
                deriv = mpmath.diff(lambda k, d=d: mp_log_z(d, k), kappa)
                worst_quad = max(worst_quad, abs(claimed / quad - 1))
                worst_diff = max(worst_diff, abs(claimed / deriv - 1))
                sim = mean_resultant_length(d, kv)
                worst_sim = max(worst_sim, abs(sim / float(quad) - 1))
    gen = np.random.default_rng(seed)
    d, kv = 10, 5.0
    w = np.zeros(d)
    w[0] = 1.0
    cos = vmf_sample(n_mc, w, kv, rng=gen)[:, 0]
    se = cos.std(ddof=1) / math.sqrt(n_mc)
    with mpmath.workdps(20):
        target = float(formula(d, mpmath.mpf(kv)))
    z = (cos.mean() - target) / se
    ok = worst_quad < 1e-20 and worst_diff < 1e-15 and worst_sim < 1e-12 and abs(z) < 3.9
    return ok, (
        f"max relerr vs quadrature {fmt_num(worst_quad)}, vs d/dkappa log Z {fmt_num(worst_diff)}, "
        f"simulator {fmt_num(worst_sim)}; Wood sampler (d=10, kappa=5, n={n_mc}): mean cosine "
        f"{cos.mean():.5f} +- {se:.1e} vs {target:.5f} (z = {z:.2f}, |z| < 3.9)"
    )


@check(
    "potentials.phi-at-uniform",
    "Eq. 4 at mu = sigma: Phi(sigma) = log Z_d(alpha)",
    "E_{v~sigma} exp(alpha u.v) = Gamma(d/2)(2/alpha)^{d/2-1} I_{d/2-1}(alpha) (quadrature of the "
    "inner-product density, 20 digits); "
    "simulator.contrastive.infonce.uniformity_potential_at_uniform to 1e-12",
    "high-precision",
)
def phi_at_uniform(formula: Callable[[int, mpmath.mpf], mpmath.mpf] = mp_log_z) -> Outcome:
    from simulator.contrastive.infonce import uniformity_potential_at_uniform

    worst = worst_sim = mpmath.mpf(0)
    with mpmath.workdps(30):
        for d in (3, 4, 8, 32, 128):
            for av in (1.0, 5.0, 10.0):
                alpha = mpmath.mpf(av)
                quad = mpmath.log(
                    mp_cosine_average(d, lambda t, alpha=alpha: mpmath.exp(alpha * t))
                )
                worst = max(worst, abs(formula(d, alpha) - quad))
                sim = uniformity_potential_at_uniform(d, av)
                worst_sim = max(worst_sim, abs(sim - quad) / max(1, abs(quad)))
    ok = worst < 1e-20 and worst_sim < 1e-12
    return ok, f"max abs error vs quadrature {fmt_num(worst)}; simulator {fmt_num(worst_sim)}"


@check(
    "potentials.wang-isola-gaussian",
    "[known] Wang & Isola 2020 Gaussian-potential uniformity loss at sigma",
    "log E_{u,v~sigma} exp(-t|u-v|^2) = -2t + log 0F1(; d/2; t^2) (quadrature, 20 digits)",
    "high-precision",
)
def wang_isola_gaussian(
    formula: Callable[[int, mpmath.mpf], mpmath.mpf] = lambda d, t: (
        -2 * t + mpmath.log(mpmath.hyp0f1(mpmath.mpf(d) / 2, t * t))
    ),
) -> Outcome:
    worst = mpmath.mpf(0)
    with mpmath.workdps(30):
        for d in (3, 5, 16, 64):
            for tv in (0.5, 2.0, 5.0):
                t = mpmath.mpf(tv)
                # |u - v|^2 = 2 - 2 u.v, and u.v has the cosine law of U_1.
                quad = mpmath.log(mp_cosine_average(d, lambda c, t=t: mpmath.exp(-t * (2 - 2 * c))))
                worst = max(worst, abs(formula(d, t) - quad))
    return worst < 1e-20, f"max abs error over 12 (d, t) points: {fmt_num(worst)}"


@check(
    "potentials.phi-minimised-by-sigma",
    "Lemma 2 (Eq. 47), [known] Wang & Isola 2020 App. A",
    "Phi(mu) >= Phi(sigma) = log Z_d(alpha), checked on vMF laws mu (1-D quadrature of the exact "
    "Phi(vMF)), with Phi(vMF) -> Phi(sigma) as kappa -> 0",
    "high-precision",
)
def phi_minimised_by_sigma(shift: float = 0.0) -> Outcome:
    worst, limit_err = math.inf, 0.0
    with mpmath.workdps(20):
        for d in (3, 8, 32):
            for av in (1.0, 5.0):
                alpha = mpmath.mpf(av)
                phi_sigma = mp_log_z(d, alpha) + shift
                for kv in (0.3, 1.0, 4.0, 15.0):
                    gap = float(mp_phi_vmf(d, mpmath.mpf(kv), alpha) - phi_sigma)
                    worst = min(worst, gap)
                limit_err = max(
                    limit_err, abs(float(mp_phi_vmf(d, mpmath.mpf("1e-8"), alpha) - phi_sigma))
                )
    ok = worst > 0 and limit_err < 1e-10
    return ok, (
        f"min over 24 vMF laws of Phi(vMF) - Phi(sigma) = {fmt_num(worst)} (> 0 needed); "
        f"|Phi(vMF_1e-8) - Phi(sigma)| = {fmt_num(limit_err)}"
    )


def infonce_limit_prediction(d: int, kappa: float, alpha: float) -> tuple[float, float]:
    """The limit ``-alpha A_d(kappa) + Phi(sigma)`` and the O(1/N) bias coefficient ``b1``.

    With ``S_i = (1/N) sum_j exp(alpha u_i.v_j)``: ``E S_i = Z + (M - Z)/N`` where
    ``M = E_pos exp(alpha u.v) = Z_d(kappa + alpha)/Z_d(kappa)``, and ``Var S_i = V/N + O(N^-2)``
    with ``V = Z_d(2 alpha) - Z_d(alpha)^2``. A second-order expansion of ``log`` gives
    ``E[L_N] - log N = L + b1/N + O(N^-2)``, ``b1 = (M - Z)/Z - V/(2 Z^2)``.
    """
    with mpmath.workdps(30):
        a, k = mpmath.mpf(alpha), mpmath.mpf(kappa)
        z = mpmath.exp(mp_log_z(d, a))
        m = mpmath.exp(mp_log_z(d, k + a) - mp_log_z(d, k))
        v = mpmath.exp(mp_log_z(d, 2 * a)) - z * z
        limit = -a * mp_mean_resultant(d, k) + mpmath.log(z)
        b1 = (m - z) / z - v / (2 * z * z)
        return float(limit), float(b1)


@check(
    "potentials.infonce-limit",
    "Eq. 2 and Eq. 4 (Wang & Isola 2020 Thm 1): L_N - log N -> -alpha A_d(kappa) + Phi(sigma)",
    "for vMF positive pairs with uniform marginal (d = 8, kappa = 4, tau = 0.5), the mean of the "
    "empirical InfoNCE minus log N, over independent batches, matches the limit plus the "
    "first-order bias b1/N (derived in infonce_limit_prediction) within 4 SE at N = 512 and 2048",
    "monte-carlo cross-check",
    slow=True,
)
def infonce_limit(
    limit: float | None = None, seed: int = 2026, batches: int = 32, z_max: float = 4.0
) -> Outcome:
    from simulator.contrastive.infonce import empirical_infonce
    from simulator.sphere.vmf import vmf_pairs

    d, kappa, tau = 8, 4.0, 0.5
    alpha = 1 / tau
    predicted, b1 = infonce_limit_prediction(d, kappa, alpha)
    target = predicted if limit is None else limit
    root = np.random.SeedSequence(seed)
    parts, ok = [], True
    for n, ss in zip((512, 2048), root.spawn(2), strict=True):
        vals = np.array(
            [
                empirical_infonce(*vmf_pairs(n, d, kappa, rng=np.random.default_rng(s)), tau)
                - math.log(n)
                for s in ss.spawn(batches)
            ]
        )
        mean, se = vals.mean(), vals.std(ddof=1) / math.sqrt(batches)
        z = (mean - b1 / n - target) / se
        ok &= abs(z) <= z_max
        parts.append(f"N={n}: mean {mean:.5f} +- {se:.1e}, bias b1/N = {b1 / n:.1e}, z = {z:.2f}")
    return ok, f"limit {target:.5f}; " + "; ".join(parts) + f" (|z| <= {z_max}, {batches} batches)"
