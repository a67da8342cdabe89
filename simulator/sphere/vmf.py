"""The von Mises-Fisher law vMF(w, kappa) on S^{d-1}: Bessel ratios, normaliser, KL, samplers.

The density with respect to the uniform law sigma is ``exp(kappa w.u) / Z_d(kappa)`` with

    Z_d(kappa) = E_sigma exp(kappa w.u) = Gamma(d/2) (2/kappa)^{d/2-1} I_{d/2-1}(kappa)
               = 0F1(; d/2; kappa^2/4),

the projection moment generating function of theory.md section 4 (used by Lemma 1, Eqs. 41-46, and
as ``Phi(sigma) = log Z_d(alpha)``). The mean resultant length is
``A_d(kappa) = I_{d/2}(kappa) / I_{d/2-1}(kappa) = d/dkappa log Z_d(kappa)`` and
``KL(vMF || sigma) = kappa A_d(kappa) - log Z_d(kappa)``.

Numerics. ``I_nu`` under- and overflows in double precision for large ``nu = d/2 - 1``, and the
closed form of ``log Z_d`` cancels catastrophically when ``kappa`` is small compared with ``d``. Two
routes are therefore used:

* the power series of ``0F1`` summed in log space (all terms positive, so no cancellation), used
  whenever its peak term index is moderate; it also gives ``A_d`` as a weighted average
  ``(kappa/2) E_w[1/(nu+1+j)]``, which is accurate to a few ulps;
* exponentially scaled Bessel functions (:func:`scipy.special.ive`) for large ``kappa``, where the
  series would need too many terms and ``ive`` cannot underflow.

The uniformity potential ``Phi`` of Eq. 4 at a vMF law (:func:`vmf_uniformity_potential`) is a
one-dimensional mean over the cosine ``w.u`` of ``log Z_d(|kappa w + alpha u|) - log Z_d(kappa)``,
taken by Gauss-Legendre quadrature in the angle with a rigorous tail bound.

Sampling follows Wood (1994), "Simulation of the von Mises Fisher distribution", Comm. Statist.
Simulation Comput. 23(1), with the rejection test rewritten in terms of ``1 - w`` so that it stays
accurate for large ``kappa``. The tangent direction is a Gaussian vector projected orthogonally to
the mean, which avoids the Householder edge case at ``w = e_1``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from simulator.backend import RNGLike, normalize_rng
from simulator.validation import check_int, check_real

#: Above this peak index the 0F1 series is replaced by scaled Bessel functions.
_SERIES_MAX_PEAK = 4000
#: Above ``kappa = 2 d`` the scaled-Bessel route is used (KL without cancellation).
_SERIES_MAX_KAPPA_PER_D = 2.0
#: ``log ive`` below this is treated as unreliable (subnormal range).
_IVE_LOG_FLOOR = -600.0


def _check_kappa_array(kappa: ArrayLike) -> np.ndarray:
    k = np.asarray(kappa, dtype=float)
    if not np.all(np.isfinite(k)):
        raise ValueError(f"kappa must be finite, got {kappa!r}")
    if np.any(k < 0):
        raise ValueError(f"kappa must lie in [0, inf), got {kappa!r}")
    return k


def _series_peak(nu: float, kappa: float) -> float:
    # Index where the term ratio t / ((j+1)(nu+1+j)) of the 0F1 series crosses 1.
    t = 0.25 * kappa * kappa
    return 0.5 * (-(nu + 1.0) + math.sqrt((nu + 1.0) ** 2 + 4.0 * t))


def _series_log_terms(nu: float, kappa: float) -> tuple[np.ndarray, np.ndarray]:
    """Log terms ``log[t^j / (j! (nu+1)_j)]`` of 0F1(; nu+1; t), t = kappa^2/4, and their ``j``."""
    t = 0.25 * kappa * kappa
    # The tail beyond the peak term decays faster than a Gaussian of width ~ sqrt(peak), so 12
    # widths plus a margin reach double precision.
    peak = _series_peak(nu, kappa)
    j_max = int(peak + 12.0 * math.sqrt(peak + 1.0) + 40.0)
    j = np.arange(j_max + 1, dtype=float)
    # Cumulative sums of log term ratios: exact for small j, unlike differences of gammaln values
    # of size ~nu log nu, which cost ~1e-11 relative at d = 1e5.
    log_terms = np.empty(j_max + 1)
    log_terms[0] = 0.0
    np.cumsum(math.log(t) - np.log1p(j[:-1]) - np.log(nu + 1.0 + j[:-1]), out=log_terms[1:])
    return j, log_terms


def _log_ive(nu: float, kappa: float) -> float:
    val = float(special.ive(nu, kappa))
    return math.log(val) if val > 0.0 else -math.inf


def _scalar_quantities(d: int, kappa: float) -> tuple[float, float, float]:
    """Return ``(A_d, log Z_d, KL)`` at one ``kappa`` by the most accurate available route."""
    if kappa < 1e-150:
        # kappa^2 underflows; the leading terms A = k/d, log Z = KL = k^2/(2d) are exact to
        # relative O(kappa^2).
        half_sq = 0.5 * kappa * kappa / d
        return kappa / d, half_sq, half_sq
    nu = 0.5 * d - 1.0
    # Beyond kappa ~ d the series route's KL = kappa A - log Z cancels (both ~kappa, KL ~ d log
    # kappa), while the scaled-Bessel route forms KL from O(d log kappa) pieces.
    use_series = (
        _series_peak(nu, kappa) <= _SERIES_MAX_PEAK and kappa <= _SERIES_MAX_KAPPA_PER_D * d
    )
    if not use_series:
        log_ive0 = _log_ive(nu, kappa)
        log_ive1 = _log_ive(nu + 1.0, kappa)
        if min(log_ive0, log_ive1) < _IVE_LOG_FLOOR:
            use_series = True
    if use_series:
        j, log_terms = _series_log_terms(nu, kappa)
        top = log_terms.max()
        w = np.exp(log_terms - top)
        total = w.sum()
        # When the j = 0 term (= 1) dominates, log1p keeps log Z ~ kappa^2/(2d) to full precision.
        log_z = math.log1p(w[1:].sum()) if log_terms.argmax() == 0 else float(top + math.log(total))
        # A_d = I_{nu+1}/I_nu = (kappa/2) * sum_j w_j/(nu+1+j) / sum_j w_j (term-wise ratio of the
        # two 0F1 series), a weighted mean of positive numbers: no cancellation.
        a = float(0.5 * kappa * np.sum(w / (nu + 1.0 + j)) / total)
        return a, log_z, kappa * a - log_z
    a = math.exp(log_ive1 - log_ive0)
    # log Z - kappa, without adding and subtracting kappa: KL = kappa (A - 1) - (log Z - kappa)
    # keeps both pieces O(d log kappa) instead of O(kappa).
    log_z_minus_k = special.gammaln(nu + 1.0) + nu * math.log(2.0 / kappa) + log_ive0
    one_minus_a = -math.expm1(log_ive1 - log_ive0)
    return a, float(log_z_minus_k + kappa), float(-kappa * one_minus_a - log_z_minus_k)


def _apply(d: int, kappa: ArrayLike, index: int) -> float | np.ndarray:
    d = check_int("d", d, low=2)
    k = _check_kappa_array(kappa)
    if k.ndim == 0:
        return _scalar_quantities(d, float(k))[index]
    out = np.empty(k.shape, dtype=float)
    for pos, val in np.ndenumerate(k):
        out[pos] = _scalar_quantities(d, float(val))[index]
    return out


def mean_resultant_length(d: int, kappa: ArrayLike) -> float | np.ndarray:
    """Mean resultant length ``A_d(kappa) = I_{d/2}(kappa) / I_{d/2-1}(kappa)`` of vMF on S^{d-1}.

    Equals ``||E u||`` for ``u ~ vMF(w, kappa)`` and ``E[u.v] = rho_m(u, v)`` for vMF positive
    pairs (theory.md section 4, Funk-Hecke).

    Parameters
    ----------
    d : int
        Ambient dimension, ``d >= 2``.
    kappa : float or array_like
        Concentration(s), ``kappa >= 0``; ``kappa = 0`` gives 0.

    Returns
    -------
    float or ndarray
        Value(s) in ``[0, 1)``, same shape as ``kappa``.
    """
    return _apply(d, kappa, 0)


def log_normaliser(d: int, kappa: ArrayLike) -> float | np.ndarray:
    """Log normaliser ``log Z_d(kappa) = log E_sigma exp(kappa w.u)`` of vMF on S^{d-1}.

    ``Z_d(kappa) = Gamma(d/2) (2/kappa)^{d/2-1} I_{d/2-1}(kappa)`` (theory.md section 4).
    The projection MGF of Lemma 1 (Eqs. 41-46) and ``Phi(sigma)`` of Eq. 4 at ``alpha = kappa``.
    Stable for large ``d`` and ``kappa``; ``kappa = 0`` gives 0.

    Parameters
    ----------
    d : int
        Ambient dimension, ``d >= 2``.
    kappa : float or array_like
        ``kappa >= 0``.

    Returns
    -------
    float or ndarray
    """
    return _apply(d, kappa, 1)


def kl_to_uniform(d: int, kappa: ArrayLike) -> float | np.ndarray:
    """``KL(vMF(w, kappa) || sigma) = kappa A_d(kappa) - log Z_d(kappa)`` (theory.md section 4).

    Parameters
    ----------
    d : int
        Ambient dimension, ``d >= 2``.
    kappa : float or array_like
        ``kappa >= 0``; ``kappa = 0`` gives 0.

    Returns
    -------
    float or ndarray
        Non-negative value(s).
    """
    return _apply(d, kappa, 2)


def _wood_cosines(
    n: int, d: int, kappa: float, gen: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` cosines ``w = u.mean`` of vMF on S^{d-1} (Wood 1994); return ``(w, 1 - w^2)``."""
    if kappa == 0.0:
        # Uniform law: (1 + w)/2 ~ Beta((d-1)/2, (d-1)/2) (theory.md section 4).
        z = gen.beta(0.5 * (d - 1), 0.5 * (d - 1), size=n)
        return 1.0 - 2.0 * z, 4.0 * z * (1.0 - z)
    m1 = d - 1.0
    b = m1 / (2.0 * kappa + math.sqrt(4.0 * kappa * kappa + m1 * m1))
    one_minus_x0 = 2.0 * b / (1.0 + b)
    log_one_minus_x0sq = math.log(4.0 * b) - 2.0 * math.log1p(b)
    w_out = np.empty(n)
    s_out = np.empty(n)
    filled = 0
    while filled < n:
        m = max(16, int(1.2 * (n - filled)) + 8)
        z = gen.beta(0.5 * m1, 0.5 * m1, size=m)
        log_u = np.log(gen.random(m))
        denom = 1.0 - (1.0 - b) * z
        one_minus_w = 2.0 * b * z / denom
        one_plus_w = 2.0 * (1.0 - z) / denom
        # 1 - x0 w = ((1 - w) + b (1 + w)) / (1 + b): no cancellation near w = x0 = 1.
        one_minus_x0w = (one_minus_w + b * one_plus_w) / (1.0 + b)
        with np.errstate(divide="ignore"):
            log_ratio = kappa * (one_minus_x0 - one_minus_w) + m1 * (
                np.log(one_minus_x0w) - log_one_minus_x0sq
            )
        ok = np.flatnonzero(log_ratio >= log_u)[: n - filled]
        w_out[filled : filled + ok.size] = 1.0 - one_minus_w[ok]
        s_out[filled : filled + ok.size] = one_minus_w[ok] * one_plus_w[ok]
        filled += ok.size
    return w_out, s_out


