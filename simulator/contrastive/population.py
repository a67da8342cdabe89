"""Population InfoNCE (Eq. 4) for von Mises-Fisher positive pairs.

Phi of a vMF tilt itself is :func:`simulator.sphere.vmf.vmf_uniformity_potential`.

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

Accurate range. ``2 <= d <= 4096``, ``0 <= kappa <= 1e4``, ``tau >= 0.01`` (``alpha <= 100``): the
Bessel quantities are checked there against mpmath at 30 digits
(observed relative error below 1e-13; :data:`BESSEL_REL_ERROR` is the stated bound). Arguments
outside it raise ``ValueError`` naming the parameter.
"""

from __future__ import annotations

import math
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
