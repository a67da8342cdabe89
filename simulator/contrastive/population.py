"""Population InfoNCE (Eq. 4) for von Mises-Fisher positive pairs, and Phi of vMF tilts.

Setting: ``u ~ sigma`` (uniform on S^{d-1}) and ``v | u ~ vMF(u, kappa)``, so both marginals are
uniform (theory.md section 4). With ``alpha = 1/tau`` the Wang-Isola limit (Wang & Isola 2020,
Thm 1; Eq. 4) is

    L_N - log N  ->  L = -alpha E[u.v] + Phi(sigma) = -alpha A_d(kappa) + log Z_d(alpha),

with ``A_d`` the mean resultant length and ``Z_d`` the projection moment generating function of
:mod:`simulator.sphere.vmf` (``Phi(sigma) = log Z_d(alpha)``,
:func:`simulator.contrastive.infonce.uniformity_potential_at_uniform`).

Finite batches. Because the row terms of Eq. 2 share no randomness in expectation,
``E[L_N - log N] = -alpha A_d(kappa) + E log S_N`` with
``S_N = (1/N)(exp(alpha T+) + sum_{j<N} exp(alpha T_j))``, ``T+`` the cosine of a positive pair and
``T_j`` iid cosines of independent uniform points. A second-order expansion of ``log S_N`` about
``Z_d(alpha)`` (derived here, not in the paper) gives ``E[L_N - log N] = L + c1/N + O(N^-2)`` with

    c1 = Z_d(kappa+alpha) / (Z_d(kappa) Z_d(alpha)) - 1 - (Z_d(2 alpha)/Z_d(alpha)^2 - 1) / 2,

using ``E exp(alpha T+) = Z_d(kappa+alpha)/Z_d(kappa)`` and ``E exp(2 alpha T) = Z_d(2 alpha)``. The
random part of ``L_N`` is dominated by the alignment mean ``-(alpha/N) sum_i u_i.v_i``: the
uniformity part is a degenerate V-statistic (its Hoeffding projection vanishes because
``E[exp(alpha u.v) | u] = Z_d(alpha)``), so ``sqrt(N) sd(L_N) -> alpha sd(T+)``.

Phi of a tilt. For ``mu = vMF(w, s)``, ``E_{v~mu} exp(alpha u.v) = Z_d(|s w + alpha u|)/Z_d(s)``,
so ``Phi(mu) = E_{t}[log Z_d(r(t))] - log Z_d(s)`` with ``t = w.u``,
``r(t)^2 = s^2 + alpha^2 + 2 s alpha t``, a one-dimensional integral over the vMF cosine law
(density proportional to ``exp(s t) (1 - t^2)^{(d-3)/2}``).

Accurate range. ``2 <= d <= 4096``, ``0 <= kappa <= 1e4``, ``tau >= 0.01`` (``alpha <= 100``), and
``0 <= s <= 1e4`` for tilts: the Bessel quantities are checked there against mpmath at 30 digits
(observed relative error below 1e-13; :data:`BESSEL_REL_ERROR` is the stated bound). Arguments
outside it raise ``ValueError`` naming the parameter.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from simulator.contrastive.infonce import uniformity_potential_at_uniform
from simulator.sphere.vmf import log_normaliser, mean_resultant_length
from simulator.validation import check_int, check_real

D_MAX = 4096
KAPPA_MAX = 1e4
TAU_MIN = 0.01
ALPHA_MAX = 1.0 / TAU_MIN
#: Stated relative error bound of ``log Z_d`` and ``A_d`` on the accurate range (mpmath-checked
#: in tests/test_population.py with a factor >= 10 of margin).
BESSEL_REL_ERROR = 1e-12
#: The cosine window keeps every angle where the density is above exp(-50) times its peak.
_WINDOW_LOG_DROP = 50.0
#: Gauss-Legendre nodes of the coarse rule; the fine rule doubles them and their difference is the
#: quadrature error allowance (the integrand is analytic, so the fine rule's error is far smaller).
_NODES = 64
#: ``phi_vmf`` refuses a result whose error bound exceeds this times ``1 + s + alpha`` (the size of
#: the log-normalisers whose difference it is).
PHI_VMF_TOL = 1e-9
_EPS = float(np.finfo(float).eps)


def _check_d(d: object) -> int:
    return check_int("d", d, low=2, high=D_MAX)


def _check_kappa(kappa: object) -> float:
    return check_real("kappa", kappa, low=0.0, high=KAPPA_MAX)


def _check_tau(tau: object) -> float:
    return check_real("tau", tau, low=TAU_MIN)


@dataclass(frozen=True)
class PopulationLimit:
    """The Wang-Isola limit of ``L_N - log N`` for vMF pairs (Eq. 4).

    Attributes
    ----------
    d, kappa, tau, alpha : parameters (``alpha = 1/tau``).
    alignment : float
        ``E[u.v] = A_d(kappa)``.
    phi_sigma : float
        ``Phi(sigma) = log Z_d(alpha)``.
    limit : float
        ``-alpha A_d(kappa) + Phi(sigma)``.
    error : float
        Bound on the absolute error of ``limit`` from :data:`BESSEL_REL_ERROR` on each term.
    """

    d: int
    kappa: float
    tau: float
    alpha: float
    alignment: float
    phi_sigma: float
    limit: float
    error: float


def population_limit(d: int, kappa: float, tau: float) -> PopulationLimit:
    """Population InfoNCE ``L = -alpha A_d(kappa) + Phi(sigma)`` for vMF pairs (Eq. 4).

    The limit of ``L_N - log N`` as ``N -> inf`` (Wang & Isola 2020, Thm 1) for ``u ~ sigma``,
    ``v | u ~ vMF(u, kappa)`` on S^{d-1}.

    Parameters
    ----------
    d : int
        Dimension, ``2 <= d <= 4096``.
    kappa : float
        Concentration of the positive pair, ``0 <= kappa <= 1e4``.
    tau : float
        Temperature, ``tau >= 0.01``.

    Returns
    -------
    PopulationLimit
    """
    d, kappa, tau = _check_d(d), _check_kappa(kappa), _check_tau(tau)
    alpha = 1.0 / tau
    a = float(mean_resultant_length(d, kappa))
    phi = uniformity_potential_at_uniform(d, alpha)
    limit = -alpha * a + phi
    error = BESSEL_REL_ERROR * (alpha * a + phi) + 4 * _EPS * abs(limit)
    return PopulationLimit(d, kappa, tau, alpha, a, phi, limit, error)


def alignment_variance(d: int, kappa: float) -> float:
    """``Var(u.v) = 1 - A_d^2 - (d-1) A_d / kappa`` for vMF pairs (``dA_d/dkappa``).

    The variance of the cosine of ``vMF(w, kappa)`` (exponential-family identity: the variance of
    the sufficient statistic is the derivative of its mean); ``1/d`` at ``kappa = 0``. It sets the
    ``N^{-1/2}`` fluctuation of ``L_N``: ``sqrt(N) sd(L_N) -> alpha sqrt(Var(u.v))``.

    Parameters
    ----------
    d : int
        Dimension, ``2 <= d <= 4096``.
    kappa : float
        ``0 <= kappa <= 1e3``. The terms cancel to a value of order ``d/kappa^2`` for large
        ``kappa``, so the relative error grows like ``kappa^2`` times that of ``A_d``; on this
        range it is below 1e-6 (below 1e-8 observed against mpmath), and above it is refused.

    Returns
    -------
    float
    """
    d = _check_d(d)
    kappa = check_real("kappa", kappa, low=0.0, high=1e3)
    if kappa == 0.0:
        return 1.0 / d
    a = float(mean_resultant_length(d, kappa))
    return (1.0 - a) * (1.0 + a) - (d - 1) * a / kappa


def finite_batch_bias_coefficient(d: int, kappa: float, tau: float) -> float:
    """First-order coefficient ``c1`` of ``E[L_N - log N] = L + c1/N + O(N^-2)`` (vMF pairs).

    ``c1 = Z_d(kappa+alpha)/(Z_d(kappa) Z_d(alpha)) - 1 - (Z_d(2 alpha)/Z_d(alpha)^2 - 1)/2``
    (second-order delta expansion of the log-denominator of Eq. 2; derived in the module
    docstring, not a claim of the paper). The first term is the positive pair inside the
    denominator, the second the Jensen gap of the log of an average of ``N`` negatives.

    Parameters
    ----------
    d : int
        Dimension, ``2 <= d <= 4096``.
    kappa : float
        ``0 <= kappa <= 1e4``.
    tau : float
        ``tau >= 0.01``.

    Returns
    -------
    float
    """
    d, kappa, tau = _check_d(d), _check_kappa(kappa), _check_tau(tau)
    alpha = 1.0 / tau
    lz_a = float(log_normaliser(d, alpha))
    positive = math.expm1(
        float(log_normaliser(d, kappa + alpha)) - float(log_normaliser(d, kappa)) - lz_a
    )
    jensen = 0.5 * math.expm1(float(log_normaliser(d, 2.0 * alpha)) - 2.0 * lz_a)
    return positive - jensen


@dataclass(frozen=True)
class PhiExcess:
    """``Phi(vMF(w, s)) - Phi(sigma)`` with a bound on its absolute error.

    Attributes
    ----------
    d, s, alpha : parameters.
    value : float
        The excess (``>= 0`` if sigma minimises Phi among vMF tilts).
    phi : float
        ``Phi(vMF(w, s))`` itself.
    error : float
        Bound on the absolute error of ``value`` (and of ``phi``): quadrature (difference of the
        coarse and fine Gauss-Legendre rules), window truncation, and :data:`BESSEL_REL_ERROR`
        on every ``log Z_d`` evaluated.
    """

    d: int
    s: float
    alpha: float
    value: float
    phi: float
    error: float


def _log_density(theta: np.ndarray, d: int, s: float, mode: float) -> np.ndarray:
    """``h(theta) - h(mode)`` with ``h = s cos(theta) + (d-2) log sin(theta)``."""
    with np.errstate(divide="ignore"):
        out = s * (np.cos(theta) - math.cos(mode))
        if d > 2:
            out = out + (d - 2) * (np.log(np.sin(theta)) - math.log(math.sin(mode)))
    return out


def _cosine_window(d: int, s: float) -> tuple[float, float, float]:
    """``(mode, low, high)`` in the angle ``theta = arccos(w.u)`` for ``u ~ vMF(w, s)``.

    The angle density ``exp(s cos theta) sin^{d-2} theta`` is unimodal on ``[0, pi]``; the window
    is where it exceeds ``exp(-50)`` times its peak (the whole interval when it never drops so far).
    """
    if d == 2:
        if s == 0.0:
            return math.pi / 2, 0.0, math.pi
        high = math.pi if 2.0 * s <= _WINDOW_LOG_DROP else math.acos(1.0 - _WINDOW_LOG_DROP / s)
        return 0.0, 0.0, high
    # Mode: (d-2) cos = s sin^2, i.e. s c^2 + (d-2) c - s = 0, in the form without cancellation.
    c = 2.0 * s / ((d - 2) + math.sqrt((d - 2) ** 2 + 4.0 * s * s))
    mode = math.acos(c)

    def drop_point(lo: float, hi: float, rising: bool) -> float:
        # Bisection for h - h(mode) = -drop on a monotone side; 80 halvings reach double precision.
        for _ in range(80):
            mid = 0.5 * (lo + hi)
            below = _log_density(np.array(mid), d, s, mode) < -_WINDOW_LOG_DROP
            if below == rising:
                lo = mid
            else:
                hi = mid
        return 0.5 * (lo + hi)

    end = _log_density(np.array(math.pi), d, s, mode)
    high = math.pi if end >= -_WINDOW_LOG_DROP else drop_point(mode, math.pi, False)
    return mode, drop_point(0.0, mode, True), high


def _gauss_mean(
    g: Callable[[np.ndarray], np.ndarray],
    d: int,
    s: float,
    window: tuple[float, float, float],
    n: int,
) -> tuple[float, float]:
    """``(E[g(theta)], window mass)`` under the angle density (relative to its peak) on the
    window, by the ``n``-node Gauss-Legendre rule."""
    mode, lo, hi = window
    x, w = np.polynomial.legendre.leggauss(n)
    theta = 0.5 * (hi - lo) * x + 0.5 * (hi + lo)
    weights = w * np.exp(_log_density(theta, d, s, mode))
    mean = float(np.sum(weights * g(theta)) / np.sum(weights))
    return mean, float(0.5 * (hi - lo) * np.sum(weights))


def phi_vmf_excess(d: int, s: float, alpha: float) -> PhiExcess:
    """``Phi(mu) - Phi(sigma)`` for the vMF tilt ``mu = vMF(w, s)`` (Eq. 4; Lemma 2).

    ``Phi(mu) = E_{u~mu} log E_{v~mu} exp(alpha u.v) = E_t[log Z_d(r(t))] - log Z_d(s)`` with
    ``r(t)^2 = s^2 + alpha^2 + 2 s alpha t`` and ``t = w.u`` (see the module docstring), computed
    as ``E_t[log Z_d(r(t)) - log Z_d(alpha)] - log Z_d(s)`` so that the excess keeps its
    precision when ``s`` is small. The expectation is a Gauss-Legendre rule in the angle
    ``arccos t`` on the window where the density exceeds ``exp(-50)`` times its peak.

    Parameters
    ----------
    d : int
        Dimension, ``2 <= d <= 4096``.
    s : float
        Concentration of the tilt, ``0 <= s <= 1e4`` (``s = 0`` is sigma).
    alpha : float
        Inverse temperature, ``0 <= alpha <= 100``.

    Returns
    -------
    PhiExcess
    """
    d = _check_d(d)
    s = check_real("s", s, low=0.0, high=KAPPA_MAX)
    alpha = check_real("alpha", alpha, low=0.0, high=ALPHA_MAX)
    lz_alpha = float(log_normaliser(d, alpha))
    if s == 0.0 or alpha == 0.0:
        # sigma itself, or alpha = 0 where Phi = 0 for every law.
        return PhiExcess(d, s, alpha, 0.0, lz_alpha, BESSEL_REL_ERROR * lz_alpha)
    lz_s = float(log_normaliser(d, s))

    def excess_integrand(theta: np.ndarray) -> np.ndarray:
        # r^2 = (s - alpha)^2 + 4 s alpha cos^2(theta/2): no cancellation when s ~ alpha and
        # theta ~ pi.
        r = np.sqrt((s - alpha) ** 2 + 4.0 * s * alpha * np.cos(0.5 * theta) ** 2)
        return np.asarray(log_normaliser(d, r)) - lz_alpha

    window = _cosine_window(d, s)
    coarse, _ = _gauss_mean(excess_integrand, d, s, window, _NODES)
    fine, mass = _gauss_mean(excess_integrand, d, s, window, 2 * _NODES)
    # log Z_d(r(t)) is increasing in t, so the integrand is largest in size at t = +-1.
    g_max = float(np.max(np.abs(excess_integrand(np.array([0.0, math.pi])))))
    lz_top = float(log_normaliser(d, s + alpha))
    # Outside the window the density is below exp(-50) of its peak (= 1 here) on at most a length
    # pi: the omitted mass fraction is at most pi exp(-50)/mass, and it can move the mean by
    # twice that times g_max.
    truncation = 2.0 * g_max * math.pi * math.exp(-_WINDOW_LOG_DROP) / mass
    rounding = BESSEL_REL_ERROR * (lz_top + lz_alpha + lz_s) + 8 * _NODES * _EPS * g_max
    error = abs(fine - coarse) + truncation + rounding
    value = fine - lz_s
    return PhiExcess(d, s, alpha, value, lz_alpha + value, error)


def phi_vmf(d: int, s: float, alpha: float) -> float:
    """Uniformity potential ``Phi(mu)`` of the vMF tilt ``mu = vMF(w, s)`` on S^{d-1} (Eq. 4).

    ``Phi(mu) = E_{u~mu} log E_{v~mu} exp(alpha u.v)`` by a one-dimensional integral over the
    cosine ``w.u`` (see :func:`phi_vmf_excess`); ``phi_vmf(d, 0, alpha) = Phi(sigma)
    = log Z_d(alpha)``. Lemma 2 uses that sigma minimises Phi (Wang & Isola 2020, App. A).

    Parameters
    ----------
    d : int
        Dimension, ``2 <= d <= 4096``.
    s : float
        Concentration of the tilt, ``0 <= s <= 1e4``.
    alpha : float
        Inverse temperature ``1/tau``, ``0 <= alpha <= 100``.

    Returns
    -------
    float
        Accurate to ``1e-9 (1 + s + alpha)`` in absolute terms (``0 <= Phi <= alpha``); a
        ``ValueError`` is raised when the computed error bound exceeds it.
    """
    r = phi_vmf_excess(d, s, alpha)
    if r.error > PHI_VMF_TOL * (1.0 + r.s + r.alpha):
        raise ValueError(
            f"phi_vmf: quadrature error bound {r.error:.2g} above tolerance at d={r.d}, s={r.s}, "
            f"alpha={r.alpha}"
        )
    return r.phi