def _tangent_directions(means: np.ndarray, gen: np.random.Generator) -> np.ndarray:
    """Unit vectors uniform on the great subsphere orthogonal to each row of ``means``."""
    out = gen.standard_normal(means.shape)
    # Two Gram-Schmidt passes: one leaves a parallel residue of order eps |g| / |g_perp|, which is
    # visible when g is nearly parallel to the mean (common for d = 2).
    for _ in range(2):
        out -= np.einsum("ij,ij->i", out, means)[:, None] * means
        norms = np.linalg.norm(out, axis=1)
        bad = norms < 1e-8
        if np.any(bad):  # probability ~1e-8 per row for d = 2; redraw those rows
            out[bad] = _tangent_directions(means[bad], gen)
            norms[bad] = 1.0
        out /= norms[:, None]
    return out


def _vmf_around(means: np.ndarray, kappa: float, gen: np.random.Generator) -> np.ndarray:
    n, d = means.shape
    w, one_minus_w2 = _wood_cosines(n, d, kappa, gen)
    out = _tangent_directions(means, gen)
    out *= np.sqrt(one_minus_w2)[:, None]
    out += w[:, None] * means
    return out


def vmf_around(means: ArrayLike, kappa: float, *, rng: RNGLike = None) -> np.ndarray:
    """One vMF(means[i], kappa) draw per row of ``means`` (Wood 1994).

    Parameters
    ----------
    means : array_like of shape (n, d)
        Unit rows (norms within 1e-8 of 1), ``d >= 2``.
    kappa : float
        Concentration, ``kappa >= 0``.
    rng : None, int, SeedSequence or Generator
        SPEC 7 seed.

    Returns
    -------
    ndarray of shape (n, d)
    """
    kappa = check_real("kappa", kappa, low=0.0)
    mu = np.asarray(means, dtype=float)
    if mu.ndim != 2 or mu.shape[0] < 1 or mu.shape[1] < 2:
        raise ValueError(f"means must have shape (n, d) with n >= 1, d >= 2, got {mu.shape}")
    if not np.all(np.isfinite(mu)):
        raise ValueError("means must be finite")
    norms = np.linalg.norm(mu, axis=1)
    if np.any(np.abs(norms - 1.0) > 1e-8):
        raise ValueError("means must have unit rows")
    return _vmf_around(np.ascontiguousarray(mu / norms[:, None]), kappa, normalize_rng(rng))


