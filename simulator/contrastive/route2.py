"""Route 2 (Sec. 4.2, App. B) and Appendix D evaluated exactly on the von Mises-Fisher family.

On ``mu = vMF(w, kappa)`` on S^{d-1} every term of the reduced objective is a one-dimensional
quantity (:mod:`simulator.sphere.vmf`): ``||m(mu)|| = A_d(kappa)``, ``KL(mu||sigma)`` and
``Phi(mu)`` (Eq. 4). The alignment is taken at its Prop. 1 ceiling (Eq. 6),
``Align(mu) = eta2 + (1 - eta2) ||m||^2`` with ``Align(sigma) = eta2``, so that

* Theorem 1's reduced objective (Eq. 16) becomes
  ``J~(kappa) - J~(sigma) = [Phi(mu) - Phi(sigma)] - q A_d(kappa)^2 + beta KL(mu||sigma)``,
* Appendix D's objective (Eq. 52) is the case ``beta = 0``:
  ``J_q(kappa) - J_q(sigma) = [Phi(mu) - Phi(sigma)] - q A_d(kappa)^2``,

with ``q = alpha (1 - eta2)`` and ``alpha = 1/tau``.

Small-kappa expansion (derived here; checked against 30-digit quadrature in the tests). Write the
vMF density as ``1 + h`` with respect to sigma, with ``h = kappa w.u + O(kappa^2)`` and the
degree-2 part ``O(kappa^2)``. The kernel ``exp(alpha u.v)`` acts on degree-l spherical harmonics
with eigenvalue ``Z_d(alpha) a_l`` (Funk-Hecke), ``a_l = I_{l+d/2-1}(alpha) / I_{d/2-1}(alpha)``,
``a_1 = A_d(alpha)``. With ``g = K h / Z_d(alpha)``, ``int g dsigma = 0`` and

    Phi(mu) - Phi(sigma) = int (1 + h) log(1 + g) dsigma
                         = sum_l (a_l - a_l^2/2) ||h_l||^2 + O(|h|^3),

where the cubic term of the degree-1 part vanishes by symmetry (odd moments of ``w.u``) and the
degree-2 part enters at ``O(kappa^4)``. Since ``||h_1||^2 = kappa^2 E(w.u)^2 = kappa^2/d``,

    Phi(vMF_kappa) - Phi(sigma) = (kappa^2/d) a (1 - a/2) + O(kappa^4),   a = A_d(alpha),

and with ``A_d(kappa)^2 = kappa^2/d^2 + O(kappa^4)`` and ``KL = kappa^2/(2d) + O(kappa^4)``:

* sigma is a local minimiser of ``J_q`` along the vMF family iff
  ``eta2 > 1 - d a (1 - a/2) / alpha`` (the local critical value of Appendix D);
* ``kappa = 0`` is a local minimiser of ``J~`` iff
  ``beta > 2 alpha (1 - eta2)/d - 2 a (1 - a/2)`` (the local threshold in beta).

Lemma 1 with the explicit sub-Gaussian constant: ``log Z_d(t) <= t^2/(2d)`` gives
``KL >= (d/2) ||m||^2`` (Eqs. 41-46), i.e. ``C = d/(2(d-1)) >= 1/2``; Theorem 1's schedule is
``beta0 = alpha (1 - eta2) / (C (d-1))`` (Eq. 19) with ``C = 1/2``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import minimize_scalar

from simulator.sphere.vmf import (
    PHI_MAX_D,
    PHI_MAX_KAPPA,
    kl_to_uniform,
    log_normaliser,
    mean_resultant_length,
    vmf_uniformity_potential,
)
from simulator.validation import check_int, check_real

#: The universal constant of Lemma 1 that the sub-Gaussian bound gives (``inf_d d/(2(d-1))``).
LEMMA1_C = 0.5
#: Default concentration grid of the searches over the vMF family (log-spaced; kappa = 0 and
#: kappa -> infinity are added as closed-form limits).
DEFAULT_KAPPAS = tuple(float(k) for k in np.geomspace(1e-2, PHI_MAX_KAPPA, 61))
#: Absolute tolerance in log(kappa) of the refinement of an interior optimum.
_REFINE_XTOL = 1e-6
#: Relative error bound of the closed forms built from one ``A_d`` or ``log Z_d`` value
#: (double-precision error of those below 1e-13 relative, a few operations on top).
_CLOSED_FORM_REL_ERR = 1e-12


def _check_d(d: int) -> int:
    return check_int("d", d, low=2, high=PHI_MAX_D)


def _alpha(tau: float) -> float:
    tau = check_real("tau", tau, low=0.0, low_open=True)
    alpha = 1.0 / tau
    if alpha > PHI_MAX_KAPPA:
        raise ValueError(f"tau must lie in [{1 / PHI_MAX_KAPPA:g}, inf), got {tau!r}")
    return alpha


def _check_eta2(eta2: float) -> float:
    return check_real("eta2", eta2, low=0.0, high=1.0)


def _check_beta(beta: float) -> float:
    return check_real("beta", beta, low=0.0)


def _check_kappas(kappas: ArrayLike) -> np.ndarray:
    k = np.asarray(kappas, dtype=float).ravel()
    if k.size < 2 or not np.all(np.isfinite(k)):
        raise ValueError("kappas must hold at least 2 finite values")
    if np.any(k <= 0) or np.any(k > PHI_MAX_KAPPA) or np.any(np.diff(k) <= 0):
        raise ValueError(f"kappas must be increasing and lie in (0, {PHI_MAX_KAPPA:g}]")
    return k


def lemma1_explicit_constant(d: int) -> float:
    """``C_d = d / (2(d-1))`` with ``KL(mu||sigma) >= C_d (d-1) ||m(mu)||^2`` for every law ``mu``.

    From Donsker-Varadhan with ``phi(u) = t w.u`` (Eq. 44) and the sub-Gaussian projection MGF
    ``log E_sigma exp(t w.u) <= t^2/(2d)`` (Lemma 1, Eqs. 41-46). ``C_d >= 1/2`` for all ``d``.

    Parameters
    ----------
    d : int
        Dimension, ``d >= 2``.
    """
    d = check_int("d", d, low=2)
    return d / (2.0 * (d - 1.0))


def lemma1_ratio(d: int, kappa: ArrayLike) -> float | np.ndarray:
    """``KL(vMF_kappa || sigma) / ((d-1) ||m||^2)``: the constant Lemma 1 needs at this law.

    Its infimum over the vMF family is its ``kappa -> 0`` limit ``d/(2(d-1))`` (the
    Legendre-transform identity ``KL = sup_t [t A_d - log Z_d(t)]`` and ``log Z_d(t) <= t^2/(2d)``).

    Parameters
    ----------
    d : int
        Dimension, ``2 <= d <= 10^4``.
    kappa : float or array_like
        Concentrations, ``0 < kappa <= 10^4`` (the ratio is 0/0 at ``kappa = 0``).

    Returns
    -------
    float or ndarray
    """
    d = _check_d(d)
    k = np.asarray(kappa, dtype=float)
    if not np.all(np.isfinite(k)) or np.any(k <= 0) or np.any(k > PHI_MAX_KAPPA):
        raise ValueError(f"kappa must lie in (0, {PHI_MAX_KAPPA:g}], got {kappa!r}")
    a = mean_resultant_length(d, k)
    out = kl_to_uniform(d, k) / ((d - 1.0) * a * a)
    return float(out) if k.ndim == 0 else out


def beta0(d: int, tau: float, eta2: float, c: float = LEMMA1_C) -> float:
    """Theorem 1's schedule ``beta0 = alpha (1 - eta2) / (C (d-1))`` (Eq. 19), ``alpha = 1/tau``.

    Parameters
    ----------
    d : int
        Dimension, ``2 <= d <= 10^4``.
    tau : float
        Temperature, ``tau > 0``.
    eta2 : float
        Augmentation mildness (Eq. 5), ``0 <= eta2 <= 1``.
    c : float
        Lemma 1 constant, ``c > 0`` (default the explicit ``1/2``).
    """
    d = _check_d(d)
    alpha = _alpha(tau)
    eta2 = _check_eta2(eta2)
    c = check_real("c", c, low=0.0, low_open=True)
    return alpha * (1.0 - eta2) / (c * (d - 1.0))


def potential_curvature(d: int, tau: float) -> float:
    """``lim_{kappa -> 0} [Phi(vMF_kappa) - Phi(sigma)] / kappa^2 = a (1 - a/2) / d``,
    ``a = A_d(alpha)`` (the small-kappa expansion in the module docstring).

    Parameters
    ----------
    d : int
        Dimension, ``2 <= d <= 10^4``.
    tau : float
        Temperature, ``tau >= 10^-4``.
    """
    d = _check_d(d)
    a = float(mean_resultant_length(d, _alpha(tau)))
    return a * (1.0 - 0.5 * a) / d


def local_critical_eta2(d: int, tau: float) -> float:
    """Appendix D: the ``eta2`` above which sigma is a strict local minimiser of ``J_q`` (Eq. 52)
    along the vMF family, ``max(0, 1 - d a (1 - a/2) / alpha)`` with ``a = A_d(alpha)``.

    Below it the second-order coefficient of ``J_q(vMF_kappa) - J_q(sigma)`` in ``kappa`` is
    negative; 0 means sigma is locally stable for every ``eta2``.

    Parameters
    ----------
    d : int
        Dimension, ``2 <= d <= 10^4``.
    tau : float
        Temperature, ``tau >= 10^-4``.
    """
    alpha = _alpha(tau)
    return max(0.0, 1.0 - d * d * potential_curvature(d, tau) / alpha)


def local_beta_threshold(d: int, tau: float, eta2: float) -> float:
    """Theorem 1 on the vMF family: the ``beta`` above which ``kappa = 0`` is a strict local
    minimiser of ``J~`` (Eq. 16), ``max(0, 2 alpha (1 - eta2)/d - 2 a (1 - a/2))``.

    Parameters
    ----------
    d : int
        Dimension, ``2 <= d <= 10^4``.
    tau : float
        Temperature, ``tau >= 10^-4``.
    eta2 : float
        ``0 <= eta2 <= 1``.
    """
    alpha = _alpha(tau)
    eta2 = _check_eta2(eta2)
    return max(0.0, 2.0 * alpha * (1.0 - eta2) / d - 2.0 * d * potential_curvature(d, tau))


@dataclass(frozen=True)
class VmfProfile:
    """The vMF family at one ``(d, tau)`` on a grid of concentrations.

    Attributes
    ----------
    d : int
    tau : float
    kappa : ndarray
        Increasing concentrations, all positive.
    phi_gap : ndarray
        ``Phi(vMF_kappa) - Phi(sigma)`` (Eq. 4).
    phi_error : ndarray
        Bound on the absolute error of ``phi_gap``.
    mean_norm : ndarray
        ``||m|| = A_d(kappa)``.
    kl : ndarray
        ``KL(vMF_kappa || sigma)``.
    """

    d: int
    tau: float
    kappa: np.ndarray
    phi_gap: np.ndarray
    phi_error: np.ndarray
    mean_norm: np.ndarray
    kl: np.ndarray

    @property
    def alpha(self) -> float:
        return 1.0 / self.tau


def vmf_profile(d: int, tau: float, kappas: ArrayLike = DEFAULT_KAPPAS) -> VmfProfile:
    """Evaluate ``Phi - Phi(sigma)``, ``||m||`` and ``KL`` on a concentration grid.

    Parameters
    ----------
    d : int
        Dimension, ``2 <= d <= 10^4``.
    tau : float
        Temperature, ``tau >= 10^-4``.
    kappas : array_like
        Increasing concentrations in ``(0, 10^4]``, at least 2.

    Returns
    -------
    VmfProfile
    """
    d = _check_d(d)
    alpha = _alpha(tau)
    k = _check_kappas(kappas)
    pots = [vmf_uniformity_potential(d, float(kv), alpha) for kv in k]
    return VmfProfile(
        d,
        float(tau),
        k,
        np.array([p.gap for p in pots]),
        np.array([p.error for p in pots]),
        np.asarray(mean_resultant_length(d, k)),
        np.asarray(kl_to_uniform(d, k)),
    )


def reduced_objective_gap(profile: VmfProfile, eta2: float, beta: float) -> np.ndarray:
    """``J~(vMF_kappa) - J~(sigma)`` of Eq. 16 with ``Align`` at its Prop. 1 ceiling, on the grid.

    ``= [Phi(mu) - Phi(sigma)] - alpha (1 - eta2) ||m||^2 + beta KL(mu||sigma)``; ``beta = 0``
    gives Appendix D's ``J_q(mu) - J_q(sigma)`` (Eq. 52). Its error is ``profile.phi_error``.

    Parameters
    ----------
    profile : VmfProfile
    eta2 : float
        ``0 <= eta2 <= 1``.
    beta : float
        ``beta >= 0``.
    """
    eta2 = _check_eta2(eta2)
    beta = _check_beta(beta)
    q = profile.alpha * (1.0 - eta2)
    return profile.phi_gap - q * profile.mean_norm**2 + beta * profile.kl


@dataclass(frozen=True)
class SearchResult:
    """An extremum over the vMF family.

    Attributes
    ----------
    value : float
        The extremal value (a critical ``eta2``, a threshold ``beta``, or a minimal objective gap).
    error : float
        Bound on the numerical error of ``value`` from the quadrature of ``Phi`` (the search is
        over the grid plus a local refinement and the closed-form limits ``kappa -> 0, inf``;
        it assumes no extremum narrower than the grid spacing).
    kappa : float
        Where it is attained: ``0.0`` for the ``kappa -> 0`` limit, ``math.inf`` for the
        point-mass limit ``kappa -> infinity``.
    local : float
        The ``kappa -> 0`` (second-order) counterpart, in closed form.
    at_edge : bool
        True when the extremum sits at the largest grid concentration: the true one may lie
        beyond the grid (between it and the ``kappa -> infinity`` limit).
    """

    value: float
    error: float
    kappa: float
    local: float
    at_edge: bool = False


def _closed_form_error(value: float) -> float:
    return _CLOSED_FORM_REL_ERR * max(1.0, abs(value))


def _refine(fun, profile: VmfProfile, i: int) -> tuple[float, float, float]:
    """Minimise ``fun(kappa) -> (value, error)`` on the log-grid bracket around interior grid
    index ``i``; return ``(kappa, value, error)`` at the refined point."""
    lo = math.log(profile.kappa[i - 1])
    hi = math.log(profile.kappa[i + 1])
    res = minimize_scalar(
        lambda s: fun(math.exp(s))[0],
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": _REFINE_XTOL},
    )
    kappa = math.exp(float(res.x))
    value, error = fun(kappa)
    return kappa, value, error


def global_critical_eta2(profile: VmfProfile) -> SearchResult:
    """Appendix D: the ``eta2`` above which sigma is the global minimiser of ``J_q`` (Eq. 52)
    within the vMF family.

    ``J_q(kappa) >= J_q(sigma)`` for all ``kappa`` iff ``1 - eta2 <= inf_kappa R(kappa)`` with
    ``R = [Phi(vMF_kappa) - Phi(sigma)] / (alpha A_d(kappa)^2)``; the critical value is
    ``max(0, 1 - inf R)``. ``R`` tends to ``d a (1 - a/2)/alpha`` as ``kappa -> 0`` (the local
    value) and to ``1 - log Z_d(alpha)/alpha`` as ``kappa -> infinity`` (the point mass, where
    ``Phi = alpha``).

    Parameters
    ----------
    profile : VmfProfile
        The family at ``(d, tau)`` on the search grid (:func:`vmf_profile`).

    Returns
    -------
    SearchResult
        ``value`` is the critical ``eta2``, ``local`` the local one.
    """
    d, tau, alpha = profile.d, profile.tau, profile.alpha
    scale = alpha * profile.mean_norm**2
    ratio = profile.phi_gap / scale
    r_err = profile.phi_error / scale
    r_zero = d * d * potential_curvature(d, tau) / alpha
    r_inf = 1.0 - float(log_normaliser(d, alpha)) / alpha
    i = int(np.argmin(ratio))
    best, at, err = float(ratio[i]), float(profile.kappa[i]), float(r_err[i])
    if 0 < i < profile.kappa.size - 1:

        def fun(kv: float) -> tuple[float, float]:
            pot = vmf_uniformity_potential(d, kv, alpha)
            scale_k = alpha * float(mean_resultant_length(d, kv)) ** 2
            return pot.gap / scale_k, pot.error / scale_k

        at, best, err = _refine(fun, profile, i)
    candidates = [
        (best, at, err),
        (r_zero, 0.0, _closed_form_error(r_zero)),
        (r_inf, math.inf, _closed_form_error(r_inf)),
    ]
    best, at, err = min(candidates, key=lambda c: c[0])
    edge = bool(at == profile.kappa[-1])
    return SearchResult(max(0.0, 1.0 - best), err, at, max(0.0, 1.0 - r_zero), edge)


def beta_threshold(profile: VmfProfile, eta2: float) -> SearchResult:
    """Theorem 1 on the vMF family: the smallest ``beta`` for which ``kappa = 0`` (sigma) minimises
    ``J~`` (Eq. 16, ``Align`` at its Prop. 1 ceiling) over the whole family.

    ``J~(kappa) >= J~(sigma)`` for all ``kappa`` iff ``beta >= sup_kappa S(kappa)``,
    ``S = [q A_d(kappa)^2 - (Phi(vMF_kappa) - Phi(sigma))] / KL``; ``S`` tends to the local
    threshold as ``kappa -> 0`` and to 0 as ``kappa -> infinity`` (``KL`` diverges). Since
    ``Phi - Phi(sigma) >= 0`` and ``KL >= (d/2) A_d^2`` (Lemma 1), the threshold is at most
    ``2 q / d = beta0 (d-1)/d``.

    Parameters
    ----------
    profile : VmfProfile
        The family at ``(d, tau)`` on the search grid (:func:`vmf_profile`).
    eta2 : float
        ``0 <= eta2 <= 1``.

    Returns
    -------
    SearchResult
        ``value`` is the threshold ``beta``, ``local`` the local one.
    """
    d, tau, alpha = profile.d, profile.tau, profile.alpha
    eta2 = _check_eta2(eta2)
    q = alpha * (1.0 - eta2)
    score = (q * profile.mean_norm**2 - profile.phi_gap) / profile.kl
    s_err = profile.phi_error / profile.kl
    local = local_beta_threshold(d, tau, eta2)
    i = int(np.argmax(score))
    best, at, err = float(score[i]), float(profile.kappa[i]), float(s_err[i])
    if 0 < i < profile.kappa.size - 1:

        def fun(kv: float) -> tuple[float, float]:
            pot = vmf_uniformity_potential(d, kv, alpha)
            m2 = float(mean_resultant_length(d, kv)) ** 2
            kl = float(kl_to_uniform(d, kv))
            return -(q * m2 - pot.gap) / kl, pot.error / kl

        at, neg, err = _refine(fun, profile, i)
        best = -neg
    candidates = [(best, at, err), (local, 0.0, _closed_form_error(local)), (0.0, math.inf, 0.0)]
    best, at, err = max(candidates, key=lambda c: c[0])
    edge = bool(at == profile.kappa[-1])
    return SearchResult(max(0.0, best), err, at, local, edge)


def minimise_reduced_objective(profile: VmfProfile, eta2: float, beta: float) -> SearchResult:
    """Minimiser over the vMF family of ``J~(kappa) - J~(sigma)`` (Eq. 16, Prop. 1 ceiling).

    ``kappa = 0`` (sigma) is returned when no grid point, refined interior point or limit is below
    ``-error``; for ``beta = 0`` the point-mass limit ``kappa -> infinity`` has gap
    ``alpha eta2 - log Z_d(alpha)``.

    Parameters
    ----------
    profile : VmfProfile
        The family at ``(d, tau)`` on the search grid (:func:`vmf_profile`).
    eta2 : float
        ``0 <= eta2 <= 1``.
    beta : float
        ``beta >= 0``.

    Returns
    -------
    SearchResult
        ``value`` is the minimal gap (0 at sigma), ``kappa`` the minimiser, ``local`` the
        second-order coefficient of the gap in ``kappa^2`` at 0.
    """
    d, tau, alpha = profile.d, profile.tau, profile.alpha
    eta2 = _check_eta2(eta2)
    beta = _check_beta(beta)
    q = alpha * (1.0 - eta2)
    gap = reduced_objective_gap(profile, eta2, beta)
    local = potential_curvature(d, tau) - q / (d * d) + beta / (2.0 * d)
    i = int(np.argmin(gap))
    best, at, err = float(gap[i]), float(profile.kappa[i]), float(profile.phi_error[i])
    if 0 < i < profile.kappa.size - 1 and best < 0:

        def fun(kv: float) -> tuple[float, float]:
            pot = vmf_uniformity_potential(d, kv, alpha)
            m2 = float(mean_resultant_length(d, kv)) ** 2
            return pot.gap - q * m2 + beta * float(kl_to_uniform(d, kv)), pot.error

        at, best, err = _refine(fun, profile, i)
    candidates = [(best, at, err), (0.0, 0.0, 0.0)]
    if beta == 0.0:
        point_mass = alpha * eta2 - float(log_normaliser(d, alpha))
        candidates.append((point_mass, math.inf, _closed_form_error(point_mass)))
    best, at, err = min(candidates, key=lambda c: c[0])
    if best >= -err:
        # Not distinguishable from sigma at the quadrature's accuracy.
        return SearchResult(0.0, err, 0.0, local)
    return SearchResult(best, err, at, local, bool(at == profile.kappa[-1]))
