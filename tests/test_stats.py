"""Monte Carlo distance estimators: against theory, against SciPy, coverage, regression."""

from __future__ import annotations

import math

import numpy as np
import pytest
from harness import assert_coverage, assert_within_se
from scipy import special, stats

from simulator.sphere import laws
from simulator.sphere.distances import (
    dkw_halfwidth,
    energy_distance_gaussian,
    kl_estimate,
    kolmogorov_between,
    ks_distance,
    ks_statistic,
    loglog_slope,
    sliced_ks,
    tv_estimate,
)
from simulator.sphere.sampling import exact_marginal_sample


def test_ks_statistic_matches_scipy() -> None:
    x = np.random.default_rng(0).standard_t(5, 3001)
    assert ks_statistic(x, special.ndtr) == pytest.approx(
        stats.kstest(x, "norm").statistic, rel=1e-13
    )


def test_dkw_interval_coverage_is_at_least_nominal() -> None:
    # 400 replications of the KS distance between a Laplace sample and N(0,1) (truth computed by
    # optimisation); coverage is tested with a one-sided binomial test at level 0.001.
    lap = stats.laplace(scale=1 / math.sqrt(2))
    grid = np.linspace(-6, 6, 200_001)
    truth = float(np.max(np.abs(lap.cdf(grid) - special.ndtr(grid))))
    gen = np.random.default_rng(1)
    samples = lap.rvs(size=(400, 500), random_state=gen)
    hits = sum(ks_distance(row).covers(truth) for row in samples)
    assert_coverage(hits, 400, 0.95, conservative=True)


@pytest.mark.parametrize(("d", "k"), [(6, 1), (30, 2), (300, 3)])
def test_tv_and_kl_estimates_agree_with_exact_values(d: int, k: int) -> None:
    # Tolerance: 4.5 returned standard errors (fixed seed).
    y = math.sqrt(d) * exact_marginal_sample(100_000, d, k, rng=d)
    exact = laws.exact_distances(d, k)
    for est, truth in ((tv_estimate(y, d), exact.tv), (kl_estimate(y, d), exact.kl)):
        assert_within_se(est, truth)
        assert est.n == 100_000


def test_tv_interval_coverage_over_replications() -> None:
    d, k, reps = 20, 2, 300
    truth = laws.exact_distances(d, k).tv
    gen = np.random.default_rng(7)
    hits = 0
    for child in gen.spawn(reps):
        y = math.sqrt(d) * exact_marginal_sample(2000, d, k, rng=child)
        hits += tv_estimate(y, d).covers(truth)
    assert_coverage(hits, reps, 0.95)


def test_energy_distance_zero_for_gaussian_positive_otherwise() -> None:
    gen = np.random.default_rng(2)
    gauss = energy_distance_gaussian(gen.standard_normal((40_000, 3)))
    assert_within_se(gauss, 0.0)
    uniform = energy_distance_gaussian(gen.uniform(-math.sqrt(3), math.sqrt(3), (40_000, 3)))
    assert uniform.ci_low > 0


def test_energy_distance_closed_form_term() -> None:
    # E|x - Z| in closed form against Monte Carlo at a fixed x (k = 2).
    from simulator.sphere.distances import _mean_abs_to_gaussian

    x = np.array([[0.7, -1.2]])
    z = np.random.default_rng(3).standard_normal((400_000, 2))
    mc = np.linalg.norm(z - x, axis=1)
    se = mc.std() / math.sqrt(mc.size)
    assert_within_se(_mean_abs_to_gaussian(x, 2)[0], mc.mean(), se)


def test_sliced_ks_detects_non_gaussian_direction() -> None:
    gen = np.random.default_rng(4)
    y = gen.standard_normal((20_000, 4))
    ok = sliced_ks(y, n_directions=8, rng=5)
    assert ok.ci_low == 0.0
    y[:, 2] = gen.uniform(-math.sqrt(3), math.sqrt(3), 20_000)
    bad = sliced_ks(y, n_directions=32, rng=5)
    assert bad.ci_low > 0