def vmf_sample(
    n: int, mean_direction: ArrayLike, kappa: float, *, rng: RNGLike = None
) -> np.ndarray:
    """Draw ``n`` points from vMF(mean_direction, kappa) on S^{d-1} (Wood 1994).

    Parameters
    ----------
    n : int
        Number of points, ``n >= 1``.
    mean_direction : array_like of shape (d,)
        Unit vector (norm within 1e-8 of 1), ``d >= 2``.
    kappa : float
        Concentration, ``kappa >= 0`` (0 gives the uniform law).
    rng : None, int, SeedSequence or Generator
        SPEC 7 seed.

    Returns
    -------
    ndarray of shape (n, d)
        Rows of unit norm; ``E[row] = A_d(kappa) mean_direction``.
    """
    n = check_int("n", n, low=1)
    kappa = check_real("kappa", kappa, low=0.0)
    mu = np.asarray(mean_direction, dtype=float)
    if mu.ndim != 1 or mu.shape[0] < 2:
        raise ValueError(
            f"mean_direction must be a 1-D vector of length d >= 2, got shape {mu.shape}"
        )
    if not np.all(np.isfinite(mu)):
        raise ValueError("mean_direction must be finite")
    norm = float(np.linalg.norm(mu))
    if abs(norm - 1.0) > 1e-8:
        raise ValueError(f"mean_direction must be a unit vector, got norm {norm!r}")
    gen = normalize_rng(rng)
    means = np.broadcast_to(mu / norm, (n, mu.shape[0]))
    return _vmf_around(np.ascontiguousarray(means), kappa, gen)


