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

Sampling follows Wood (1994), "Simulation of the von Mises Fisher distribution", Comm. Statist.
Simulation Comput. 23(1), with the rejection test rewritten in terms of ``1 - w`` so that it stays
accurate for large ``kappa``. The tangent direction is a Gaussian vector projected orthogonally to
the mean, which avoids the Householder edge case at ``w = e_1``.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from simulator.backend import RNGLike, normalize_rng
from simulator.validation import check_int, check_real

#: Above this peak index the 0F1 series is replaced by scaled Bessel functions.
_SERIES_MAX_PEAK = 4000
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
    use_series = _series_peak(nu, kappa) <= _SERIES_MAX_PEAK
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
