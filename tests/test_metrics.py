"""The paper's Gaussianity metrics (Sec. 5, Eq. 20): against SciPy, calibration, invariances."""

from __future__ import annotations

import numpy as np
import pytest
from harness import assert_coverage
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from simulator.gaussianity.metrics import (
    AD_CRITICAL_5,
    MIN_ROWS_DP,
    aggregate,
    anderson_normal,
    anderson_normal_sorted,
    clopper_pearson,
    constant_columns,
    cv_of_norms,
    dagostino_pearson,
    gaussianity_metrics,
    pass_fraction,
)

SEEDS = st.integers(0, 2**63 - 1)


def _samples(kind: str, n: int, k: int, gen: np.random.Generator) -> np.ndarray:
    draws = {
        "normal": lambda: gen.standard_normal((n, k)),
        "student3": lambda: gen.standard_t(3, (n, k)),
        "exponential": lambda: gen.exponential(size=(n, k)),
        "uniform": lambda: gen.random((n, k)),
    }
    return 7.0 * draws[kind]() - 3.0


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert np.array_equal(a == 0, b == 0)  # p-values that underflow must underflow in both
    nz = b != 0
    return float(np.max(np.abs(a[nz] - b[nz]) / np.abs(b[nz]), initial=0.0))


@pytest.mark.parametrize("n", [8, 9, 20, 57, 1000, 5000])
@pytest.mark.parametrize("kind", ["normal", "student3", "exponential", "uniform"])
def test_anderson_matches_scipy(n: int, kind: str) -> None:
    x = _samples(kind, n, 12, np.random.default_rng(n))
    ours = anderson_normal(x)
    # method= only adds a p-value; the statistic is the same and no deprecation warning fires.
    ref = [stats.anderson(x[:, j], "norm", method="interpolate").statistic for j in range(12)]
    assert _rel(ours, ref) <= 1e-10


@pytest.mark.parametrize("n", [8, 9, 20, 57, 1000, 5000])
@pytest.mark.parametrize("kind", ["normal", "student3", "exponential", "uniform"])
def test_dagostino_pearson_matches_scipy(n: int, kind: str) -> None:
    x = _samples(kind, n, 12, np.random.default_rng(n + 1))
    ours = dagostino_pearson(x)
    ref = [stats.normaltest(x[:, j]) for j in range(12)]
    assert _rel(ours.pvalue, [r.pvalue for r in ref]) <= 1e-10
    assert _rel(ours.statistic, [r.statistic for r in ref]) <= 1e-10


def test_sorted_anderson_agrees_to_rounding() -> None:
    x = np.random.default_rng(3).standard_normal((30, 4000))
    # Only the summation order of the mean and variance changes: relative error ~ n eps.
    assert _rel(anderson_normal_sorted(np.sort(x, axis=-1)), anderson_normal(x, axis=-1)) < 1e-11


def test_dp_reproduces_scipys_zero_skewness_convention() -> None:
    # A symmetric sample has sample skewness exactly 0; SciPy then evaluates the skewness
    # transformation at y = 1 (Z_skew = 1.034 here, not 0).
    base = np.array([-3.0, -1.5, -1.0, -0.25, 0.25, 1.0, 1.5, 3.0, -2.0, 2.0, 0.0, -0.6, 0.6])
    assert stats.skew(base) == 0.0
    ours = dagostino_pearson(base[:, None])
    assert ours.pvalue[0] == pytest.approx(stats.normaltest(base).pvalue, rel=1e-10)


def test_dp_needs_eight_rows() -> None:
    x = np.random.default_rng(0).standard_normal((MIN_ROWS_DP - 1, 3))
    with pytest.raises(ValueError, match="number of rows must be an integer >= 8"):
        dagostino_pearson(x)
    assert np.all(np.isfinite(dagostino_pearson(np.vstack([x, x[:1] + 0.5])).pvalue))


def test_constant_columns_are_nan_and_excluded() -> None:
    x = np.random.default_rng(1).standard_normal((40, 5))
    x[:, 1] = 2.5
    x[:, 3] = 0.0
    assert constant_columns(x).tolist() == [False, True, False, True, False]
    ad, p = anderson_normal(x), dagostino_pearson(x).pvalue
    assert np.isnan(ad[[1, 3]]).all() and np.isnan(p[[1, 3]]).all()
    m = aggregate(ad, p, n=40)
    assert m.n_constant == 2 and m.ad_pass.total == 3 and m.d == 5


def test_all_constant_is_an_error() -> None:
    with pytest.raises(ValueError, match="every coordinate is constant"):
        gaussianity_metrics(np.ones((30, 3)))


def test_aggregation_is_the_papers() -> None:
    ad = np.array([0.1, 0.751, 0.752, 2.0])
    p = np.array([0.5, 0.05, 0.051, 0.9])
    m = aggregate(ad, p, n=100, cv=0.1)
    assert m.ad_mean == pytest.approx(np.mean(ad))
    assert m.dp_mean == pytest.approx(np.mean(p))
    assert (m.ad_pass.passed, m.dp_pass.passed) == (2, 3)  # strict: A^2 < 0.752, p > 0.05
    assert m.ad_critical == AD_CRITICAL_5
    with pytest.raises(ValueError, match="n must be an integer >= 8"):
        aggregate(ad, p, n=0)