def vmf_pairs(
    n: int, d: int, kappa: float, *, rng: RNGLike = None
) -> tuple[np.ndarray, np.ndarray]:
    """Positive pairs ``u ~ sigma``, ``v | u ~ vMF(u, kappa)`` on S^{d-1}.

    Then ``v ~ sigma`` as well, ``E[u.v] = A_d(kappa)`` and ``rho_m(u, v) = A_d(kappa)``
    (theory.md section 4, Funk-Hecke): the tight case of Prop. 1 (Eq. 6) with ``m = 0``.

    Parameters
    ----------
    n : int
        Number of pairs, ``n >= 1``.
    d : int
        Ambient dimension, ``d >= 2``.
    kappa : float
        Concentration, ``kappa >= 0``.
    rng : None, int, SeedSequence or Generator
        SPEC 7 seed.

    Returns
    -------
    (u, v) : tuple of ndarray, each of shape (n, d)
    """
    n = check_int("n", n, low=1)
    d = check_int("d", d, low=2)
    kappa = check_real("kappa", kappa, low=0.0)
    gen = normalize_rng(rng)
    u = gen.standard_normal((n, d))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    return u, _vmf_around(u, kappa, gen)


#: Range on which :func:`vmf_uniformity_potential` is accurate (checked against 30-digit
#: quadrature in the tests): ``2 <= d <= 10^4``, ``0 <= kappa, alpha <= 10^4``.
PHI_MAX_D = 10_000
PHI_MAX_KAPPA = 1e4
PHI_MAX_ALPHA = 1e4
#: The cosine window keeps the angles where the density is within this many nats of its peak.
_WINDOW_NATS = 60.0
#: Gauss-Legendre sizes of the two quadratures whose difference estimates the rule's error.
_NODES = (64, 128)
#: Relative error bound of the double-precision ``log Z_d`` (measured: below 4e-15 against
#: 40-digit mpmath over 2 <= d <= 10^4, 1e-8 <= kappa <= 2 10^4; the bound keeps a margin of 25).
_LOG_Z_REL_ERR = 1e-13


