"""Tests of simulator.sphere.violations and the ``violations`` study (issue 12 item 5)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from simulator.sphere import radial
from simulator.sphere import violations as vi
from simulator.sphere.laws import cdf_1d
from simulator.sphere.vmf import mean_resultant_length


def _sample_excess_kurtosis(x: np.ndarray) -> tuple[float, float]:
    """Sample excess kurtosis and its standard error from the fourth-moment CLT (by batches)."""
    batches = x.reshape(50, -1)
    values = stats.kurtosis(batches, axis=1)
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(values.size))


@pytest.mark.parametrize("d", [4, 16])
def test_constant_radius_kurtosis_is_the_sphere_marginal_one(d: int) -> None:
    # theory.md section 4: excess kurtosis of sqrt(d) U_1 is -6/(d+2).
    law = radial.constant(d)
    assert vi.scale_mixture_excess_kurtosis(law) == pytest.approx(-6.0 / (d + 2), rel=1e-12)


def test_scale_mixture_kurtosis_matches_the_sampler() -> None:
    d, width = 16, 0.3
    law = radial.lognormal(d, width, n_nodes=200)
    x = vi.scale_mixture_columns(4000, d, law, 50, rng=1).T.ravel()
    mean, se = _sample_excess_kurtosis(x)
    exact = vi.scale_mixture_excess_kurtosis(law)
    assert abs(mean - exact) < 4 * se, (mean, se, exact)


def test_geometric_spectrum_and_effective_dimension() -> None:
    lam = vi.geometric_spectrum(10, 1e4)
    assert lam.max() / lam.min() == pytest.approx(1e4)
    assert lam.sum() == pytest.approx(10.0)
    assert vi.effective_dimension(vi.geometric_spectrum(10, 1.0)) == pytest.approx(10.0)
    assert vi.effective_dimension(lam) < 10.0


def test_isotropic_columns_follow_the_sphere_marginal() -> None:
    d = 6
    cols, variances = vi.anisotropic_columns(3000, d, 1.0, 12, rng=3)
    np.testing.assert_allclose(variances, 1.0, rtol=1e-12)
    p = [stats.kstest(cols[:, j], lambda x: cdf_1d(x, d)).pvalue for j in range(12)]
    # 12 independent KS tests: Bonferroni at 0.001 family-wise.
    assert min(p) > 0.001 / 12, p


def test_whitening_makes_the_coordinate_variances_equal() -> None:
    _, raw = vi.anisotropic_columns(50, 8, 1e3, 8, rng=4)
    _, white = vi.anisotropic_columns(50, 8, 1e3, 8, whiten_rows=20_000, rng=4)
    assert raw.max() / raw.min() == pytest.approx(1e3)
    # Sample-covariance whitening with m rows leaves relative errors of order sqrt(d/m).
    assert white.max() / white.min() < 1.1


def test_kappa_for_resultant_inverts_the_bessel_ratio() -> None:
    for d, a in [(3, 0.2), (64, 0.5), (512, 0.9)]:
        assert mean_resultant_length(d, vi.kappa_for_resultant(d, a)) == pytest.approx(a, abs=1e-9)
    assert vi.kappa_for_resultant(10, 0.0) == 0.0


def test_single_uniform_component_is_the_sphere_marginal() -> None:
    d = 5
    cols = vi.vmf_mixture_columns(2000, d, 1, 0.0, 10, rng=5)
    p = [stats.kstest(cols[:, j], lambda x: cdf_1d(x, d)).pvalue for j in range(10)]
    assert min(p) > 0.001 / 10, p


def test_one_concentrated_component_has_the_vmf_mean() -> None:
    # One class: u ~ vMF(mu, kappa), so the mean of sqrt(d) u over all coordinates' columns,
    # squared and summed over a full set of d columns, is d * A_d(kappa)^2 ||mu||^2.
    d, a = 4, 0.6
    cols = vi.vmf_mixture_columns(20_000, d, 1, a, d, rng=6)
    m2 = float(np.sum(cols.mean(axis=0) ** 2))
    assert m2 == pytest.approx(d * a * a, rel=0.02)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: vi.scale_mixture_columns(4, 8, radial.constant(8), 2), "n must"),
        (lambda: vi.scale_mixture_columns(10, 8, radial.constant(8), 0), "columns must"),
        (lambda: vi.geometric_spectrum(8, 0.5), "condition must"),
        (lambda: vi.anisotropic_columns(10, 8, 2.0, 2, whiten_rows=8), "whiten_rows must"),
        (lambda: vi.kappa_for_resultant(8, 1.0), "resultant must"),
        (lambda: vi.vmf_mixture_columns(10, 8, 0, 0.5, 2), "classes must"),
    ],
)
def test_bad_input_names_the_parameter(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_study_runs_on_its_tiny_config() -> None:
    from simulator.studies import RunContext, get_study
    from simulator.studies.violations import TINY

    result = get_study("violations").run(RunContext(config=TINY))
    assert {"thin-shell", "anisotropy", "vmf-mixture"} <= set(result.tables)
    assert all(r["verdict"] in ("holds", "inconclusive") for r in result.rows)


def test_tilt_columns_draw_a_few_columns_at_a_time() -> None:
    """The vMF draws behind the tilt columns are made in blocks: the traced peak stays below
    one array of all ``n x columns x d`` draws (four such arrays were alive at once before)."""
    import tracemalloc

    from simulator.studies.violations import _tilt_columns

    n, d, columns = 2000, 64, 100
    tracemalloc.start()
    try:
        cols = _tilt_columns(n, d, 5.0, columns, np.random.default_rng(2), along_mean=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert cols.shape == (n, columns)
    assert peak < 8 * n * columns * d, f"peak {peak / 2**20:.0f} MiB"
