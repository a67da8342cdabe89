"""Monte Carlo distance estimators with uncertainty.

Each estimator returns an :class:`~simulator.results.Estimate` (value, standard error or
confidence interval, sample size). The samples are host arrays: these functions sit at the CPU
boundary of the pipeline (SciPy special functions are used for the reference laws).

References: Dvoretzky-Kiefer-Wolfowitz inequality with Massart's constant (1990) for KS intervals;
Szekely & Rizzo (2013) for the energy distance; Cramer-Wold for sliced Gaussianity.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize, special, stats

from simulator.backend import RNGLike, normalize_rng, seed_entropy, to_host
from simulator.results import Estimate, normal_estimate
from simulator.sphere.laws import log_density_ratio
from simulator.sphere.sampling import random_directions
from simulator.validation import as_finite_matrix, check_dimensions, check_int, check_real


def _as_sample(x: object, *, ndim: int, min_n: int = 2) -> np.ndarray:
    """Host sample: a vector (``ndim=1``) or an ``(n, k)`` matrix (``ndim=2``; a vector is one
    column), validated by :func:`simulator.validation.as_finite_matrix`."""
    arr = np.asarray(to_host(x), dtype=float)
    if ndim == 1:
        if arr.ndim != 1:
            raise ValueError(f"sample must be one-dimensional, got shape {arr.shape}")
        return as_finite_matrix("sample", arr[:, None], min_rows=min_n)[:, 0]
    return as_finite_matrix("sample", arr[:, None] if arr.ndim == 1 else arr, min_rows=min_n)


def dkw_halfwidth(n: int, confidence: float = 0.95) -> float:
    """DKW half-width ``eps = sqrt(log(2/alpha) / (2n))``: ``P(sup|F_n - F| > eps) <= alpha``."""
    n = check_int("n", n, low=1)
    confidence = check_real(
        "confidence", confidence, low=0.0, high=1.0, low_open=True, high_open=True
    )
    return math.sqrt(math.log(2.0 / (1.0 - confidence)) / (2.0 * n))


def ks_statistic(x: np.ndarray, cdf: Callable[[np.ndarray], np.ndarray]) -> float:
    """``sup_t |F_n(t) - F(t)|`` for a continuous reference CDF ``F`` (vectorised, O(n log n))."""
    xs = np.sort(_as_sample(x, min_n=1, ndim=1))
    n = xs.size
    f = np.asarray(cdf(xs), dtype=float)
    i = np.arange(1, n + 1)
    return float(max(np.max(i / n - f), np.max(f - (i - 1) / n)))


def ks_distance(
    x: np.ndarray,
    cdf: Callable[[np.ndarray], np.ndarray] = special.ndtr,
    *,
    confidence: float = 0.95,
) -> Estimate:
    """Kolmogorov distance between the sampled law and ``cdf`` (default ``N(0, 1)``).

    The point estimate is the empirical KS statistic ``D_n``. Since
    ``|D_n - D| <= sup|F_n - F_true|``, the DKW inequality gives the interval
    ``[max(0, D_n - eps), D_n + eps]`` with coverage at least ``confidence`` for the true
    distance ``D``, whatever the law (it is conservative, never anti-conservative).
    """
    x = _as_sample(x, ndim=1)
    d_n = ks_statistic(x, cdf)
    eps = dkw_halfwidth(x.size, confidence)
    return Estimate(d_n, None, max(0.0, d_n - eps), d_n + eps, x.size, confidence, "DKW")


def tv_estimate(y: np.ndarray, d: int, *, confidence: float = 0.95) -> Estimate:
    """Unbiased estimate of ``TV(sqrt(d) U_{1..k}, N(0, I_k))`` from samples ``y`` of the left law.

    ``TV = E_Y[(1 - phi_k(Y)/f_Y(Y))_+]`` (Scheffe), averaged over the sample with a CLT interval.
    It checks a sampler against the exact law of :mod:`simulator.sphere.laws`; ``k`` is
    ``y.shape[1]``.
    """
    y = _as_sample(y, ndim=2)
    d, k = check_dimensions(d, y.shape[1])
    ell = log_density_ratio(np.sum(y * y, axis=1), d, k)
    values = np.maximum(0.0, -np.expm1(-ell))
    return normal_estimate(values, confidence=confidence, method="normal (Scheffe identity)")


def kl_estimate(y: np.ndarray, d: int, *, confidence: float = 0.95) -> Estimate:
    """Unbiased estimate of ``KL(sqrt(d) U_{1..k} || N(0, I_k)) = E_Y log(f_Y/phi_k)(Y)``."""
    y = _as_sample(y, ndim=2)
    d, k = check_dimensions(d, y.shape[1])
    ell = log_density_ratio(np.sum(y * y, axis=1), d, k)
    return normal_estimate(ell, confidence=confidence, method="normal (log-ratio mean)")


def _mean_abs_to_gaussian(x: np.ndarray, k: int) -> np.ndarray:
    """``E|x - Z|``, ``Z ~ N(0, I_k)``: ``sqrt(2) G((k+1)/2) / G(k/2) 1F1(-1/2; k/2; -|x|^2/2)``."""
    c = math.sqrt(2.0) * math.exp(special.gammaln((k + 1) / 2.0) - special.gammaln(k / 2.0))
    return c * special.hyp1f1(-0.5, k / 2.0, -0.5 * np.sum(x * x, axis=1))


def energy_distance_gaussian(
    y: np.ndarray, *, n_batches: int = 10, max_batch: int = 2000, confidence: float = 0.95
) -> Estimate:
    """Energy distance ``2E|X-Z| - E|X-X'| - E|Z-Z'|`` of the sampled law to ``N(0, I_k)``.

    ``g(x) = E|x - Z|`` is used in closed form. The sample is split into independent batches of at
    most ``max_batch`` points (at least ``n_batches`` of them); each batch gives the unbiased
    U-statistic ``2 mean g(X) - mean_{i<j} |X_i - X_j| - E|Z-Z'|``, and the interval is a
    t-interval over the batch values, which are iid. Near the Gaussian the U-statistic is
    degenerate, so its error shrinks like 1/m in the batch size m rather than 1/sqrt(m): this is
    what gives the test its power (Szekely & Rizzo 2013). Zero iff the law is ``N(0, I_k)``.
    """
    from scipy.spatial.distance import pdist

    y = _as_sample(y, min_n=4, ndim=2)
    n_batches = check_int("n_batches", n_batches, low=2)
    max_batch = check_int("max_batch", max_batch, low=2)
    n, k = y.shape
    batches = max(n_batches, -(-n // max_batch))
    if n < 2 * batches:
        raise ValueError(f"energy distance needs at least 2 points per batch: n >= {2 * batches}")
    ezz = 2.0 * math.exp(special.gammaln((k + 1) / 2.0) - special.gammaln(k / 2.0))
    values = [
        2.0 * float(np.mean(_mean_abs_to_gaussian(part, k))) - float(np.mean(pdist(part))) - ezz
        for part in np.array_split(y, batches)
    ]
    mean = float(np.mean(values))
    se = float(np.std(values, ddof=1) / math.sqrt(batches))
    t = float(stats.t.ppf(0.5 + confidence / 2, batches - 1))
    return Estimate(
        mean,
        se,
        mean - t * se,
        mean + t * se,
        n,
        confidence,
        f"t-interval over {batches} batch U-statistics",
    )


def sliced_ks(
    y: np.ndarray,
    *,
    n_directions: int = 32,
    scale: float = 1.0,
    rng: RNGLike = None,
    confidence: float = 0.95,
) -> Estimate:
    """Largest Kolmogorov distance to ``N(0, scale^2)`` over random one-dimensional projections.

    Cramer-Wold: a law on R^k is ``N(0, scale^2 I_k)`` iff every projection ``w.Y`` is
    ``N(0, scale^2)``. Directions are the columns of a Haar-random orthonormal frame when
    ``n_directions <= k``, otherwise independent uniform directions. The interval is the DKW band
    with a union bound over the directions, so it covers the maximum over these directions with
    probability at least ``confidence``.
    """
    y = _as_sample(y, ndim=2)
    n_directions = check_int("n_directions", n_directions, low=1)
    scale = check_real("scale", scale, low=0.0, low_open=True)
    gen = normalize_rng(rng)
    n, k = y.shape
    dirs = np.ones((1, 1)) if k == 1 else random_directions(k, n_directions, rng=gen)
    proj = y @ dirs
    stats_ = [ks_statistic(proj[:, j] / scale, special.ndtr) for j in range(proj.shape[1])]
    worst = max(stats_)
    alpha = (1.0 - confidence) / proj.shape[1]
    eps = dkw_halfwidth(n, 1.0 - alpha)
    return Estimate(
        worst,
        None,
        max(0.0, worst - eps),
        worst + eps,
        n,
        confidence,
        f"DKW + union bound over {proj.shape[1]} directions",
        seed_entropy(gen),
    )


@dataclass(frozen=True)
class SlopeFit:
    """Least-squares slope of ``log y`` on ``log x`` with a t-interval.

    Attributes
    ----------
    slope : float
        Fitted power of ``x``.
    ci_low, ci_high : float
        Student-t interval at level ``confidence`` from the residuals.
    n_points : int
        Number of fitted points.
    confidence : float
        Nominal level of the interval.
    """

    slope: float
    ci_low: float
    ci_high: float
    n_points: int
    confidence: float


def loglog_slope(x: ArrayLike, y: ArrayLike, confidence: float = 0.95) -> SlopeFit:
    """OLS slope of ``log y`` on ``log x`` with a t-interval from the residuals.

    Used to read the rates of Theorem 2 (``TV = O(k/d)``, Eq. 49) and Prop. 2 off exact curves.
    When ``y`` is exact the interval measures the curvature of the log-log curve over the fitted
    range (how far the finite-``d`` curve is from a pure power law), not sampling noise.

    Parameters
    ----------
    x, y : array_like (m,)
        Positive, finite abscissae (at least two distinct) and values; ``m >= 3`` so that the
        residuals leave a degree of freedom for the interval.
    confidence : float
        Level of the interval, in (0, 1).
    """
    lx = np.log(_positive_vector("x", x))
    ly = np.log(_positive_vector("y", y))
    if lx.size != ly.size or lx.size < 3:
        raise ValueError(
            f"x and y need the same length m >= 3 (one residual degree of freedom), got "
            f"{lx.size} and {ly.size}"
        )
    if np.ptp(lx) == 0:
        raise ValueError("x must hold at least two distinct values")
    confidence = check_real(
        "confidence", confidence, low=0.0, high=1.0, low_open=True, high_open=True
    )
    fit = stats.linregress(lx, ly)
    t = stats.t.ppf(0.5 + confidence / 2, lx.size - 2)
    return SlopeFit(
        float(fit.slope),
        float(fit.slope - t * fit.stderr),
        float(fit.slope + t * fit.stderr),
        int(lx.size),
        confidence,
    )


def _positive_vector(name: str, values: ArrayLike) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1 or not np.all(np.isfinite(arr)) or not np.all(arr > 0):
        raise ValueError(f"{name} must be a 1-D array of finite values > 0")
    return arr


def kolmogorov_between(
    cdf_a: Callable[[np.ndarray], np.ndarray],
    cdf_b: Callable[[np.ndarray], np.ndarray],
    grid: ArrayLike,
    a_on_grid: ArrayLike | None = None,
) -> float:
    """Kolmogorov distance ``sup_x |F_a(x) - F_b(x)|`` between two CDFs, searched on a grid.

    The largest gap on ``grid`` is refined by a bounded one-dimensional search between the
    neighbours of the grid's argmax. The value is a lower bound on the supremum and equals it when
    the gap is unimodal near the grid's argmax and both tails beyond the grid are smaller (the
    caller chooses a grid covering the bulk of both laws).

    Parameters
    ----------
    cdf_a, cdf_b : callable
        Vectorised CDFs mapping a 1-D array of points to a 1-D array.
    grid : array_like (m,)
        Strictly increasing finite points, ``m >= 2``.
    a_on_grid : array_like (m,), optional
        ``cdf_a(grid)`` when the caller already has it (shared between comparisons).
    """
    grid = np.asarray(grid, dtype=float)
    if grid.ndim != 1 or grid.size < 2 or not np.all(np.isfinite(grid)):
        raise ValueError("grid must be a 1-D array of at least 2 finite points")
    if not np.all(np.diff(grid) > 0):
        raise ValueError("grid must be strictly increasing")
    a_on_grid = cdf_a(grid) if a_on_grid is None else np.asarray(a_on_grid, dtype=float)
    if a_on_grid.shape != grid.shape:
        raise ValueError(
            f"a_on_grid must have the grid's shape {grid.shape} (mismatched shapes), got "
            f"{a_on_grid.shape}"
        )
    gap = np.abs(a_on_grid - cdf_b(grid))
    i = int(np.argmax(gap))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]

    def neg_gap(x: float) -> float:
        point = np.array([x])
        return -abs(float(cdf_a(point)[0] - cdf_b(point)[0]))

    best = optimize.minimize_scalar(
        neg_gap, bounds=(lo, hi), method="bounded", options={"xatol": 1e-9 * (grid[-1] - grid[0])}
    )
    return max(float(gap[i]), -float(best.fun))
