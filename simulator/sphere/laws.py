"""Exact laws of sphere projections and their exact distances to the Gaussian limit.

Let ``U ~ sigma`` on S^{d-1}, ``Y = sqrt(d) U_{1..k}`` and ``Z ~ N(0, I_k)`` (Lemma 3, Eq. 48).
``U_{1..k}`` has density ``Gamma(d/2) / (Gamma((d-k)/2) pi^{k/2}) (1 - ||x||^2)^{(d-k)/2 - 1}`` on
the unit k-ball (theory.md section 4), so ``Y`` and ``Z`` are both radial and their density ratio
depends on ``s = ||y||^2`` only:

    log(f_Y / phi_k)(s) = log C_{d,k} + m * L(s/d) + (k + 2) s / (2 d),
    m = (d - k - 2)/2,  L(x) = log(1 - x) + x,
    log C_{d,k} = log Gamma(d/2) - log Gamma((d-k)/2) - (k/2) log(d/2).

The quadrature evaluates it centred at its peak ``s = k + 2`` (:class:`_Constants`), so that no
term of size ``k^2/d`` or ``d`` cancels: ``L`` is evaluated by its series for small arguments and
the constants with mpmath at ``30 + 2 * digits(d)`` digits (``log C`` is a difference of
log-Gamma values of size ``d log d``); near the edge of the support ``s = d`` the integration
variable is ``t = sqrt(1 - s/d)``, and the chi_k density is centred at its mode.
TV, KL and (for k = 1) the Kolmogorov distance then reduce to one-dimensional integrals over
the radius ``r = ||y||`` against the chi_k density, split at the two radii where the densities
cross. All integrands are non-negative (``|expm1(l)|`` for TV, ``1 + (l - 1) e^l`` for KL), so
the results keep full relative precision even when the distances are 1e-100 or smaller.

Accuracy (verified in the test suite against an independent mpmath evaluation at
``40 + 2 * digits(d)`` digits, and at ``d >= 1e30`` against the leading-order limits): 10
significant digits on the admissible range ``2 <= d <= 1e100``, ``1 <= k < d``, ``k <= 1e8``
(including ``k = d - 1`` at ``d = 1e8``), which :func:`exact_distances` enforces;
:attr:`ExactDistances.closure` reports the mass-balance residual of each evaluation as a run-time
check.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import mpmath
import numpy as np
from scipy import integrate, optimize, special, stats

from simulator.validation import check_dimensions, check_real

# Admissible range of exact_distances. Above D_MAX the KL divergence (about k(k+2)/(4 d^2)) nears
# the float64 underflow threshold; above K_MAX the chi_k peak (width ~0.7 around sqrt(k)) is no
# longer resolved to 1e-12 by float64 radii (ulp(sqrt k) * sqrt(k) / 0.7 ~ k * 2e-16).
D_MAX = 10**100
K_MAX = 10**8
# Beyond this many units past the last crossing, the chi_k density is below e^{-112}: negligible.
_TAIL_MARGIN = 15.0


def _working_digits(d: int) -> int:
    """mpmath digits for constants of size ``O(k^2/d)`` obtained as differences of log-Gamma
    values of size ``d log d``: 30 significant digits survive the cancellation."""
    return 30 + 2 * len(str(d))


def check_exact_range(d: object, k: object) -> tuple[int, int]:
    """Validate ``(d, k)`` for :func:`exact_distances`: ``2 <= d <= D_MAX``, ``1 <= k < d``,
    ``k <= K_MAX``; ValueError naming the parameter and the range otherwise."""
    d, k = check_dimensions(d, k)
    if d > D_MAX:
        raise ValueError(f"d must be <= 1e100 for the exact distances, got d={d:.3g}")
    if k > K_MAX:
        raise ValueError(f"k must be <= 1e8 for the exact distances, got k={k:.3g}")
    return d, k


@lru_cache(maxsize=4096)
def log_norm_const(d: int, k: int) -> float:
    """``log C_{d,k}``, the value at ``s = 0`` of ``log(f_Y / phi_k)`` (30 significant digits)."""
    d, k = check_dimensions(d, k)
    with mpmath.workdps(_working_digits(d)):
        value = mpmath.loggamma(mpmath.mpf(d) / 2) - mpmath.loggamma(mpmath.mpf(d - k) / 2)
        value -= mpmath.mpf(k) / 2 * mpmath.log(mpmath.mpf(d) / 2)
        return float(value)


# Horner coefficients (highest order first) of the two series used for small arguments, where
# the closed forms cancel: log(1-x) + x = -(x^2/2 + ... + x^21/21), truncation error below 1e-20
# relative for |x| < 0.1; and 1 + (l-1)e^l = sum_{n>=2} (n-1)/n! l^n up to n = 16.
_SERIES_BELOW = 0.1
_L_COEFFS = tuple(1.0 / j for j in range(21, 1, -1))
_KL_COEFFS = tuple((n - 1) / math.factorial(n) for n in range(16, 1, -1))


def _horner(coeffs: tuple[float, ...], x: Any) -> Any:
    acc = 0.0 * x
    for c in coeffs:
        acc = acc * x + c
    return acc


def _log1p_minus_x(x: np.ndarray) -> np.ndarray:
    """``log(1 - x) + x`` for ``0 <= x < 1``, accurate to a few ulps also for tiny ``x``."""
    x = np.asarray(x, dtype=float)
    out = np.empty_like(x)
    small = np.abs(x) < _SERIES_BELOW
    xs = x[small]
    out[small] = -_horner(_L_COEFFS, xs) * xs * xs
    xl = x[~small]
    with np.errstate(divide="ignore"):
        out[~small] = np.log1p(-xl) + xl
    return out


def log_density_ratio(s: np.ndarray | float, d: int, k: int) -> np.ndarray:
    """``log(f_Y(y) / phi_k(y))`` as a function of ``s = ||y||^2`` (``-inf`` for ``s >= d``)."""
    d, k = check_dimensions(d, k)
    s = np.asarray(s, dtype=float)
    if np.any(s < 0):
        raise ValueError("s = ||y||^2 must be non-negative")
    m = (d - k - 2) / 2.0
    inside = s < d
    out = np.full(s.shape, -np.inf)
    si = s[inside]
    out[inside] = log_norm_const(d, k) + m * _log1p_minus_x(si / d) + (k + 2) * si / (2.0 * d)
    return out


def density(y: np.ndarray, d: int) -> np.ndarray:
    """Density of ``Y = sqrt(d) U_{1..k}`` at the rows of ``y`` (shape ``(n, k)`` gives ``k``)."""
    y = np.atleast_2d(np.asarray(y, dtype=float))
    d, k = check_dimensions(d, y.shape[1])
    s = np.sum(y * y, axis=1)
    log_phi = -0.5 * s - 0.5 * k * math.log(2.0 * math.pi)
    return np.exp(log_phi + log_density_ratio(s, d, k))


def cdf_1d(x: np.ndarray | float, d: int) -> np.ndarray:
    """CDF of ``Y = sqrt(d) U_1`` (k = 1): ``(1 + U_1)/2 ~ Beta((d-1)/2, (d-1)/2)``."""
    d, _ = check_dimensions(d, 1)
    x = np.asarray(x, dtype=float)
    t = np.clip((1.0 + x / math.sqrt(d)) / 2.0, 0.0, 1.0)  # outside the support the CDF is 0 or 1
    a = (d - 1) / 2.0
    return special.betainc(a, a, t)


def radius_sq_law(d: int, k: int) -> stats.rv_continuous:
    """Frozen law of ``||Y||^2 = d ||U_{1..k}||^2``, i.e. ``d * Beta(k/2, (d-k)/2)``."""
    d, k = check_dimensions(d, k)
    return stats.beta(k / 2.0, (d - k) / 2.0, scale=float(d))


def df_bound(d: int, k: int) -> float | None:
    """Diaconis-Freedman bound ``2(k+3)/(d-k-3)`` on TV (Theorem 2, Eq. 49); None if k > d - 4."""
    d, k = check_dimensions(d, k)
    if k > d - 4:
        return None
    return 2.0 * (k + 3) / (d - k - 3)


@dataclass(frozen=True)
class ExactDistances:
    """Exact distances of ``sqrt(d) U_{1..k}`` to ``N(0, I_k)``.

    Attributes
    ----------
    d, k : int
    tv : float
        Total variation ``sup_A |P(A) - Q(A)|`` (the normalisation the DF bound is stated for).
    kl : float
        ``KL(Y || Z)`` in nats.
    ks : float or None
        Kolmogorov distance ``sup_x |F_Y(x) - Phi(x)|`` (k = 1 only).
    df_bound : float or None
        Theorem 2's bound, when ``1 <= k <= d - 4``.
    r_cross : tuple of float
        Radii where the two densities cross (``f_Y > phi_k`` in between).
    closure : float
        ``|int (f_Y - phi_k)|``, which is zero exactly: a run-time accuracy check.
    """

    d: int
    k: int
    tv: float
    kl: float
    ks: float | None
    df_bound: float | None
    r_cross: tuple[float, float]
    closure: float

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class _Constants:
    """Per-(d, k) constants of the centred log-ratio and chi_k density (rounded from mpmath).

    ``l(s) = peak + (D/2) L((s - p)/D)`` with ``p = k + 2``, ``D = d - k - 2 > 0`` and
    ``peak = l(p)``: the maximum, so nothing of size ``k^2/d`` cancels at large ``k`` or ``d``.
    For ``D <= 0`` (k >= d - 2) the ratio grows up to the edge and
    ``l(s) = edge + (D/2) L(s/d) - p (d - s)/(2d)`` with ``edge = log C_{d,k} + p/2``.
    The chi_k log-density is centred at its mode ``r0 = sqrt(k - 1)`` with value ``chi0``.
    """

    d: float
    k: int
    p: float
    big_d: float
    peak: float
    edge: float
    r0: float
    chi0: float


@lru_cache(maxsize=4096)
def _constants(d: int, k: int) -> _Constants:
    with mpmath.workdps(_working_digits(d)):
        d_, k_ = mpmath.mpf(d), mpmath.mpf(k)
        p, big_d = k_ + 2, d_ - k_ - 2
        log_c = mpmath.loggamma(d_ / 2) - mpmath.loggamma((d_ - k_) / 2)
        log_c -= k_ / 2 * mpmath.log(d_ / 2)
        peak = log_c + big_d / 2 * (mpmath.log1p(-p / d_) + p / d_) + p * p / (2 * d_)
        chi0 = 0
        if k >= 2:
            chi0 = (k_ - 1) / 2 * (mpmath.log(k_ - 1) - 1) - (k_ / 2 - 1) * mpmath.log(2)
            chi0 -= mpmath.loggamma(k_ / 2)
        return _Constants(
            d=float(d),
            k=k,
            p=float(p),
            big_d=float(big_d),
            peak=float(peak) if big_d > 0 else math.nan,
            edge=float(log_c + p / 2),
            r0=math.sqrt(k - 1),
            chi0=float(chi0),
        )


def _half_d_l(big_d: float, u: float) -> float:
    """``(D/2) L(u/D)`` for ``u < D``; the series form keeps it free of underflow at huge ``D``."""
    y = u / big_d
    if abs(y) < _SERIES_BELOW:
        return -0.5 * u * y * _horner(_L_COEFFS, y)
    return 0.5 * big_d * (math.log1p(-y) + y)


def _log_ratio_scalar(s: float, c: _Constants) -> float:
    """``l(s) = log(f_Y / phi_k)(s)`` in the centred form of :class:`_Constants`."""
    if s >= c.d:
        return -math.inf
    if c.big_d > 0:
        return c.peak + _half_d_l(c.big_d, s - c.p)
    x = s / c.d
    big_l = -_horner(_L_COEFFS, x) * x * x if x < _SERIES_BELOW else math.log1p(-x) + x
    return c.edge + 0.5 * c.big_d * big_l - c.p * (c.d - s) / (2.0 * c.d)


def _log_ratio_edge(t: float, c: _Constants) -> float:
    """``l`` at ``s = d (1 - t^2)``, evaluated from ``0 < t <= 1`` without forming ``s``."""
    if c.big_d > 0:
        u = c.big_d - c.d * t * t
        if abs(u / c.big_d) < _SERIES_BELOW:
            return c.peak + _half_d_l(c.big_d, u)
        # log(1 - u/D) = log(d t^2 / D): the edge singularity is carried by log(t) exactly.
        return c.peak + 0.5 * c.big_d * (2.0 * math.log(t) + math.log(c.d / c.big_d) + u / c.big_d)
    return c.edge + 0.5 * c.big_d * (2.0 * math.log(t) + 1.0 - t * t) - 0.5 * c.p * t * t


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def _chi_pdf(r: float, c: _Constants) -> float:
    """chi_k density, centred at its mode so that ``k log r`` never cancels against ``r^2/2``."""
    if c.k == 1:
        return _SQRT_2_OVER_PI * math.exp(-0.5 * r * r)
    w = (r - c.r0) / c.r0
    if w <= -1.0:
        return 0.0
    big_l = -_horner(_L_COEFFS, -w) * w * w if abs(w) < _SERIES_BELOW else math.log1p(w) - w
    return math.exp(c.chi0 + (c.k - 1) * (big_l - 0.5 * w * w))


# A point of the radial axis as ``(s, t)``: ``s = r^2`` and ``t = sqrt((d - s)/d)``. Near the edge
# ``t`` carries the position where ``s`` has rounded to ``d`` (a crossing can lie within one ulp
# of ``d`` when k is close to d).
_Point = tuple[float, float]


def _point(s: float, c: _Constants) -> _Point:
    return s, math.sqrt(max(0.0, c.d - s) / c.d)


def _crossings(c: _Constants) -> tuple[_Point, _Point]:
    """The points ``s1 < s2`` where ``log(f_Y / phi_k)`` changes sign.

    A crossing in the outer half ``s > d/2`` is solved in ``t`` (where ``l`` is monotone as in
    ``s``), so that its position is exact even within one ulp of the edge.
    """

    def ell(s: float) -> float:
        return _log_ratio_scalar(s, c)

    def in_t(lo_s: float, hi_s: float) -> _Point:
        # ``t`` runs opposite to ``s``; t = 1e-300 stands for the edge: there l - peak is below
        # -575 D for D > 0 (d <= 1e100), and l exceeds log C + p/2 > 0 for D <= 0.
        t_hi = math.sqrt((c.d - lo_s) / c.d)
        t_lo = 1e-300 if hi_s >= c.d else math.sqrt((c.d - hi_s) / c.d)
        t = optimize.brentq(
            lambda t: _log_ratio_edge(t, c), t_lo, t_hi, xtol=1e-300, rtol=1e-15, maxiter=500
        )
        return c.d * (1.0 - t * t), t

    def root(lo_s: float, hi_s: float) -> _Point:
        half = 0.5 * c.d
        if hi_s > half and ell(half) * ell(lo_s) > 0:
            return in_t(max(lo_s, half), hi_s)
        s = optimize.brentq(ell, lo_s, min(hi_s, half), xtol=1e-300, rtol=1e-15, maxiter=500)
        return _point(s, c)

    edge = (c.d, 0.0)
    if c.big_d <= 0:
        # k >= d - 2: the ratio increases all the way to the edge of the support.
        return root(0.0, c.d), edge
    s1 = root(0.0, c.p)
    half = 0.5 * c.d
    if c.p >= half:
        return s1, in_t(c.p, c.d)
    # The ratio falls off on the scale sqrt(k) past its peak: a doubling search brackets s2.
    step = 1.0
    hi = min(c.p + step, half)
    while hi < half and ell(hi) > 0:
        step *= 2.0
        hi = min(c.p + step, half)
    if ell(hi) > 0:
        return s1, in_t(half, c.d)
    return s1, _point(optimize.brentq(ell, c.p, hi, xtol=1e-300, rtol=1e-15, maxiter=500), c)


def _quad(f: Any, a: float, b: float, d: int, k: int, epsabs: float = 0.0) -> float:
    """QUADPACK at relative tolerance 1e-13; a convergence failure raises instead of warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", integrate.IntegrationWarning)
        try:
            return integrate.quad(f, a, b, epsabs=epsabs, epsrel=1e-13, limit=400)[0]
        except integrate.IntegrationWarning as exc:
            first = str(exc).strip().splitlines()[0]
            raise ArithmeticError(f"quadrature failed at d={d}, k={k}: {first}") from None