#: Upper bound of the memory one :func:`vmf_uniformity_potential` call allocates: the series
#: route of :func:`_log_z_many` holds at most five ``(nodes, terms)`` float64 matrices (the
#: steps, their cumulative sum, the concatenated log terms, their exponentials and one
#: temporary) with ``nodes = max(_NODES)`` and ``terms`` the longest series it sums
#: (``peak + 12 sqrt(peak + 1) + 41`` at ``peak = _SERIES_MAX_PEAK``).
PHI_MEMORY_BYTES = (
    5 * 8 * max(_NODES) * int(_SERIES_MAX_PEAK + 12 * math.sqrt(_SERIES_MAX_PEAK + 1) + 41)
)


def _log_z_many(d: int, r: np.ndarray) -> np.ndarray:
    """``log Z_d(r)`` for an array of ``r > 0`` at one ``d``, by the routes of ``log_normaliser``.

    The power series of ``0F1`` is summed for all series-route points at once (one matrix of log
    terms); the rest use scaled Bessel functions. ``log Z`` alone never cancels in the series
    (all terms positive), so only the peak index decides the route here.
    """
    nu = 0.5 * d - 1.0
    out = np.empty_like(r)
    tiny = r < 1e-150
    out[tiny] = 0.5 * r[tiny] ** 2 / d
    peak = 0.5 * (-(nu + 1.0) + np.sqrt((nu + 1.0) ** 2 + r * r))
    series = ~tiny & (peak <= _SERIES_MAX_PEAK)
    bessel = ~tiny & ~series
    if np.any(bessel):
        rb = r[bessel]
        with np.errstate(divide="ignore"):
            log_ive = np.log(special.ive(nu, rb))
        # Outside the normal range of ive the series is summed instead, as in _scalar_quantities.
        fallback = log_ive < _IVE_LOG_FLOOR
        vals = special.gammaln(nu + 1.0) + nu * np.log(2.0 / rb) + log_ive + rb
        idx = np.flatnonzero(bessel)
        out[idx[~fallback]] = vals[~fallback]
        series[idx[fallback]] = True
    if np.any(series):
        rs = r[series]
        log_t = np.log(0.25 * rs * rs)
        j_max = int(np.max(peak[series]) + 12.0 * math.sqrt(np.max(peak[series]) + 1.0) + 40.0)
        j = np.arange(j_max, dtype=float)
        steps = log_t[:, None] - (np.log1p(j) + np.log(nu + 1.0 + j))[None, :]
        log_terms = np.concatenate([np.zeros((rs.size, 1)), np.cumsum(steps, axis=1)], axis=1)
        top = log_terms.max(axis=1)
        w = np.exp(log_terms - top[:, None])
        lead = log_terms.argmax(axis=1) == 0
        # log1p keeps log Z ~ r^2/(2d) exact when the j = 0 term (= 1) dominates.
        out[series] = np.where(lead, np.log1p(w[:, 1:].sum(axis=1)), top + np.log(w.sum(axis=1)))
    return out


