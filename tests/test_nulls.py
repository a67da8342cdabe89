"""Calibrated nulls of the paper's aggregates: exact samplers, theory and consistency checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from harness import assert_mean, assert_within_se
from scipy import stats

from simulator.gaussianity.metrics import PassFraction, pass_fraction
from simulator.gaussianity.nulls import (
    aggregate_null,
    compare_mean,
    compare_pass_fraction,
    coordinate_null,
    default_null_columns,
    draw_coordinates,
)


def test_sphere_coordinates_have_the_exact_moments() -> None:
    # sqrt(d) U_1: E Y^2 = 1 and E Y^4 = 3d/(d+2) (theory.md section 4); 4 standard errors.
    d = 10
    y = draw_coordinates(2000, d, 50, "sphere", rng=1).ravel()
    for power, target in ((2, 1.0), (4, 3 * d / (d + 2))):
        assert_mean(y**power, target)
    assert np.max(np.abs(y)) <= math.sqrt(d)


def test_gaussian_null_pass_rates_near_95_percent() -> None:
    null = coordinate_null(1000, 16, "gaussian", columns=4000, rng=7)
    # 0.752 is the asymptotic 5% point of A^2 with estimated parameters and the DP test is
    # asymptotically chi^2_2: both pass rates are 95% up to the MC error and an O(1/n) bias
    # (allowance 0.01).
    for frac in (null.ad_pass, null.dp_pass):
        assert_within_se(frac.fraction, 0.95, math.sqrt(0.95 * 0.05 / frac.total), atol=0.01)
    assert null.ad_quantiles["0.025"] < null.ad_quantiles["0.5"] < null.ad_quantiles["0.975"]
    assert null.ad_values.size == 4000


def test_sphere_null_is_rejected_at_small_d() -> None:
    # Excess kurtosis -6/(d+2) = -0.6 at d = 8: with n = 2000 rows the DP test sees it.
    gauss = coordinate_null(2000, 8, "gaussian", columns=300, rng=3)
    sphere = coordinate_null(2000, 8, "sphere", columns=300, rng=4)
    assert sphere.dp_pass.ci_high < gauss.dp_pass.ci_low
    assert sphere.ad_mean.ci_low > gauss.ad_mean.ci_high


def test_nulls_are_reproducible() -> None:
    a = coordinate_null(100, 4, "sphere", columns=50, rng=11).to_dict()
    b = coordinate_null(100, 4, "sphere", columns=50, rng=11).to_dict()
    c = coordinate_null(100, 4, "sphere", columns=50, rng=12).to_dict()
    assert a == b and a != c


def test_compare_pass_fraction() -> None:
    null = coordinate_null(200, 32, "gaussian", columns=2000, rng=5)
    ok = compare_pass_fraction(PassFraction(95, 100, 0.95, 0.88, 0.98), null, "ad")
    assert ok.consistent and ok.band[0] < 0.95 < ok.band[1]
    bad = compare_pass_fraction(pass_fraction(np.arange(100) < 40), null, "dp")
    assert not bad.consistent and bad.p_value < 1e-10
    assert compare_mean(null.ad_mean.value, 100, null, "ad").p_value > 0.9
    assert not compare_mean(2.0, 100, null, "ad").consistent
    with pytest.raises(ValueError, match="test must be"):
        compare_pass_fraction(pass_fraction(np.ones(3, bool)), null, "ks")


def test_aggregate_null_matches_coordinate_null() -> None:
    # Mean of the pass fraction over replicates estimates the per-coordinate pass probability.
    agg = aggregate_null(300, 64, "sphere", replicates=30, rng=9)
    coord = coordinate_null(300, 64, "sphere", columns=3000, rng=10)
    se = agg.dp_pass.std(ddof=1) / math.sqrt(agg.replicates)
    se_coord = math.sqrt(coord.dp_pass.fraction * (1 - coord.dp_pass.fraction) / 3000)
    assert_within_se(agg.dp_pass.mean(), coord.dp_pass.fraction, math.hypot(se, se_coord))
    summary = agg.summary()
    assert summary["ad_pass"]["q025"] <= summary["ad_pass"]["mean"] <= summary["ad_pass"]["q975"]


def test_pass_count_under_gaussian_null_is_binomial() -> None:
    # Independent Gaussian coordinates: the pass count over d coordinates is Binomial(d, p0);
    # its variance over replicates matches d p0 (1 - p0) (chi-square dispersion test, 0.001).
    agg = aggregate_null(200, 40, "gaussian", replicates=60, rng=21)
    counts = agg.dp_pass * 40
    p0 = counts.mean() / 40
    dispersion = np.sum((counts - counts.mean()) ** 2) / (40 * p0 * (1 - p0))
    assert stats.chi2.sf(dispersion, 59) > 1e-3 and stats.chi2.cdf(dispersion, 59) > 1e-3


def test_default_columns_budget() -> None:
    assert default_null_columns(100_000) == 200
    assert default_null_columns(10) == 20_000
    assert default_null_columns(5000) == 4000


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 7, "d": 4, "law": "gaussian"}, "n must be an integer >= 8"),
        ({"n": 50, "d": 1, "law": "gaussian"}, "d must be an integer >= 2"),
        ({"n": 50, "d": 4, "law": "cauchy"}, "law must be one of"),
        ({"n": 50, "d": 4, "law": "sphere", "columns": 1}, "columns must be an integer >= 2"),
    ],
)
def test_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        coordinate_null(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"ad_critical": -1.0}, "ad_critical"), ({"dp_alpha": 1.5}, "dp_alpha")],
)
def test_aggregate_null_validates_pass_rules(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        aggregate_null(20, 4, "gaussian", replicates=2, rng=0, **kwargs)
