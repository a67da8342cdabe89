"""Shared Monte Carlo assertions of the test suite (issue 8, item 7).

Every statistical assertion of the suite goes through :func:`assert_within_se`,
:func:`assert_mean` or :func:`assert_coverage`, so the false-alarm rate of the whole suite is set
in one place. The suite makes at most :data:`MC_ASSERTION_BUDGET` Monte Carlo comparisons in one
session (slow tests included; ``conftest.py`` counts them and fails a session that exceeds the
budget, which would void the bound below). Bonferroni over that budget at a family-wise error rate
of :data:`FAMILY_WISE_ERROR` gives each comparison the two-sided level :data:`LEVEL`, and a
standard normal exceeds :data:`SE_MULTIPLIER` in absolute value with exactly that probability.
Most assertions use fixed seeds, so a pass is reproducible; the level says how unlucky a seed
would have to be to turn a correct estimator into a failing test.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

#: Probability that at least one Monte Carlo assertion of a session fails for a correct estimator.
FAMILY_WISE_ERROR = 1e-3
#: Most Monte Carlo comparisons (array elements count one each) a session may make.
MC_ASSERTION_BUDGET = 400
#: Per-comparison level (Bonferroni).
LEVEL = FAMILY_WISE_ERROR / MC_ASSERTION_BUDGET
#: Two-sided normal quantile at LEVEL: about 4.71 standard errors.
SE_MULTIPLIER = float(stats.norm.isf(LEVEL / 2))

_made = [0]


def assertions_made() -> int:
    """Monte Carlo comparisons made so far in this process."""
    return _made[0]


def _count(n: int) -> None:
    _made[0] += int(n)


def assert_within_se(estimate: Any, truth: Any, se: Any = None, *, atol: float = 0.0) -> None:
    """Assert ``|estimate - truth| <= SE_MULTIPLIER * se + atol`` (elementwise for arrays).

    ``estimate`` is a number or array with ``se`` given, or an object with ``value`` and
    ``stderr`` (an :class:`~simulator.results.Estimate`). ``atol`` is a stated numerical bound on
    a deterministic error (rounding, quadrature, a known bias), never a widened statistical margin.
    """
    if se is None:
        estimate, se = estimate.value, estimate.stderr
    est = np.asarray(estimate, dtype=float)
    err = np.abs(est - np.asarray(truth, dtype=float))
    allowed = SE_MULTIPLIER * np.asarray(se, dtype=float) + atol
    _count(np.broadcast(err, allowed).size)
    bad = ~(err <= allowed)
    if np.any(bad):
        z = err / np.maximum(np.asarray(se, dtype=float), np.finfo(float).tiny)
        raise AssertionError(
            f"{int(bad.sum())} estimate(s) off by more than {SE_MULTIPLIER:.2f} SE + {atol:g}: "
            f"largest |error| {float(np.max(err)):.3g} ({float(np.max(z)):.2f} SE)"
        )


def assert_mean(values: Any, truth: Any, *, axis: int | None = None, atol: float = 0.0) -> None:
    """Assert that the sample mean of iid ``values`` (along ``axis``) is within
    :data:`SE_MULTIPLIER` standard errors ``std(ddof=1) / sqrt(n)`` of ``truth``."""
    v = np.asarray(values, dtype=float)
    n = v.size if axis is None else v.shape[axis]
    se = v.std(axis=axis, ddof=1) / math.sqrt(n)
    assert_within_se(v.mean(axis=axis), truth, se, atol=atol)


def assert_coverage(hits: int, n: int, level: float, *, conservative: bool = False) -> None:
    """Assert that ``hits`` successes in ``n`` independent trials are consistent with the rate
    ``level`` by an exact binomial test at :data:`LEVEL`.

    Use it for the coverage of confidence intervals (``level`` = their nominal coverage) and for
    the size of tests (``hits`` = non-rejections, ``level`` = 1 - alpha). ``conservative=True``
    tests only for too few hits, for intervals or tests whose rate is a guaranteed bound (DKW).
    """
    alternative = "less" if conservative else "two-sided"
    _count(1)
    p = stats.binomtest(int(hits), int(n), level, alternative=alternative).pvalue
    if p < LEVEL:
        raise AssertionError(
            f"{hits}/{n} = {hits / n:.4f} is inconsistent with the rate {level} "
            f"({alternative} binomial p = {p:.3g} < {LEVEL:.3g})"
        )


def assert_not_rejected(p_value: float) -> None:
    """Assert that a goodness-of-fit test of a true null (KS, chi-square, ...) does not reject
    at :data:`LEVEL`."""
    _count(1)
    if not p_value >= LEVEL:
        raise AssertionError(f"test rejects a true null: p = {p_value:.3g} < {LEVEL:.3g}")


def assert_mean_vector(values: Any, truth: Any) -> None:
    """Assert that the mean of iid rows of ``values`` (n, p) equals the vector ``truth``, as one
    comparison: Hotelling's T^2 with the sample covariance, whose law under the null is
    ``p (n - 1) / (n - p) F(p, n - p)`` (exact for Gaussian rows, by the CLT otherwise)."""
    v = np.asarray(values, dtype=float)
    n, p = v.shape
    if n <= p:
        raise ValueError(f"need more rows than columns for Hotelling's T^2, got shape {v.shape}")
    diff = v.mean(axis=0) - np.asarray(truth, dtype=float)
    t2 = n * diff @ np.linalg.solve(np.cov(v, rowvar=False).reshape(p, p), diff)
    assert_not_rejected(float(stats.f.sf(t2 * (n - p) / (p * (n - 1)), p, n - p)))