@dataclass(frozen=True)
class VmfPotential:
    """``Phi`` of Eq. 4 at a vMF law, with a bound on its numerical error.

    Attributes
    ----------
    value : float
        ``Phi(vMF(w, kappa)) = E_{u~mu} log E_{v~mu} exp(alpha u.v)``.
    gap : float
        ``Phi(vMF) - Phi(sigma)``, computed without forming the difference of two large numbers;
        non-negative up to ``error`` (Lemma 2, Eq. 47: sigma minimises ``Phi``).
    error : float
        Bound on the absolute error of ``value`` and of ``gap``: the quadrature-rule error (the
        difference between the 64- and 128-node Gauss-Legendre values, which exceeds the
        128-node error for this analytic integrand; checked against 30-digit references over the
        whole range in the tests), the cosine-window truncation (a rigorous tail bound) and the
        double-precision error of ``log Z_d``.
    d, kappa, alpha : parameters.
    """

    value: float
    gap: float
    error: float
    d: int
    kappa: float
    alpha: float


def _check_phi_args(d: int, kappa: float, alpha: float) -> tuple[int, float, float]:
    d = check_int("d", d, low=2, high=PHI_MAX_D)
    kappa = check_real("kappa", kappa, low=0.0, high=PHI_MAX_KAPPA)
    alpha = check_real("alpha", alpha, low=0.0, high=PHI_MAX_ALPHA)
    return d, kappa, alpha


def _cosine_window(d: int, kappa: float) -> tuple[float, float, float, float]:
    """Angles ``[lo, hi]`` where the angle density ``exp(l(theta))`` of ``theta = arccos(w.u)``,
    ``l = kappa cos(theta) + (d-2) log sin(theta)``, is within ``_WINDOW_NATS`` of its peak.

    ``l`` is unimodal on ``(0, pi)`` (its derivative times ``sin`` is ``(d-2) cos - kappa sin^2``,
    decreasing on ``(0, pi/2]`` and negative beyond), so the mass outside the window is at most
    ``(lo + pi - hi) exp(l* - _WINDOW_NATS)``. Returns ``(lo, hi, mode, outside)`` with
    ``outside`` that bound in units of the peak density.
    """
    from scipy.optimize import brentq

    m = d - 2.0
    # Mode: cos = 2 kappa / (m + sqrt(m^2 + 4 kappa^2)) solves m cos = kappa (1 - cos^2).
    c_star = 2.0 * kappa / (m + math.sqrt(m * m + 4.0 * kappa * kappa))
    mode = math.acos(min(c_star, 1.0))
    sin_mode = math.sin(mode)

    def drop(theta: float) -> float:
        # l(theta) - l(mode) + W, with cos difference as a product of sines (no cancellation).
        dcos = -2.0 * math.sin(0.5 * (theta + mode)) * math.sin(0.5 * (theta - mode))
        val = kappa * dcos
        if m > 0:
            s = math.sin(theta)
            if s <= 0.0:
                return -math.inf
            val += m * math.log(s / sin_mode)
        return val + _WINDOW_NATS

    lo = 0.0 if drop(0.0) >= 0.0 or mode == 0.0 else brentq(drop, 0.0, mode, xtol=1e-15)
    hi = math.pi if drop(math.pi) >= 0.0 else brentq(drop, mode, math.pi, xtol=1e-15)
    outside = (lo + math.pi - hi) * math.exp(-_WINDOW_NATS)
    return lo, hi, mode, outside


