"""Evidence beyond the paper's per-coordinate tests, each with its null law.

* Uniformity of the directions ``u = z / ||z||`` on S^{d-1} (the law sigma that Lemma 2 and
  Corollary 1 single out): the Rayleigh test (first moment), the Bingham test (second moment),
  both with their asymptotic chi-square laws (Mardia & Jupp 2000, Secs. 10.4.1 and 10.7.1), and
  Gine's Sobolev-class test ``G_n`` (Gine 1975; form of Garcia-Portugues & Verdebout 2018, Sec. 2)
  with an exact Monte Carlo p-value under sigma.
* Mardia's multivariate skewness and kurtosis (Mardia 1970) on a random k-dimensional projection
  (a Gaussian law has Gaussian projections of every dimension).
* Sliced Gaussianity (Cramer-Wold): the paper's AD and DP tests on random one-dimensional
  projections.
* Negative-pair cosine similarities against their exact null law: for independent uniform
  ``u, v`` on S^{d-1}, ``sqrt(d) u.v`` has the law of ``sqrt(d) U_1`` (rotation invariance;
  density proportional to ``(1 - t^2)^{(d-3)/2}``, theory.md section 4), whose CDF is
  :func:`simulator.sphere.laws.cdf_1d`.
* PCA and ZCA whitening (paper Figs. 9-10).

All functions take host arrays (they sit at the CPU boundary: SciPy distributions supply the
p-values) and return small frozen result objects; nothing is printed or written.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy import special, stats

from simulator.backend import RNGLike, normalize_rng, to_host
from simulator.gaussianity.metrics import (
    AD_CRITICAL_5,
    DP_ALPHA,
    MIN_ROWS_DP,
    GaussianityMetrics,
    aggregate,
    anderson_normal,
    dagostino_pearson_pvalue,
)
from simulator.sphere.laws import cdf_1d
from simulator.sphere.sampling import random_directions, random_frame, uniform_sphere
from simulator.validation import as_finite_matrix, check_int, check_real, row_norms

WHITENING = ("pca", "zca")


@dataclass(frozen=True)
class TestResult:
    """One hypothesis test: statistic, p-value, the null it refers to and how p was obtained."""

    name: str
    statistic: float
    p_value: float
    null: str
    method: str
    n: int
    d: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _matrix(x: Any, name: str = "x", *, min_rows: int = 2) -> np.ndarray:
    return as_finite_matrix(name, x, min_rows=min_rows, min_cols=2)


def unit_rows(x: Any) -> np.ndarray:
    """Rows scaled to unit norm; ValueError naming the zero-norm rows, which have no direction."""
    x = _matrix(x)
    norms = row_norms(x)
    zero = np.flatnonzero(norms == 0)
    if zero.size:
        raise ValueError(
            f"{zero.size} row(s) have zero norm (first at index {zero[0]}); they have no direction"
        )
    return x / norms[:, None]


def rayleigh_from_mean(mean: np.ndarray, n: int) -> TestResult:
    """Rayleigh test from the sample mean of ``n`` unit vectors: ``d n ||mean||^2 ~ chi^2_d``."""
    mean = np.asarray(mean, dtype=np.float64).ravel()
    if mean.size < 2 or not np.all(np.isfinite(mean)):
        raise ValueError(f"mean must be a finite vector of length d >= 2, got shape {mean.shape}")
    n = check_int("n", n, low=1)
    d = mean.size
    stat = float(d * n * np.dot(mean, mean))
    return TestResult(
        "Rayleigh",
        stat,
        float(stats.chi2.sf(stat, d)),
        "uniform on S^{d-1}",
        f"asymptotic chi^2_{d}",
        n,
        d,
    )


def rayleigh_test(u: Any) -> TestResult:
    """Rayleigh test of uniformity of unit vectors (Mardia & Jupp 2000, Sec. 10.4.1).

    Sensitive to a nonzero mean direction ``m(mu)`` (Prop. 1's ``||m||^2`` term).
    """
    u = unit_rows(u)
    return rayleigh_from_mean(u.mean(axis=0), u.shape[0])


def bingham_from_scatter(scatter: np.ndarray, n: int) -> TestResult:
    """Bingham test from ``T = (1/n) sum u_i u_i^T``:
    ``n d (d + 2)/2 (tr T^2 - 1/d) ~ chi^2_{(d-1)(d+2)/2}``."""
    t = np.asarray(scatter, dtype=np.float64)
    if t.ndim != 2 or t.shape[0] != t.shape[1] or t.shape[0] < 2 or not np.all(np.isfinite(t)):
        raise ValueError(f"scatter must be a finite (d, d) matrix with d >= 2, got shape {t.shape}")
    return _bingham(float(np.sum(t * t)), check_int("n", n, low=1), t.shape[0])


def _bingham(tr_t2: float, n: int, d: int) -> TestResult:
    """The Bingham statistic and its asymptotic p-value from ``tr T^2``."""
    stat = float(n * d * (d + 2) / 2.0 * (tr_t2 - 1.0 / d))
    df = (d - 1) * (d + 2) / 2.0
    return TestResult(
        "Bingham",
        stat,
        float(stats.chi2.sf(stat, df)),
        "uniform on S^{d-1}",
        f"asymptotic chi^2_{df:g}",
        n,
        d,
    )


def bingham_from_gram(gram: np.ndarray, d: int) -> TestResult:
    """Bingham test from the Gram matrix ``G = U U^T`` of ``n`` unit rows in R^d.

    ``tr T^2 = ||U^T U||_F^2 / n^2 = ||U U^T||_F^2 / n^2`` (the two products share their nonzero
    singular values), so the statistic of :func:`bingham_from_scatter` costs ``O(n^2)`` memory
    instead of ``O(d^2)``: the route for wide data (``d > n``).
    """
    g = np.asarray(gram, dtype=np.float64)
    if g.ndim != 2 or g.shape[0] != g.shape[1] or g.shape[0] < 1 or not np.all(np.isfinite(g)):
        raise ValueError(f"gram must be a finite (n, n) matrix with n >= 1, got shape {g.shape}")
    d = check_int("d", d, low=2)
    n = g.shape[0]
    return _bingham(float(np.sum(g * g)) / n**2, n, d)


def bingham_test(u: Any) -> TestResult:
    """Bingham test of uniformity (Mardia & Jupp 2000, Sec. 10.7.1): sensitive to anisotropy
    of the second moment (e.g. axial clustering), which the Rayleigh test cannot see."""
    u = unit_rows(u)
    return bingham_from_scatter(u.T @ u / u.shape[0], u.shape[0])


def _gine_statistic(u: np.ndarray) -> float:
    return _gine_from_gram(u @ u.T, u.shape[1])


def _gine_from_gram(gram: np.ndarray, d: int) -> float:
    n = gram.shape[0]
    g = np.clip(gram, -1.0, 1.0)
    sin_psi = np.sqrt(1.0 - g * g)
    pair_sum = (sin_psi.sum() - np.trace(sin_psi)) / 2.0
    log_ratio = special.gammaln((d - 1) / 2.0) - special.gammaln(d / 2.0)
    return float(n / 2.0 - (d - 1) / (2.0 * n) * math.exp(2.0 * log_ratio) * pair_sum)


def uniform_gram(m: int, d: int, *, rng: RNGLike = None) -> np.ndarray:
    """The Gram matrix ``U U^T`` of ``m`` independent uniform points on S^{d-1}, exactly.

    For ``d > m`` it is drawn in ``O(m^3)`` instead of ``O(m^2 d)``: ``Z Z^T`` of an ``(m, d)``
    standard Gaussian matrix is Wishart ``W_m(d, I)``, drawn by Bartlett's decomposition
    ``A A^T`` (``A`` lower triangular, ``A_ii^2 ~ chi^2_{d-i+1}``, ``A_ij ~ N(0, 1)`` below the
    diagonal; Bartlett 1933, Anderson 2003, Cor. 7.2.1), and normalising rows of ``Z`` divides
    ``Z Z^T`` by ``sqrt(W_ii W_jj)``. For ``d <= m`` it is ``U U^T`` of sampled points.
    """
    m = check_int("m", m, low=1)
    d = check_int("d", d, low=2)
    gen = normalize_rng(rng)
    if d <= m:
        u = uniform_sphere(m, d, rng=gen)
        return u @ u.T
    a = np.tril(gen.standard_normal((m, m)), k=-1)
    a[np.diag_indices(m)] = np.sqrt(gen.chisquare(d - np.arange(m)))
    w = a @ a.T
    scale = 1.0 / np.sqrt(np.diag(w))
    return w * scale[:, None] * scale[None, :]


#: Work budget (multiply-adds) of the default Gine Monte Carlo: the draws get at least 99
#: and at most 999 samples, fewer when one sample costs more.
GINE_MC_BUDGET = 4e9


def gine_default_mc(m: int, d: int) -> int:
    """Monte Carlo samples of :func:`gine_test` by default: 999 (p down to 0.001) when
    ``n_mc * m^2 * min(m, d)`` fits :data:`GINE_MC_BUDGET`, never fewer than 99."""
    per_draw = float(m) ** 2 * min(m, d)
    return int(min(999, max(99, GINE_MC_BUDGET // max(per_draw, 1.0))))


def gine_test(
    u: Any, *, max_rows: int = 400, n_mc: int | None = None, rng: RNGLike = None
) -> TestResult:
    """Gine's Sobolev test of uniformity (Gine 1975), with a Monte Carlo p-value.

    ``G_n = n/2 - (d-1)/(2n) (Gamma((d-1)/2)/Gamma(d/2))^2 sum_{i<j} sin(psi_ij)``, where
    ``psi_ij`` is the angle between ``u_i`` and ``u_j``; ``E G_n = 1/2`` under sigma, large
    values reject. Consistent against every alternative symmetric or not that has a nonzero
    even-degree harmonic component. Cost ``O(m^2 d)`` with ``m = min(n, max_rows)`` rows drawn
    without replacement; the p-value ``(1 + #{G_b >= G_n}) / (n_mc + 1)`` compares with
    ``n_mc`` exact uniform samples of the same ``(m, d)`` (their Gram matrices drawn by
    :func:`uniform_gram`), so it is never below ``1 / (n_mc + 1)``, which the method text says.
    ``n_mc`` defaults to :func:`gine_default_mc`.
    """
    u = unit_rows(u)
    max_rows = check_int("max_rows", max_rows, low=3)
    gen = normalize_rng(rng)
    n, d = u.shape
    m = min(n, max_rows)
    n_mc = gine_default_mc(m, d) if n_mc is None else check_int("n_mc", n_mc, low=1)
    if n > max_rows:
        u = u[np.sort(gen.choice(n, size=max_rows, replace=False))]
    return _gine_result(_gine_statistic(u), m, n, d, n_mc, gen)


def gine_from_gram(
    gram: Any, d: int, *, n_mc: int | None = None, rng: RNGLike = None
) -> TestResult:
    """:func:`gine_test` of ``m`` unit rows in R^d from their Gram matrix ``G = U U^T``.

    The statistic depends on the rows only through their angles, so wide data (``d > m``) need
    ``O(m^2)`` memory instead of the ``O(m d)`` rows; the Monte Carlo p-value is drawn exactly as
    in :func:`gine_test` (same ``rng`` stream for the same ``m``, ``d`` and ``n_mc``). Every row
    of ``gram`` is used (subsample before calling).
    """
    g = np.asarray(gram, dtype=np.float64)
    if g.ndim != 2 or g.shape[0] != g.shape[1] or g.shape[0] < 3 or not np.all(np.isfinite(g)):
        raise ValueError(f"gram must be a finite (m, m) matrix with m >= 3, got shape {g.shape}")
    d = check_int("d", d, low=2)
    m = g.shape[0]
    n_mc = gine_default_mc(m, d) if n_mc is None else check_int("n_mc", n_mc, low=1)
    return _gine_result(_gine_from_gram(g, d), m, m, d, n_mc, normalize_rng(rng))


def _gine_result(
    stat: float, m: int, n: int, d: int, n_mc: int, gen: np.random.Generator
) -> TestResult:
    """Gine's statistic of ``m`` of ``n`` rows against ``n_mc`` exact uniform samples."""
    null = np.array([_gine_from_gram(uniform_gram(m, d, rng=c), d) for c in gen.spawn(n_mc)])
    p = (1.0 + np.count_nonzero(null >= stat)) / (n_mc + 1.0)
    return TestResult(
        "Gine G_n",
        stat,
        float(p),
        "uniform on S^{d-1}",
        f"Monte Carlo ({n_mc} exact uniform samples of {m} of {n} rows; smallest attainable "
        f"p = {1.0 / (n_mc + 1.0):.2g})",
        m,
        d,
    )


@dataclass(frozen=True)
class MardiaResult:
    """Mardia's multivariate skewness and kurtosis tests on a ``k``-dimensional projection."""

    skewness: TestResult
    kurtosis: TestResult
    b1: float
    b2: float
    k: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "skewness": self.skewness.to_dict(),
            "kurtosis": self.kurtosis.to_dict(),
            "b1": self.b1,
            "b2": self.b2,
            "k": self.k,
        }


def mardia_test(x: Any, *, k: int = 8, rng: RNGLike = None) -> MardiaResult:
    """Mardia (1970) tests of multivariate normality on a random ``k``-dimensional projection.

    The data are projected on a Haar-random orthonormal k-frame (all ``d`` coordinates when
    ``d <= k``), centred and whitened with the ``1/n`` sample covariance. Then
    ``b1 = (1/n^2) sum_{ij} (y_i.y_j)^3`` is computed as the squared norm of the third-moment
    tensor (``O(n k^3)``, not ``O(n^2 k)``) and ``b2 = (1/n) sum ||y_i||^4``. Asymptotic laws:
    ``n b1 / 6 ~ chi^2_{k(k+1)(k+2)/6}`` and ``(b2 - k(k+2)) / sqrt(8 k (k+2) / n) ~ N(0, 1)``;
    they need ``n`` well above ``k^3 / 6`` for the skewness test.
    """
    x = _matrix(x, min_rows=3)
    k = check_int("k", k, low=1)
    gen = normalize_rng(rng)
    n, d = x.shape
    if d > k:
        x = x @ random_frame(d, k, rng=gen)
    k = x.shape[1]
    b1, b2 = _mardia_moments(x)
    df = k * (k + 1) * (k + 2) / 6.0
    skew_stat = n * b1 / 6.0
    z = (b2 - k * (k + 2)) / math.sqrt(8.0 * k * (k + 2) / n)
    skew = TestResult(
        "Mardia skewness",
        skew_stat,
        float(stats.chi2.sf(skew_stat, df)),
        "multivariate normal",
        f"asymptotic chi^2_{df:g}",
        n,
        k,
    )
    kurt = TestResult(
        "Mardia kurtosis",
        float(z),
        float(2.0 * special.ndtr(-abs(z))),
        "multivariate normal",
        "asymptotic N(0, 1), two-sided",
        n,
        k,
    )
    return MardiaResult(skew, kurt, b1, b2, k)


def _mardia_moments(x: np.ndarray) -> tuple[float, float]:
    """Mardia's ``b1`` and ``b2`` of an ``(n, k)`` sample (affine invariant)."""
    n, k = x.shape
    y = x - x.mean(axis=0)
    cov = y.T @ y / n
    evals, evecs = np.linalg.eigh(cov)
    if evals[0] <= 1e-12 * max(evals[-1], 0.0) or evals[-1] <= 0:
        raise ValueError("Mardia's tests need a nonsingular covariance of the projected data")
    y = y @ (evecs / np.sqrt(evals))
    outer = (y[:, :, None] * y[:, None, :]).reshape(n, k * k)
    third = outer.T @ y / n
    b1 = float(np.sum(third * third))
    b2 = float(np.mean(np.einsum("ij,ij->i", y, y) ** 2))
    return b1, b2


def mardia_sphere_test(x: Any, d: int, *, n_mc: int = 99, rng: RNGLike = None) -> MardiaResult:
    """Mardia's statistics of unit directions, calibrated against uniform directions.

    ``x`` holds ``k`` linear projections (linearly independent) of ``n`` unit vectors of R^d,
    or all their ``d`` coordinates. Exactly uniform directions fail the normal-theory tests of
    :func:`mardia_test` (their kurtosis lies below the Gaussian one by construction), so the
    p-values here come from ``n_mc`` Monte Carlo samples of uniform directions at the same
    ``(n, d, k)``: ``k`` coordinates by :func:`simulator.sphere.sampling.exact_marginal_sample`
    (Mardia's statistics are affine invariant, so any linearly independent projections have the
    law of the first ``k`` coordinates), all ``d`` by :func:`uniform_sphere`. Skewness is
    one-sided (``(1 + #{b1_mc >= b1}) / (n_mc + 1)``), kurtosis two-sided (twice the smaller
    tail, at most 1); neither is below ``1 / (n_mc + 1)``.
    """
    from simulator.sphere.sampling import exact_marginal_sample

    x = _matrix(x, min_rows=3)
    n, k = x.shape
    d = check_int("d", d, low=max(2, k))
    n_mc = check_int("n_mc", n_mc, low=1)
    gen = normalize_rng(rng)
    b1, b2 = _mardia_moments(x)
    null = np.array(
        [
            _mardia_moments(
                uniform_sphere(n, d, rng=c) if k == d else exact_marginal_sample(n, d, k, rng=c)
            )
            for c in gen.spawn(n_mc)
        ]
    )
    p_skew = (1.0 + np.count_nonzero(null[:, 0] >= b1)) / (n_mc + 1.0)
    upper = (1.0 + np.count_nonzero(null[:, 1] >= b2)) / (n_mc + 1.0)
    lower = (1.0 + np.count_nonzero(null[:, 1] <= b2)) / (n_mc + 1.0)
    method = (
        f"Monte Carlo ({n_mc} samples of uniform directions at n = {n}, d = {d}, k = {k}; "
        f"smallest attainable p = {1.0 / (n_mc + 1.0):.2g})"
    )
    null_name = "uniform directions on S^{d-1}"
    skew = TestResult("Mardia skewness", n * b1 / 6.0, float(p_skew), null_name, method, n, k)
    kurt = TestResult(
        "Mardia kurtosis", b2, float(min(1.0, 2.0 * min(upper, lower))), null_name, method, n, k
    )
    return MardiaResult(skew, kurt, b1, b2, k)


def sliced_gaussianity(
    x: Any,
    *,
    n_directions: int = 32,
    rng: RNGLike = None,
    ad_critical: float = AD_CRITICAL_5,
    dp_alpha: float = DP_ALPHA,
) -> GaussianityMetrics:
    """The paper's AD and DP metrics on random one-dimensional projections (Cramer-Wold).

    A law on R^d is Gaussian iff every projection ``w.z`` is; with Gaussian data each projection
    passes with the same probability as a Gaussian coordinate, so the coordinate nulls of
    :mod:`simulator.gaussianity.nulls` apply unchanged (and, for unit rows, ``sqrt(d) w.u`` has the
    exact
    law of ``sqrt(d) U_1``: the ``sphere`` null).
    """
    x = _matrix(x, min_rows=MIN_ROWS_DP)
    proj = (x @ random_directions(x.shape[1], n_directions, rng=rng)).T
    return aggregate(
        anderson_normal(proj, axis=-1),
        dagostino_pearson_pvalue(proj, axis=-1),
        n=x.shape[0],
        ad_critical=ad_critical,
        dp_alpha=dp_alpha,
    )


@dataclass(frozen=True)
class CosineResult:
    """Cosine similarities of disjoint random pairs of rows against the exact null law.

    ``scaled_sd`` is ``sqrt(d)`` times the sample standard deviation of the cosines (1 under
    the null, since ``E (u.v)^2 = 1/d``); ``ks`` is the Kolmogorov-Smirnov test of
    ``sqrt(d) cos`` against :func:`simulator.sphere.laws.cdf_1d`. Disjoint pairs are at most
    ``n / 2``, which limits the test's power: ``ks_resolution`` is the exact 5% critical value
    of the KS statistic for ``n_pairs`` pairs (Kolmogorov distances below it are never
    detected at that level).
    """

    n_pairs: int
    d: int
    mean: float
    scaled_sd: float
    ks: TestResult
    cosines: np.ndarray = field(repr=False, compare=False)

    @property
    def ks_resolution(self) -> float:
        return float(stats.kstwo.ppf(0.95, self.n_pairs))

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_pairs": self.n_pairs,
            "d": self.d,
            "mean": self.mean,
            "scaled_sd": self.scaled_sd,
            "ks": self.ks.to_dict(),
            "ks_resolution": self.ks_resolution,
        }