def _integrate(
    g: Any, a: _Point, b: _Point, c: _Constants, d: int, k: int, epsabs: float = 0.0
) -> float:
    """``int g(r, l(r)) dr`` between the points ``a`` and ``b``, ``l = log(f_Y / phi_k)(r^2)``.

    The part with ``r^2 > d/2`` is integrated in ``v``, ``t = v^2 = sqrt((d - r^2)/d)``, with
    ``l`` evaluated from ``t`` directly: near the edge ``d - r^2`` is then never formed by
    cancellation (for k close to d the whole law of ``Y`` lives within ``O(d - k)`` of the edge),
    the ``(1 - r^2/d)^{-1/2}`` singularity of k = d - 1 is removed, and the logarithmic one of its
    KL integrand becomes a zero through ``dt = 2 v dv``.
    """
    half = _point(0.5 * c.d, c)
    if a[0] < half[0] < b[0]:
        return _integrate(g, a, half, c, d, k, epsabs) + _integrate(g, half, b, c, d, k, epsabs)
    if b[0] <= half[0]:
        return _quad(
            lambda r: g(r, _log_ratio_scalar(r * r, c)),
            math.sqrt(a[0]),
            math.sqrt(b[0]),
            d,
            k,
            epsabs,
        )
    r_edge = math.sqrt(c.d)

    def in_v(v: float) -> float:
        t = v * v
        if t == 0.0:
            return 0.0
        cos = math.sqrt(1.0 - t * t)
        return g(r_edge * cos, _log_ratio_edge(t, c)) * r_edge * t / cos * 2.0 * v

    return _quad(in_v, math.sqrt(b[1]), math.sqrt(a[1]), d, k, epsabs)