def test_fixed_seed_regression_values() -> None:
    # Regression guard: exact values under a fixed seed (recorded from this implementation).
    y = math.sqrt(50) * exact_marginal_sample(1000, 50, 2, rng=123)
    assert tv_estimate(y, 50).value == pytest.approx(0.013055964540603522, rel=1e-12)


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        ks_distance(np.array([1.0]))
    with pytest.raises(ValueError, match="non-finite"):
        ks_distance(np.array([1.0, np.nan, 2.0]))
    with pytest.raises(ValueError, match="one-dimensional"):
        ks_distance(np.ones((3, 2)))
    with pytest.raises(ValueError, match="1 <= k < d"):
        tv_estimate(np.ones((5, 3)), 3)
    with pytest.raises(ValueError, match="confidence"):
        dkw_halfwidth(10, 1.0)
    with pytest.raises(ValueError, match="n_directions"):
        sliced_ks(np.ones((5, 2)), n_directions=0)


def test_loglog_slope_matches_ordinary_least_squares() -> None:
    x = np.array([256.0, 512.0, 1024.0, 2048.0, 4096.0])
    y = 3.0 / x * (1.0 + np.array([0.02, -0.01, 0.03, 0.0, -0.02]))
    fit = loglog_slope(x, y, confidence=0.9)
    lx, ly = np.log(x), np.log(y)
    slope, intercept = np.polyfit(lx, ly, 1)
    resid = ly - (slope * lx + intercept)
    se = math.sqrt(resid @ resid / (x.size - 2) / np.sum((lx - lx.mean()) ** 2))
    half = stats.t.ppf(0.95, x.size - 2) * se
    assert fit.slope == pytest.approx(slope, rel=1e-12)
    assert (fit.ci_low, fit.ci_high) == pytest.approx((slope - half, slope + half), rel=1e-10)
    assert (fit.n_points, fit.confidence) == (5, 0.9)
    exact = loglog_slope([1, 2, 4, 8], [3.0, 1.5, 0.75, 0.375])
    assert exact.slope == pytest.approx(-1.0, abs=1e-12)
    assert exact.ci_high - exact.ci_low == pytest.approx(0.0, abs=1e-10)


@pytest.mark.parametrize(
    ("x", "y", "confidence", "match"),
    [
        ([1, 2], [1, 2], 0.95, "m >= 3"),
        ([1, 2, 3], [1, 2], 0.95, "same length"),
        ([1, 2, 3], [1, 0, 2], 0.95, "y must be"),
        ([1, -2, 3], [1, 2, 3], 0.95, "x must be"),
        ([2, 2, 2], [1, 2, 3], 0.95, "two distinct"),
        ([1, 2, 3], [1, 2, 3], 1.0, "confidence"),
    ],
)
def test_loglog_slope_bad_input(x: list, y: list, confidence: float, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        loglog_slope(x, y, confidence)


def test_kolmogorov_between_two_gaussians() -> None:
    # N(0, 1) against N(0.5, 1): the gap Phi(x) - Phi(x - 0.5) peaks at x = 0.25.
    def shifted(x: np.ndarray) -> np.ndarray:
        return special.ndtr(x - 0.5)

    grid = np.linspace(-5.0, 5.0, 11)  # the peak lies between grid points
    truth = 2.0 * special.ndtr(0.25) - 1.0
    assert kolmogorov_between(special.ndtr, shifted, grid) == pytest.approx(truth, rel=1e-9)
    shared = special.ndtr(grid)
    assert kolmogorov_between(special.ndtr, shifted, grid, shared) == pytest.approx(truth, rel=1e-9)
    assert kolmogorov_between(special.ndtr, special.ndtr, grid) == 0.0


def test_kolmogorov_between_bad_input() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        kolmogorov_between(special.ndtr, special.ndtr, np.array([0.0]))
    with pytest.raises(ValueError, match="strictly increasing"):
        kolmogorov_between(special.ndtr, special.ndtr, np.array([0.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match="mismatched shapes"):
        kolmogorov_between(special.ndtr, special.ndtr, np.array([0.0, 1.0]), np.zeros(3))
