"""Radial laws of Prop. 2: quadrature rules against sampling and closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.results import normal_estimate
from simulator.sphere import radial


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
        assert abs(est.value - exact) <= 4.5 * est.stderr + 1e-12


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
