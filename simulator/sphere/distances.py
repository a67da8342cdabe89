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

import numpy as np
from scipy import special, stats

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