def pair_indices(n: int, max_pairs: int, *, rng: RNGLike = None) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint random pairs ``(i, j)``, ``i != j``, so that pairs are mutually independent."""
    n = check_int("n", n, low=2)
    max_pairs = check_int("max_pairs", max_pairs, low=1)
    perm = normalize_rng(rng).permutation(n)
    m = min(max_pairs, n // 2)
    return perm[:m], perm[m : 2 * m]


def cosines_against_null(cosines: Any, d: int) -> CosineResult:
    """Compare independent cosine similarities in dimension ``d`` with their exact null law."""
    c = np.asarray(to_host(cosines), dtype=np.float64).ravel()
    d = check_int("d", d, low=2)
    if c.size < 2:
        raise ValueError(f"need at least 2 cosine similarities, got {c.size}")
    if not np.all(np.isfinite(c)):
        raise ValueError("cosine similarities must be finite (a zero-norm row has no direction)")
    if np.max(np.abs(c)) > 1.0 + 1e-9:  # rounding of u.v / (|u||v|) stays far below 1e-9
        raise ValueError(f"cosine similarities must lie in [-1, 1], got {np.max(np.abs(c))!r}")
    scaled = math.sqrt(d) * c
    ks = stats.kstest(scaled, lambda t: cdf_1d(t, d))
    test = TestResult(
        "negative-pair cosine KS",
        float(ks.statistic),
        float(ks.pvalue),
        "sqrt(d) u.v of independent uniform u, v (law of sqrt(d) U_1)",
        "exact Kolmogorov-Smirnov distribution",
        int(c.size),
        d,
    )
    return CosineResult(int(c.size), d, float(c.mean()), float(scaled.std(ddof=1)), test, c)


def negative_pair_cosines(x: Any, *, max_pairs: int = 20_000, rng: RNGLike = None) -> CosineResult:
    """Cosine similarities of disjoint random pairs of rows ("negatives") vs the exact null law.

    Under sigma the pairs' cosines are iid with ``sqrt(d) u.v ~ sqrt(d) U_1`` (theory.md
    section 4); anisotropy or a nonzero mean direction shifts or widens them (paper Figs. 9-10).
    """
    x = _matrix(x)
    i, j = pair_indices(x.shape[0], max_pairs, rng=rng)
    a, b = unit_rows(x[i]), unit_rows(x[j])
    return cosines_against_null(np.einsum("ij,ij->i", a, b), x.shape[1])


@dataclass(frozen=True)
class Whitening:
    """An affine whitening map ``y = (x - mean) @ matrix`` with identity sample covariance.

    ``rank`` eigenvalues of the covariance exceed ``rtol`` times the largest; the others are
    dropped (PCA keeps ``rank`` output coordinates, ZCA maps onto their span). Wide data
    (``d > n``) is whitened through its Gram matrix instead, without a ``(d, d)`` map
    (:mod:`simulator.gaussianity.audit`).
    """

    method: str
    mean: np.ndarray
    matrix: np.ndarray
    rank: int

    @property
    def d_out(self) -> int:
        """Number of output coordinates."""
        return self.matrix.shape[1]

    def apply(self, x: Any) -> np.ndarray:
        return (np.asarray(x, dtype=np.float64) - self.mean) @ self.matrix

    def apply_columns(self, x: Any, j0: int, j1: int) -> np.ndarray:
        """Output coordinates ``j0:j1`` of ``apply(x)``, without forming the others."""
        return (np.asarray(x, dtype=np.float64) - self.mean) @ self.matrix[:, j0:j1]


def whitening_from_moments(
    mean: Any, cov: Any, method: str = "zca", *, rtol: float = 1e-10
) -> Whitening:
    """PCA or ZCA whitening from a mean vector and a covariance matrix (Kessy et al. 2018).

    PCA: ``V_r Lambda_r^{-1/2}`` (principal axes, decreasing variance); ZCA:
    ``V_r Lambda_r^{-1/2} V_r^T`` (the whitening closest to the identity, coordinates kept).
    """
    if method not in WHITENING:
        raise ValueError(f"whitening method must be one of {WHITENING}, got {method!r}")
    rtol = check_real("rtol", rtol, low=0.0, high=1.0, low_open=True)
    cov = np.asarray(cov, dtype=np.float64)
    mean = np.asarray(mean, dtype=np.float64).ravel()
    if cov.ndim != 2 or cov.shape != (mean.size, mean.size):
        raise ValueError(f"cov must have shape ({mean.size}, {mean.size}), got {cov.shape}")
    evals, evecs = np.linalg.eigh((cov + cov.T) / 2.0)
    order = np.argsort(evals)[::-1]
    evals, evecs = evals[order], evecs[:, order]
    if not evals[0] > 0:
        raise ValueError("cannot whiten: the covariance is zero (every coordinate is constant)")
    keep = evals > rtol * evals[0]
    v, lam = evecs[:, keep], evals[keep]
    pca = v / np.sqrt(lam)
    matrix = pca if method == "pca" else pca @ v.T
    return Whitening(method, mean, matrix, int(keep.sum()))


def whiten(x: Any, method: str = "zca", *, rtol: float = 1e-10) -> tuple[np.ndarray, Whitening]:
    """Whiten an in-memory matrix with its own sample mean and ``1/(n-1)`` covariance."""
    x = _matrix(x)
    mean = x.mean(axis=0)
    xc = x - mean
    w = whitening_from_moments(mean, xc.T @ xc / (x.shape[0] - 1), method, rtol=rtol)
    return xc @ w.matrix, w