def test_clopper_pearson_closed_forms() -> None:
    # k = 0 and k = n have closed forms: (0, 1 - (a/2)^(1/n)) and ((a/2)^(1/n), 1).
    n = 37
    assert clopper_pearson(0, n) == (0.0, pytest.approx(1 - 0.025 ** (1 / n), rel=1e-12))
    assert clopper_pearson(n, n) == (pytest.approx(0.025 ** (1 / n), rel=1e-12), 1.0)
    lo, hi = clopper_pearson(19, 20)
    ref = stats.binomtest(19, 20).proportion_ci(method="exact")
    assert (lo, hi) == (pytest.approx(ref.low, rel=1e-10), pytest.approx(ref.high, rel=1e-10))
    with pytest.raises(ValueError, match="k must be an integer in"):
        clopper_pearson(21, 20)
    with pytest.raises(ValueError, match="pass fraction of zero coordinates"):
        pass_fraction(np.array([], dtype=bool))


def test_gaussian_pass_fractions_are_calibrated() -> None:
    # Exact Gaussian coordinates (n = 500) over 4000 coordinates: both pass fractions are
    # consistent with 95% by a two-sided binomial test at level 0.001.
    x = np.random.default_rng(20260).standard_normal((4000, 500))
    m = aggregate(anderson_normal(x, axis=-1), dagostino_pearson(x, axis=-1).pvalue, n=500)
    assert_coverage(m.dp_pass.passed, m.dp_pass.total, 0.95)
    assert_coverage(m.ad_pass.passed, m.ad_pass.total, 0.95)
    assert m.dp_pass.ci_low < 0.95 < m.dp_pass.ci_high or abs(m.dp_pass.fraction - 0.95) < 0.01


def test_non_gaussian_coordinates_fail() -> None:
    x = np.random.default_rng(5).exponential(size=(200, 2000))
    m = aggregate(anderson_normal(x, axis=-1), dagostino_pearson(x, axis=-1).pvalue, n=2000)
    assert m.ad_pass.ci_high < 0.05 and m.dp_pass.ci_high < 0.05


def test_cv_of_norms_gaussian_theory() -> None:
    # ||G|| for G ~ N(0, I_d): CV ~ 1/sqrt(2d) (theory.md section 4); n = 20000 rows, d = 50.
    z = np.random.default_rng(2).standard_normal((20_000, 50))
    assert cv_of_norms(z) == pytest.approx(1 / np.sqrt(100), rel=0.05)
    assert cv_of_norms(z / np.linalg.norm(z, axis=1, keepdims=True)) < 1e-14
    with pytest.raises(ValueError, match="mean norm is 0"):
        cv_of_norms(np.zeros((5, 3)))


@settings(max_examples=25, deadline=None)
@given(seed=SEEDS, scale=st.floats(0.01, 100.0), shift=st.floats(-50.0, 50.0), flip=st.booleans())
def test_ad_and_dp_are_affine_invariant(seed: int, scale: float, shift: float, flip: bool) -> None:
    gen = np.random.default_rng(seed)
    x = gen.standard_t(5, (60, 3))
    y = (-scale if flip else scale) * x + shift
    # Rounding only: the statistics are smooth functions of the standardised sample.
    np.testing.assert_allclose(anderson_normal(y), anderson_normal(x), rtol=1e-8)
    np.testing.assert_allclose(dagostino_pearson(y).pvalue, dagostino_pearson(x).pvalue, rtol=1e-8)


@settings(max_examples=25, deadline=None)
@given(seed=SEEDS)
def test_metrics_are_row_permutation_invariant(seed: int) -> None:
    gen = np.random.default_rng(seed)
    z = gen.standard_normal((50, 4)) * gen.uniform(0.5, 2.0, size=(50, 1))
    a = gaussianity_metrics(z)
    b = gaussianity_metrics(z[gen.permutation(50)])
    assert a.ad_mean == pytest.approx(b.ad_mean, rel=1e-10)
    assert a.dp_mean == pytest.approx(b.dp_mean, rel=1e-10)
    assert a.cv == pytest.approx(b.cv, rel=1e-10)
    assert (a.ad_pass, a.dp_pass) == (b.ad_pass, b.dp_pass)


@settings(max_examples=25, deadline=None)
@given(seed=SEEDS, c=st.floats(1e-3, 1e3))
def test_cv_is_scale_invariant(seed: int, c: float) -> None:
    z = np.random.default_rng(seed).standard_normal((30, 6))
    assert cv_of_norms(c * z) == pytest.approx(cv_of_norms(z), rel=1e-10)


@pytest.mark.gpu
def test_metrics_on_cupy_match_numpy() -> None:
    import cupy

    x = np.random.default_rng(0).standard_normal((500, 64))
    xd = cupy.asarray(x)
    np.testing.assert_allclose(cupy.asnumpy(anderson_normal(xd)), anderson_normal(x), rtol=1e-10)
    np.testing.assert_allclose(
        cupy.asnumpy(dagostino_pearson(xd).pvalue), dagostino_pearson(x).pvalue, rtol=1e-10
    )


def test_nonfinite_input_is_an_error_not_a_constant_column() -> None:
    # A NaN column has NaN statistics, which the aggregation would count as "constant".
    z = np.random.default_rng(6).standard_normal((40, 4))
    z[3, 1] = np.nan
    for with_cv in (True, False):
        with pytest.raises(ValueError, match="NaN or infinite entries"):
            gaussianity_metrics(z, with_cv=with_cv)
    z[3, 1] = np.inf
    with pytest.raises(ValueError, match="finite row norms"):
        cv_of_norms(z)
    with pytest.raises(ValueError, match="number of columns must be an integer >= 1"):
        gaussianity_metrics(np.ones((30, 0)))
