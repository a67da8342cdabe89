"""Radial laws of Prop. 2: quadrature rules against sampling and closed forms."""

from __future__ import annotations

import numpy as np
import pytest
from harness import assert_within_se
from scipy import special

from simulator.results import normal_estimate
from simulator.sphere import laws, radial


@pytest.mark.parametrize("name", sorted(radial.RADIAL_LAWS))
@pytest.mark.parametrize("d", [4, 300, 10**6])
def test_quadrature_matches_sampling(name: str, d: int) -> None:
    law = radial.radial_law(name, d)
    assert law.expect(np.ones_like) == pytest.approx(1.0, abs=1e-12)
    r = law.sample(100_000, rng=d)
    assert np.all(r > 0)
    for power in (1, 2, 4):
        est = normal_estimate(r**power)
        exact = law.expect(lambda x, p=power: x**p)
        assert_within_se(est, exact, atol=1e-12)


def test_closed_form_moments() -> None:
    d = 10
    # chi law: E r^2 = E chi^2_d / d = 1, E r^4 = d(d+2)/d^2.
    law = radial.chi(d)
    assert law.second_moment == pytest.approx(1.0, rel=1e-12)
    assert law.expect(lambda r: r**4) == pytest.approx((d + 2) / d, rel=1e-10)
    # log-normal: E r^2 = exp(-2w^2 + 2w^2) = 1.
    assert radial.lognormal(d, 0.5).second_moment == pytest.approx(1.0, rel=1e-12)
    # thin shell: E r^2 = r0^2 (1 + s^2), s = s0/sqrt(d).
    assert radial.thin_shell(d, 2.0, 0.5).second_moment == pytest.approx(4 * (1 + 0.25 / d))


def test_thin_shell_flags() -> None:
    assert radial.thin_shell(10).thin_shell and radial.chi(10).thin_shell
    assert not radial.lognormal(10).thin_shell and radial.lognormal(10).r0 is None


def test_bad_parameters() -> None:
    with pytest.raises(ValueError, match="s0"):
        radial.thin_shell(10, s0=0.9)
    with pytest.raises(ValueError, match="r0"):
        radial.constant(10, r0=0.0)
    with pytest.raises(ValueError, match="width"):
        radial.lognormal(10, width=-1.0)
    with pytest.raises(ValueError, match="radial law must be one of"):
        radial.radial_law("gamma", 10)
    with pytest.raises(ValueError, match="n must be"):
        radial.chi(10).sample(0)


def test_radial_cdfs_of_the_chi_law_are_gaussian_within_the_quadrature_error() -> None:
    # chi radius: z = G / sqrt(d), so sqrt(d) z_1 = G_1 ~ N(0, 1) exactly at every d. The study's
    # stated bound: the finer rule's largest error is at most the largest distance between the
    # two rules (the bound is on the supremum, not point by point).
    x = np.linspace(-6.0, 6.0, 241)
    for d in (8, 512):
        fine = radial.radial_cdfs(radial.chi(d, n_nodes=2 * radial.QUAD_NODES))
        coarse = radial.radial_cdfs(radial.chi(d))
        bound = np.max(np.abs(fine.finite_d(x) - coarse.finite_d(x))) + 1e-12
        assert np.max(np.abs(fine.finite_d(x) - special.ndtr(x))) <= bound
        assert fine.sd == pytest.approx(1.0, rel=1e-12)
        np.testing.assert_allclose(fine.limit(x), special.ndtr(x), rtol=0, atol=1e-15)


def test_radial_cdfs_limits() -> None:
    x = np.linspace(-4.0, 4.0, 81)
    d = 64
    # Constant radius r0 = 2: sqrt(d) z_1 = 2 sqrt(d) U_1 (Lemma 3), limit N(0, 4) (Prop. 2).
    const = radial.radial_cdfs(radial.constant(d, r0=2.0))
    np.testing.assert_allclose(const.finite_d(x), laws.cdf_1d(x / 2.0, d), rtol=0, atol=1e-14)
    np.testing.assert_allclose(const.limit(x), special.ndtr(x / 2.0), rtol=0, atol=1e-15)
    np.testing.assert_allclose(const.best_gaussian(x), special.ndtr(x / 2.0), rtol=0, atol=1e-14)
    # A wide law has the scale mixture E_r Phi(x / r) as its limit: symmetric, unit total mass.
    wide = radial.radial_cdfs(radial.lognormal(d))
    assert not radial.lognormal(d).thin_shell
    np.testing.assert_allclose(wide.limit(x) + wide.limit(-x), 1.0, rtol=0, atol=1e-12)
    assert wide.limit(np.array([1e6]))[0] == pytest.approx(1.0, abs=1e-12)