def vmf_uniformity_potential(d: int, kappa: float, alpha: float) -> VmfPotential:
    """Uniformity potential ``Phi(mu) = E_{u~mu} log E_{v~mu} exp(alpha u.v)`` (Eq. 4) at
    ``mu = vMF(w, kappa)`` on S^{d-1}, by a one-dimensional quadrature.

    For ``v ~ vMF(w, kappa)``, ``E_v exp(alpha u.v) = Z_d(|kappa w + alpha u|) / Z_d(kappa)``
    (the vMF normaliser of the tilted density), and ``|kappa w + alpha u|^2 = kappa^2 + alpha^2 +
    2 kappa alpha t`` depends on ``u`` only through the cosine ``t = w.u``. Hence

        Phi(vMF) - Phi(sigma) = E_t[log Z_d(r(t)) - log Z_d(alpha)] - log Z_d(kappa),

    with ``Phi(sigma) = log Z_d(alpha)`` and ``t`` distributed with density proportional to
    ``exp(kappa t) (1 - t^2)^{(d-3)/2}``. The mean over ``t`` is taken in the angle
    ``theta = arccos t`` (analytic integrand for every integer ``d``, no endpoint singularity at
    ``d = 2``) by Gauss-Legendre on the window where the density is within 60 nats of its peak;
    ``log Z_d`` is evaluated in log space (series of ``0F1`` or scaled Bessel functions).

    Parameters
    ----------
    d : int
        Dimension, ``2 <= d <= 10^4``.
    kappa : float
        Concentration, ``0 <= kappa <= 10^4``; ``kappa = 0`` gives ``Phi(sigma)``.
    alpha : float
        Inverse temperature ``1/tau``, ``0 <= alpha <= 10^4``.

    Returns
    -------
    VmfPotential
        Value, gap to ``Phi(sigma)`` and a bound on the absolute error.
    """
    d, kappa, alpha = _check_phi_args(d, kappa, alpha)
    log_z_alpha = float(log_normaliser(d, alpha))
    float_err = _LOG_Z_REL_ERR * max(1.0, abs(log_z_alpha))
    if kappa == 0.0 or alpha == 0.0:
        # sigma itself, or alpha = 0 where Phi vanishes for every law.
        return VmfPotential(log_z_alpha, 0.0, float_err, d, kappa, alpha)
    log_z_kappa = float(log_normaliser(d, kappa))
    lo, hi, _, outside = _cosine_window(d, kappa)
    m = d - 2.0
    estimates = []
    mass = 0.0
    for n in _NODES:
        x, wts = _gauss_legendre(n)
        theta = lo + 0.5 * (hi - lo) * (x + 1.0)
        log_dens = kappa * np.cos(theta) + (m * np.log(np.sin(theta)) if m > 0 else 0.0)
        dens = 0.5 * (hi - lo) * wts * np.exp(log_dens - log_dens.max())
        half_cos_sq = np.cos(0.5 * theta) ** 2  # (1 + t)/2, exact near t = -1
        r = np.sqrt((kappa - alpha) ** 2 + 4.0 * kappa * alpha * half_cos_sq)
        g = _log_z_many(d, r) - log_z_alpha
        estimates.append(float(np.sum(dens * g) / np.sum(dens)))
        mass = float(np.sum(dens) * math.exp(log_dens.max() - _peak_log_density(d, kappa)))
    # Truncated mass relative to the total, times the oscillation of the integrand.
    rel_tail = outside / mass
    log_z_top = float(log_normaliser(d, kappa + alpha))
    oscillation = log_z_top - float(log_normaliser(d, abs(kappa - alpha)))
    trunc = rel_tail / max(1.0 - rel_tail, 1e-300) * oscillation
    scale = log_z_top + abs(log_z_alpha) + log_z_kappa
    error = abs(estimates[1] - estimates[0]) + trunc + _LOG_Z_REL_ERR * max(1.0, scale)
    gap = estimates[1] - log_z_kappa
    return VmfPotential(gap + log_z_alpha, gap, error, d, kappa, alpha)


@functools.lru_cache(maxsize=4)
def _gauss_legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(n)


def _peak_log_density(d: int, kappa: float) -> float:
    """``max_theta [kappa cos(theta) + (d-2) log sin(theta)]`` (the mode of ``_cosine_window``)."""
    m = d - 2.0
    c = 2.0 * kappa / (m + math.sqrt(m * m + 4.0 * kappa * kappa))
    c = min(c, 1.0)
    return kappa * c + (0.5 * m * math.log1p(-c * c) if m > 0 else 0.0)
