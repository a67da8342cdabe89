"""Exact sphere-projection laws (Lemma 3, Theorem 2) against independent references."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mp_reference import mp_distances
from scipy import integrate, special, stats

from simulator.sphere import laws

# (d, k) points spanning the admissible range, including the k = d-1 and d = 10^7 corners,
# and three that failed before the centred log-ratio (issue 9 item 8): d = 1e20 (d*TV was 0.409,
# true 0.350), k = d - 1 at d = 1e5 (an IntegrationWarning) and k = 1e6 (5e-10 relative).
REFERENCE_POINTS = [
    (2, 1),
    (3, 2),
    (5, 1),
    (16, 3),
    (64, 20),
    (100, 1),
    (1000, 5),
    (10**5, 10),
    (10**7, 1),
    (10**7, 20),
    (10**20, 1),
    (10**5, 10**5 - 1),
    (10**7, 10**6),
]

# Slower references (5-10 s each at the working precision 40 + 2 * digits(d)): the k ~ d ~ K_MAX
# corner, k close to d at large d, and large k with large d.
SLOW_REFERENCE_POINTS = [
    (10**8, 10**8 - 1),
    (10**8 + 1, 10**8),
    (10**8, 10**8 - 1000),
    (10**12, 10**8),
    (10**5, 99_000),
    (10**50, 2),
    (6 * 10**21, 14),
]


@pytest.mark.parametrize(("d", "k"), REFERENCE_POINTS)
def test_exact_distances_match_40_digit_reference(d: int, k: int) -> None:
    # The issue asks for 8 significant digits; 1e-10 relative is the accuracy we claim.
    # The simulator runs first: a preceding high-precision mpmath call can warm mpmath's caches
    # and hide a precision loss inside the simulator's own mpmath constants.
    e = laws.exact_distances(d, k)
    ref = mp_distances(d, k)
    assert e.tv == pytest.approx(ref["tv"], rel=1e-10)
    assert e.kl == pytest.approx(ref["kl"], rel=1e-10)
    if k == 1:
        assert e.ks == pytest.approx(ref["ks"], rel=1e-10)
    else:
        assert e.ks is None


@pytest.mark.slow
@pytest.mark.parametrize(("d", "k"), SLOW_REFERENCE_POINTS)
def test_exact_distances_match_reference_at_the_range_corners(d: int, k: int) -> None:
    test_exact_distances_match_40_digit_reference(d, k)


def _leading_order_tv(k: int) -> float:
    """``lim d TV = E[g(S); g(S) > 0]`` with ``g(s) = -((s - k - 2)^2 - 2(k + 2))/4`` and
    ``S ~ chi^2_k`` (proofs_check/rates.py derives ``g``; ``E g(S) = 0``), by mpmath quadrature
    between the two roots ``k + 2 -+ sqrt(2(k + 2))``."""
    with mpmath.workdps(30):
        p = mpmath.mpf(k + 2)
        lo, hi = p - mpmath.sqrt(2 * p), p + mpmath.sqrt(2 * p)

        def integrand(s: mpmath.mpf) -> mpmath.mpf:
            g = -((s - p) ** 2 - 2 * p) / 4
            return (
                g
                * s ** (mpmath.mpf(k) / 2 - 1)
                * mpmath.exp(-s / 2)
                / (2 ** (mpmath.mpf(k) / 2) * mpmath.gamma(mpmath.mpf(k) / 2))
            )

        return float(mpmath.quad(integrand, [max(lo, 0), p, hi]))


@pytest.mark.parametrize("d", [10**30, 10**60, 10**100])
@pytest.mark.parametrize("k", [1, 2, 5])
def test_huge_d_matches_leading_order(d: int, k: int) -> None:
    # At d >= 1e30 the next order (relative O(k/d)) is far below double precision, so d*TV and
    # d^2*KL must equal their limits to rounding; before the fix d >= 1e22 raised from brentq.
    e = laws.exact_distances(d, k)
    assert e.tv * d == pytest.approx(_leading_order_tv(k), rel=1e-10)
    assert e.kl * float(d) ** 2 == pytest.approx(k * (k + 2) / 4, rel=1e-10)
    if k == 1:
        # d*KS -> sup|He_3(x) phi(x)|/4, attained at x^2 = 3 - sqrt(6) (proofs_check/rates.py).
        x = math.sqrt(3 - math.sqrt(6))
        ks = abs(x**3 - 3 * x) * math.exp(-x * x / 2) / math.sqrt(2 * math.pi) / 4
        assert e.ks * d == pytest.approx(ks, rel=1e-10)


@settings(max_examples=40, deadline=None)
@given(
    log_d=st.floats(0.31, 100.0),
    gap=st.integers(1, 10**8),
    small_k=st.integers(1, 50),
    which=st.sampled_from(["small k", "k near d", "large k"]),
)
def test_any_admissible_point_is_computed_with_mass_balance(
    log_d: float, gap: int, small_k: int, which: str
) -> None:
    # Over the whole admissible range (before: SciPy root-finding errors above d ~ 1e21 and
    # quadrature warnings for k close to d) every point returns, and the mass balance
    # int (f_Y - phi_k) = 0 holds to 1e-9 of the TV.
    d = max(2, min(laws.D_MAX, int(10**log_d)))
    k = {"small k": small_k, "k near d": d - gap, "large k": gap}[which]
    k = min(max(k, 1), d - 1, laws.K_MAX)
    e = laws.exact_distances(d, k)
    assert 0 < e.tv < 1
    assert e.closure <= 1e-9 * e.tv


@pytest.mark.parametrize(
    ("d", "k", "match"),
    [
        (10**101, 1, r"d must be <= 1e100"),
        (10**9, 10**8 + 1, r"k must be <= 1e8"),
    ],
)
def test_exact_distances_refuse_outside_the_accurate_range(d: int, k: int, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        laws.exact_distances(d, k)


def test_d3_k1_is_uniform_on_interval() -> None:
    # Archimedes: sqrt(3) U_1 ~ Uniform(-sqrt3, sqrt3); TV to N(0,1) in closed form.
    a = math.sqrt(3.0)
    x0 = math.sqrt(-2 * math.log(math.sqrt(2 * math.pi) / (2 * a)))  # where 1/(2a) = phi(x)
    # The uniform density exceeds phi on x0 < |x| < a: TV = 2 int_{x0}^{a} (1/(2a) - phi).
    tv = 2 * ((a - x0) / (2 * a) - (special.ndtr(a) - special.ndtr(x0)))
    assert laws.exact_distances(3, 1).tv == pytest.approx(tv, rel=1e-12)


@settings(max_examples=25, deadline=None)
@given(k=st.integers(1, 8), extra=st.integers(3, 10**5))
def test_density_integrates_to_one(k: int, extra: int) -> None:
    d = k + extra
    # Radial integral of the k-dimensional density over the ball of radius sqrt(d).
    area = 2 * math.pi ** (k / 2) / special.gamma(k / 2)

    def radial(r: float) -> float:
        y = np.zeros((1, k))
        y[0, 0] = r
        return float(laws.density(y, d)[0]) * area * r ** (k - 1)

    total, _ = integrate.quad(radial, 0, math.sqrt(d), epsabs=1e-13, limit=200)
    assert total == pytest.approx(1.0, abs=1e-10)


@pytest.mark.parametrize("d", [4, 10, 1000])
def test_cdf_1d_is_the_integral_of_the_density(d: int) -> None:
    for x in (-1.3, 0.2, 1.7):
        integral, _ = integrate.quad(
            lambda t: float(laws.density(np.array([[t]]), d)[0]), -math.sqrt(d), x, epsabs=1e-13
        )
        assert float(laws.cdf_1d(x, d)) == pytest.approx(integral, abs=1e-10)


def test_radius_law_moments() -> None:
    # E||Y||^2 = k (each coordinate has variance 1/d before scaling).
    for d, k in [(5, 2), (100, 7)]:
        assert laws.radius_sq_law(d, k).mean() == pytest.approx(k, rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(k=st.integers(1, 20), d=st.integers(3, 5000))
def test_tv_decreases_in_d(k: int, d: int) -> None:
    if k >= d:
        return
    assert laws.exact_distances(d + 1, k).tv < laws.exact_distances(d, k).tv


@settings(max_examples=60, deadline=None)
@given(k=st.integers(1, 30), extra=st.integers(4, 10**6))
def test_diaconis_freedman_bound_holds(k: int, extra: int) -> None:
    d = k + extra  # exactly the admissible range 1 <= k <= d - 4
    e = laws.exact_distances(d, k)
    assert e.df_bound is not None
    assert e.tv < e.df_bound


def test_df_bound_out_of_range_is_none() -> None:
    assert laws.df_bound(7, 4) is None
    assert laws.df_bound(8, 4) == pytest.approx(2 * 7 / 1)


def test_smallest_d_for_tv_is_tight() -> None:
    for k, tol in [(1, 0.01), (3, 0.001)]:
        d = laws.smallest_d_for_tv(k, tol)
        assert laws.exact_distances(d, k).tv <= tol < laws.exact_distances(d - 1, k).tv


def test_kl_leading_order_matches_moment_expansion() -> None:
    # Independent asymptotic check: KL ~ k(k+2)/(4 d^2), from expanding the log-ratio to first
    # order in 1/d (l = g(S)/d with S ~ chi^2_k; KL ~ E g(S)^2 / (2 d^2)).
    for k in (1, 2, 5):
        d = 10**7
        assert d * d * laws.exact_distances(d, k).kl == pytest.approx(k * (k + 2) / 4, rel=1e-5)


def test_log_density_ratio_matches_direct_formula() -> None:
    d, k = 50, 3
    s = np.linspace(0, 40, 9)
    direct = (
        special.gammaln(d / 2)
        - special.gammaln((d - k) / 2)
        - k / 2 * math.log(d / 2)
        + ((d - k) / 2 - 1) * np.log1p(-s / d)
        + s / 2
    )
    np.testing.assert_allclose(laws.log_density_ratio(s, d, k), direct, rtol=1e-12, atol=1e-14)
    assert np.isneginf(laws.log_density_ratio(np.array([50.0, 60.0]), d, k)).all()


def test_density_matches_monte_carlo_histogram() -> None:
    from simulator.sphere.sampling import exact_marginal_sample

    d = 6
    y = math.sqrt(d) * exact_marginal_sample(200_000, d, 1, rng=3)[:, 0]
    res = stats.kstest(y, lambda x: laws.cdf_1d(x, d))
    assert res.pvalue > 1e-4  # fixed seed: a regression guard, not a flaky statistical test


@pytest.mark.parametrize(
    ("d", "k", "match"),
    [
        (1, 1, "d must be"),
        (5, 0, "k must be"),
        (5, 5, "1 <= k < d"),
        (2.5, 1, "integer"),
        (float("nan"), 1, "finite"),
        (float("inf"), 1, "finite"),
        (10, True, "integer"),
    ],
)
def test_bad_dimensions_raise(d: object, k: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        laws.exact_distances(d, k)


def test_bad_tolerance_raises() -> None:
    with pytest.raises(ValueError, match="tolerance"):
        laws.smallest_d_for_tv(1, 0.0)
    with pytest.raises(ValueError, match="s = "):
        laws.log_density_ratio(np.array([-1.0]), 5, 1)
