"""Calibrated null distributions of the paper's Gaussianity aggregates (beyond the paper).

The paper reads its metrics (Sec. 5, Tables 1-2) against fixed thresholds: ``A^2 < 0.752`` and
``p > 0.05`` per coordinate. Even exactly Gaussian coordinates pass each test only about 95% of
the time, and the exact marginal of a uniform point on S^{d-1} (the object of Lemma 3, Eq. 48)
is *not* Gaussian at finite ``d``: ``sqrt(d) U_1`` has excess kurtosis ``-6/(d+2)``
(theory.md section 4), which the tests detect with enough rows. This module measures, for given
``(n, d)``, what the aggregates look like under two exact nulls:

``gaussian``
    independent ``N(0, 1)`` coordinates (every affine image has the same AD/DP law, since both
    statistics are affine invariant per coordinate);
``sphere``
    coordinates of the uniform law on S^{d-1} scaled by ``sqrt(d)``, drawn exactly with
    :func:`simulator.sphere.sampling.exact_marginal_sample` (per coordinate) or
    :func:`simulator.sphere.sampling.uniform_sphere` (whole embeddings).

:func:`coordinate_null` estimates the per-coordinate pass probabilities and statistic moments
by Monte Carlo over independent columns; :func:`aggregate_null` draws whole ``(n, d)``
embeddings and returns the distribution of the four aggregates; :func:`compare_to_null` turns an
observed pass count into a p-value against a coordinate null.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import special, stats

from simulator.backend import RNGLike, normalize_rng, seed_entropy
from simulator.gaussianity.metrics import (
    AD_CRITICAL_5,
    DP_ALPHA,
    MIN_ROWS_DP,
    PassFraction,
    anderson_normal,
    dagostino_pearson_pvalue,
    pass_fraction,
)
from simulator.results import Estimate, normal_estimate
from simulator.sphere.sampling import exact_marginal_sample, uniform_sphere
from simulator.validation import check_int, check_real

NULL_LAWS = ("gaussian", "sphere")

#: Default Monte Carlo budget of :func:`coordinate_null`: columns * rows drawn per law.
DEFAULT_NULL_BUDGET = 20_000_000
#: Doubles per simulated block: bounds the working memory of a null (16 MiB per array).
NULL_BLOCK_ELEMENTS = 2**21
#: Doubles per slice of a simulated block on which the tests run (their temporaries: 512 KiB
#: per array); results do not depend on it.
NULL_TEST_ELEMENTS = 2**16


def _check_law(law: str) -> str:
    if law not in NULL_LAWS:
        raise ValueError(f"law must be one of {NULL_LAWS}, got {law!r}")
    return law


def draw_coordinates(n: int, d: int, columns: int, law: str, *, rng: RNGLike = None) -> np.ndarray:
    """``columns`` independent coordinates of ``n`` rows each under ``law``; shape ``(columns, n)``.

    For ``law = 'sphere'`` each entry is ``sqrt(d) U_1`` of an independent uniform point on
    S^{d-1} (exact, :func:`simulator.sphere.sampling.exact_marginal_sample`), so the columns are
    independent copies of one coordinate; within a real embedding the d coordinates of a point
    are weakly dependent (they share the constraint ``||u|| = 1``).
    """
    n = check_int("n", n, low=1)
    d = check_int("d", d, low=2)
    columns = check_int("columns", columns, low=1)
    _check_law(law)
    gen = normalize_rng(rng)
    if law == "gaussian":
        return gen.standard_normal((columns, n))
    u1 = exact_marginal_sample(n * columns, d, 1, rng=gen)
    return math.sqrt(d) * u1.reshape(columns, n)


@dataclass(frozen=True)
class CoordinateNull:
    """Monte Carlo null of one coordinate's AD statistic and DP p-value at ``n`` rows.

    Attributes
    ----------
    law : {'gaussian', 'sphere'}
    n, d : int
        Rows per coordinate and the sphere dimension (``d`` only matters for ``sphere``).
    columns : int
        Independent null coordinates simulated.
    ad_pass, dp_pass : PassFraction
        Estimated per-coordinate pass probabilities with Clopper-Pearson intervals.
    ad_mean, dp_mean : Estimate
        Mean AD statistic and mean DP p-value per coordinate, with CLT intervals.
    ad_sd, dp_sd : float
        Per-coordinate standard deviations (to scale averages over ``d`` coordinates).
    ad_quantiles : dict
        Quantiles 0.025, 0.5, 0.975 of the AD statistic (the null band of the audit plots).
    ad_values : ndarray
        The simulated AD statistics (for histograms; not serialised).
    """

    law: str
    n: int
    d: int
    columns: int
    ad_pass: PassFraction
    dp_pass: PassFraction
    ad_mean: Estimate
    dp_mean: Estimate
    ad_sd: float
    dp_sd: float
    ad_quantiles: dict[str, float]
    seed_entropy: Any = None
    ad_values: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        entropy = self.seed_entropy
        if isinstance(entropy, int) and entropy > 2**53:
            entropy = str(entropy)
        return {
            "law": self.law,
            "n": self.n,
            "d": self.d,
            "columns": self.columns,
            "ad_pass": self.ad_pass.to_dict(),
            "dp_pass": self.dp_pass.to_dict(),
            "ad_mean": self.ad_mean.to_dict(),
            "dp_mean": self.dp_mean.to_dict(),
            "ad_sd": self.ad_sd,
            "dp_sd": self.dp_sd,
            "ad_quantiles": self.ad_quantiles,
            "seed_entropy": entropy,
        }


def coordinate_null_memory_bytes(n: int, columns: int) -> int:
    """Upper bound of the memory :func:`coordinate_null` allocates for ``n`` rows and ``columns``.

    One block of ``min(columns, max(1, NULL_BLOCK_ELEMENTS // n))`` columns of ``n`` float64
    rows is alive at a time, with at most eight block-sized arrays (the draws and their scaled
    copy, the sorted copy, deviations and the log-CDF terms of the AD statistic, the moments of
    the DP test; five measured at ``n = 10^4``), plus four arrays of one value per column (the
    statistics and p-values, their blocks and the pass masks).
    """
    n = check_int("n", n, low=1)
    columns = check_int("columns", columns, low=1)
    block = n * min(columns, max(1, NULL_BLOCK_ELEMENTS // n))
    return 8 * (8 * block + 4 * columns)


def default_null_columns(n: int, budget: int = DEFAULT_NULL_BUDGET) -> int:
    """Null columns for ``n`` rows within ``budget`` draws, at least 200 and at most 20,000."""
    n = check_int("n", n, low=1)
    return int(min(20_000, max(200, budget // n)))


def coordinate_null(
    n: int,
    d: int,
    law: str,
    *,
    columns: int | None = None,
    rng: RNGLike = None,
    ad_critical: float = AD_CRITICAL_5,
    dp_alpha: float = DP_ALPHA,
) -> CoordinateNull:
    """Per-coordinate null of the paper's AD and DP metrics at ``n`` rows (Monte Carlo).

    Parameters
    ----------
    n : int
        Rows per coordinate, ``n >= 8`` (the DP test's minimum).
    d : int
        Sphere dimension for ``law = 'sphere'``, ``d >= 2`` (ignored by ``'gaussian'``, but
        still validated and recorded).
    law : {'gaussian', 'sphere'}
    columns : int, optional
        Independent coordinates to simulate (default :func:`default_null_columns`).
    rng : SPEC 7 seed
        Block ``i`` of ``max(1, NULL_BLOCK_ELEMENTS // n)`` columns draws from the ``i``-th
        spawned child (the block size is a function of ``n``, so the numbers depend only on the
        seed and the arguments).
    ad_critical, dp_alpha : float
        Pass rules (defaults: the paper's 0.752 and 0.05).

    Returns
    -------
    CoordinateNull
    """
    n = check_int("n", n, low=MIN_ROWS_DP)
    d = check_int("d", d, low=2)
    _check_law(law)
    columns = default_null_columns(n) if columns is None else check_int("columns", columns, low=2)
    chunk_columns = max(1, NULL_BLOCK_ELEMENTS // n)
    test_columns = max(1, NULL_TEST_ELEMENTS // n)
    ad_critical = check_real("ad_critical", ad_critical, low=0.0, low_open=True)
    dp_alpha = check_real("dp_alpha", dp_alpha, low=0.0, high=1.0, low_open=True, high_open=True)
    gen = normalize_rng(rng)
    n_chunks = -(-columns // chunk_columns)
    children = gen.spawn(n_chunks)
    ad_parts, p_parts = [], []
    for i, child in enumerate(children):
        m = min(chunk_columns, columns - i * chunk_columns)
        block = draw_coordinates(n, d, m, law, rng=child)
        # The statistics run on slices of the drawn block: each column's numbers do not depend
        # on its neighbours, and their temporaries (several block-sized arrays) stay small.
        for c in range(0, m, test_columns):
            ad_parts.append(anderson_normal(block[c : c + test_columns], axis=-1))
            p_parts.append(dagostino_pearson_pvalue(block[c : c + test_columns], axis=-1))
    ad = np.concatenate(ad_parts)
    p = np.concatenate(p_parts)
    q = np.quantile(ad, [0.025, 0.5, 0.975])
    entropy = seed_entropy(gen)
    return CoordinateNull(
        law=law,
        n=n,
        d=d,
        columns=columns,
        ad_pass=pass_fraction(ad < ad_critical),
        dp_pass=pass_fraction(p > dp_alpha),
        ad_mean=normal_estimate(ad, seed_entropy=entropy),
        dp_mean=normal_estimate(p, seed_entropy=entropy),
        ad_sd=float(ad.std(ddof=1)),
        dp_sd=float(p.std(ddof=1)),
        ad_quantiles={"0.025": float(q[0]), "0.5": float(q[1]), "0.975": float(q[2])},
        seed_entropy=entropy,
        ad_values=ad,
    )


@dataclass(frozen=True)
class NullComparison:
    """An observed pass count (or mean) set against a coordinate null.

    ``expected`` is the null's per-coordinate value; ``band`` the central 95% range of the
    observed quantity over ``total`` independent null coordinates; ``p_value`` a two-sided
    p-value (Fisher's exact test for counts, which carries the Monte Carlo uncertainty of the
    null; a z-test for means); ``consistent`` is ``p_value >= alpha``.
    """

    law: str
    observed: float
    expected: float
    band: tuple[float, float]
    p_value: float
    consistent: bool
    method: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "law": self.law,
            "observed": self.observed,
            "expected": self.expected,
            "band": list(self.band),
            "p_value": self.p_value,
            "consistent": self.consistent,
            "method": self.method,
        }


def compare_pass_fraction(
    observed: PassFraction, null: CoordinateNull, test: str, *, alpha: float = 0.05
) -> NullComparison:
    """Is an observed pass count over ``total`` coordinates consistent with ``null``?

    Treats coordinates as independent (exact for the Gaussian null; for the sphere the
    coordinates of one point are exchangeable with correlations of order ``1/d``).
    """
    if test not in ("ad", "dp"):
        raise ValueError(f"test must be 'ad' or 'dp', got {test!r}")
    ref = null.ad_pass if test == "ad" else null.dp_pass
    return compare_pass_counts(observed, ref, null.law, alpha=alpha)


def compare_pass_counts(
    observed: PassFraction, ref: PassFraction, law: str, *, alpha: float = 0.05
) -> NullComparison:
    """Fisher's exact test of an observed pass count against a null's pass count.

    ``ref`` holds the null's Monte Carlo passes; ``law`` names the null in the result.
    """
    alpha = check_real("alpha", alpha, low=0.0, high=1.0, low_open=True, high_open=True)
    table = [
        [observed.passed, observed.total - observed.passed],
        [ref.passed, ref.total - ref.passed],
    ]
    p_value = float(stats.fisher_exact(table).pvalue)
    p0 = ref.fraction
    band = (
        float(stats.binom.ppf(0.025, observed.total, p0)) / observed.total,
        float(stats.binom.ppf(0.975, observed.total, p0)) / observed.total,
    )
    return NullComparison(
        law,
        observed.fraction,
        p0,
        band,
        p_value,
        p_value >= alpha,
        "Fisher exact test (observed coordinates vs Monte Carlo null coordinates)",
    )


def compare_mean(
    observed_mean: float, total: int, null: CoordinateNull, test: str, *, alpha: float = 0.05
) -> NullComparison:
    """Is an observed average over ``total`` coordinates consistent with ``null``'s mean?

    z-test with variance ``sd^2 / total + se_null^2`` (independent coordinates assumed).
    """
    if test not in ("ad", "dp"):
        raise ValueError(f"test must be 'ad' or 'dp', got {test!r}")
    total = check_int("total", total, low=1)
    est = null.ad_mean if test == "ad" else null.dp_mean
    sd = null.ad_sd if test == "ad" else null.dp_sd
    se_obs = sd / math.sqrt(total)
    se = math.sqrt(se_obs**2 + (est.stderr or 0.0) ** 2)
    z = (observed_mean - est.value) / se
    p_value = float(2.0 * special.ndtr(-abs(z)))
    band = (est.value - 1.959963984540054 * se_obs, est.value + 1.959963984540054 * se_obs)
    return NullComparison(
        null.law,
        float(observed_mean),
        est.value,
        band,
        p_value,
        p_value >= alpha,
        "z-test (normal approximation of the average over coordinates)",
    )


@dataclass(frozen=True)
class AggregateNull:
    """Distribution of the four aggregates over whole ``(n, d)`` null embeddings.

    Arrays hold one value per replicate; ``summary()`` gives means and 2.5/97.5% quantiles.
    """

    law: str
    n: int
    d: int
    replicates: int
    ad_mean: np.ndarray
    ad_pass: np.ndarray
    dp_mean: np.ndarray
    dp_pass: np.ndarray

    def summary(self) -> dict[str, dict[str, float]]:
        out = {}
        for name in ("ad_mean", "ad_pass", "dp_mean", "dp_pass"):
            v = getattr(self, name)
            lo, hi = np.quantile(v, [0.025, 0.975])
            out[name] = {"mean": float(v.mean()), "q025": float(lo), "q975": float(hi)}
        return out


def aggregate_null(
    n: int,
    d: int,
    law: str,
    *,
    replicates: int,
    rng: RNGLike = None,
    ad_critical: float = AD_CRITICAL_5,
    dp_alpha: float = DP_ALPHA,
) -> AggregateNull:
    """Aggregates of whole null embeddings: ``n x d`` Gaussian, or ``sqrt(d)`` times ``n``
    uniform points on S^{d-1} (:func:`simulator.sphere.sampling.uniform_sphere`, exact joint law).

    Each replicate draws from its own spawned generator. Cost ``replicates * n * d``.
    """
    n = check_int("n", n, low=MIN_ROWS_DP)
    d = check_int("d", d, low=2)
    replicates = check_int("replicates", replicates, low=1)
    _check_law(law)
    ad_critical = check_real("ad_critical", ad_critical, low=0.0, low_open=True)
    dp_alpha = check_real("dp_alpha", dp_alpha, low=0.0, high=1.0, low_open=True, high_open=True)
    out = np.empty((4, replicates))
    for r, child in enumerate(normalize_rng(rng).spawn(replicates)):
        if law == "gaussian":
            z = child.standard_normal((d, n))
        else:
            z = math.sqrt(d) * uniform_sphere(n, d, rng=child).T
        ad = anderson_normal(z, axis=-1)
        p = dagostino_pearson_pvalue(z, axis=-1)
        out[:, r] = (ad.mean(), np.mean(ad < ad_critical), p.mean(), np.mean(p > dp_alpha))
    return AggregateNull(law, n, d, replicates, out[0], out[1], out[2], out[3])