def _kl_integrand_scalar(ell: float) -> float:
    if ell == -math.inf:
        return 1.0
    if abs(ell) < _SERIES_BELOW:
        return _horner(_KL_COEFFS, ell) * ell * ell
    return 1.0 + (ell - 1.0) * math.exp(ell)


def exact_distances(d: int, k: int) -> ExactDistances:
    """Exact TV, KL and Kolmogorov distance of ``sqrt(d) U_{1..k}`` to ``N(0, I_k)``.

    Parameters
    ----------
    d : int
        Sphere dimension, ``2 <= d <= 10**100`` (:data:`D_MAX`).
    k : int
        Projection size, ``1 <= k < d`` and ``k <= 10**8`` (:data:`K_MAX`).

    Raises
    ------
    ValueError
        Outside the admissible range, where the accuracy below is not established.
    ArithmeticError
        If a quadrature fails to converge (not observed in the admissible range).

    Notes
    -----
    With ``q`` the chi_k density of ``R = ||Z||`` and ``l(r) = log(f_Y/phi_k)(r^2)``:
    ``TV = (1/2) int q |expm1(l)| dr + (1/2) P(R > sqrt d)`` and
    ``KL = int q (1 + (l - 1) e^l) dr + P(R > sqrt d)``, integrated piecewise between the crossing
    radii (the integrands are smooth on each piece). For k = 1 the Kolmogorov distance is attained
    at a crossing:
    ``KS = max(|int_0^{r1} q expm1(l)|, |int_{r2}^inf q expm1(l)| + P(R > sqrt d)) / 2``.
    The only truncation drops ``r > r2 + 15`` when that is inside the support; there
    ``|expm1(l)| <= 1`` and ``|l| <= 1`` (the ratio is below 1 and decreasing), and
    ``P(R > r2 + 15) < e^{-112}`` because ``r2`` exceeds the chi_k median and the chi_k law is
    strongly log-concave (Gaussian concentration), so the dropped part is below
    ``e^{-112} max |l|``, relative ``< 1e-40`` of either distance.
    """
    d, k = check_exact_range(d, k)
    c = _constants(d, k)
    p1, p2 = _crossings(c)
    r1, r2 = math.sqrt(p1[0]), math.sqrt(p2[0])
    r_edge = math.sqrt(c.d)
    r_hi = min(r_edge, r2 + _TAIL_MARGIN)
    beyond = float(stats.chi(k).sf(r_edge)) if r_hi == r_edge else 0.0

    def diff(r: float, ell: float) -> float:
        return _chi_pdf(r, c) * math.expm1(ell)

    def kl_part(r: float, ell: float) -> float:
        return _chi_pdf(r, c) * _kl_integrand_scalar(ell)

    # For k > 900 the chi_k mass is a peak of width ~1 just below r1: the short piece
    # [r1 - 15, r1] makes sure the adaptive quadrature sees it. The far piece [0, r1 - 15] is
    # negligible there; it is integrated to an absolute 1e-16 of the rest, since QUADPACK cannot
    # reach a relative 1e-13 on a number near the underflow threshold.
    r_low = r1 - _TAIL_MARGIN
    near_lower = (_point(r_low * r_low, c) if r_low > _TAIL_MARGIN else _point(0.0, c), p1)
    # For k >= d - 2 the second crossing is the edge itself; otherwise the ratio is below 1
    # from r2 on, up to the truncation r_hi or the edge.
    end = _point(r_hi * r_hi, c) if r_hi < r_edge else (c.d, 0.0)
    upper = [(p2, end)] if c.big_d > 0 else []
    below = _integrate(diff, *near_lower, c, d, k)
    between = _integrate(diff, p1, p2, c, d, k)
    above = math.fsum(_integrate(diff, a, b, c, d, k) for a, b in upper)
    kl = math.fsum(_integrate(kl_part, a, b, c, d, k) for a, b in [near_lower, (p1, p2), *upper])
    kl += beyond
    if r_low > _TAIL_MARGIN:
        far = (_point(0.0, c), near_lower[0])
        below += _integrate(diff, *far, c, d, k, 1e-16 * (abs(below) + between + abs(above)))
        kl += _integrate(kl_part, *far, c, d, k, 1e-16 * kl)
    tv = 0.5 * (abs(below) + between + abs(above) + beyond)
    closure = abs(below + between + above - beyond)
    ks = 0.5 * max(abs(below), abs(above) + beyond) if k == 1 else None
    return ExactDistances(d, k, tv, kl, ks, df_bound(d, k), (r1, r2), closure)


def smallest_d_for_tv(k: int, tolerance: float, *, d_max: int = 10**9) -> int:
    """Smallest ``d`` with ``TV(sqrt(d) U_{1..k}, N(0, I_k)) <= tolerance`` (bisection over d).

    Relies on TV decreasing in ``d``, which the test suite checks on a grid.
    """
    tolerance = check_real("tolerance", tolerance, low=0.0, high=1.0, low_open=True, high_open=True)
    lo = k + 1
    if exact_distances(lo, k).tv <= tolerance:
        return lo
    hi = 2 * lo
    while exact_distances(hi, k).tv > tolerance:
        lo, hi = hi, 2 * hi
        if hi > d_max:
            raise ValueError(f"TV stays above {tolerance} up to d_max={d_max}")
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if exact_distances(mid, k).tv <= tolerance:
            hi = mid
        else:
            lo = mid
    return hi
