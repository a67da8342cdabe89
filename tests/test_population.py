"""Tests of simulator.contrastive.population: the Eq. 4 limit and Phi of vMF tilts against mpmath
at 30 digits, the limit against Monte Carlo, bad inputs, the ``population`` command and the
``infonce-limit`` study on its tiny config."""

from __future__ import annotations

import json
import math
import pickle

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.cli import main
from simulator.contrastive import population as pop
from simulator.contrastive.infonce import empirical_infonce
from simulator.results import FINDING_VERDICTS, VERDICTS
from simulator.sphere.vmf import vmf_pairs, vmf_uniformity_potential
from simulator.studies import RunContext, get_study
from simulator.studies import infonce_limit as study


def _mp_log_z(d: int, kappa) -> mpmath.mpf:
    # 0F1 series below d (no cancellation for tiny kappa), mpmath's I_nu above.
    nu = mpmath.mpf(d) / 2 - 1
    k = mpmath.mpf(kappa)
    if k == 0:
        return mpmath.mpf(0)
    if k < d:
        return mpmath.log(mpmath.hyp0f1(nu + 1, k * k / 4))
    return mpmath.loggamma(nu + 1) + nu * mpmath.log(2 / k) + mpmath.log(mpmath.besseli(nu, k))


def _mp_a(d: int, kappa: float) -> mpmath.mpf:
    nu = mpmath.mpf(d) / 2 - 1
    k = mpmath.mpf(kappa)
    return mpmath.besseli(nu + 1, k) / mpmath.besseli(nu, k) if k > 0 else mpmath.mpf(0)


LIMIT_GRID = [
    (d, kappa, tau)
    for d in (2, 3, 16, 128, 1024, 4096)
    for kappa, tau in ((0.0, 1.0), (1e-6, 0.01), (1.0, 0.1), (100.0, 0.5), (1e4, 0.01), (1e4, 10.0))
]


@pytest.mark.parametrize(("d", "kappa", "tau"), LIMIT_GRID)
def test_limit_against_mpmath(d: int, kappa: float, tau: float) -> None:
    r = pop.population_limit(d, kappa, tau)
    with mpmath.workdps(30):
        alpha = 1 / mpmath.mpf(tau)
        a = _mp_a(d, kappa)
        phi = _mp_log_z(d, alpha)
        limit = -alpha * a + phi
    assert abs(r.alignment - float(a)) <= pop.BESSEL_REL_ERROR * float(a)
    assert abs(r.phi_sigma - float(phi)) <= pop.BESSEL_REL_ERROR * float(phi)
    assert abs(r.limit - float(limit)) <= r.error


@pytest.mark.parametrize(
    ("d", "kappa"), [(2, 1e3), (3, 0.5), (16, 10.0), (1024, 300.0), (4096, 1e3)]
)
def test_alignment_variance_is_derivative_of_a(d: int, kappa: float) -> None:
    # Independent route: numerical derivative of I_{nu+1}/I_nu at 30 digits.
    with mpmath.workdps(30):
        ref = mpmath.diff(lambda k: _mp_a(d, k), mpmath.mpf(kappa))
    assert pop.alignment_variance(d, kappa) == pytest.approx(float(ref), rel=1e-6)
    assert pop.alignment_variance(d, 0.0) == 1.0 / d


@pytest.mark.parametrize(("d", "kappa", "tau"), [(2, 0.5, 1.0), (16, 10.0, 0.5), (4096, 1e4, 0.01)])
def test_bias_coefficient_against_mpmath(d: int, kappa: float, tau: float) -> None:
    with mpmath.workdps(30):
        alpha = 1 / mpmath.mpf(tau)
        lz_a = _mp_log_z(d, alpha)
        pos = mpmath.exp(_mp_log_z(d, kappa + alpha) - _mp_log_z(d, kappa) - lz_a) - 1
        jen = (mpmath.exp(_mp_log_z(d, 2 * alpha) - 2 * lz_a) - 1) / 2
        ref = float(pos - jen)
    # exp of a log-ratio of size <= 2 alpha: relative error <= 2 alpha * BESSEL_REL_ERROR * 3.
    assert pop.finite_batch_bias_coefficient(d, kappa, tau) == pytest.approx(
        ref, rel=6 * pop.BESSEL_REL_ERROR / tau + 1e-14
    )


def _mp_phi_vmf(d: int, s: float, alpha: float) -> float:
    # Direct 30-digit quadrature of E_u log E_v exp(alpha u.v) with E_v in closed form, in the
    # angle theta = arccos(w.u), split around the mode.
    with mpmath.workdps(30):
        s_, a_ = mpmath.mpf(s), mpmath.mpf(alpha)

        def dens(th):
            return mpmath.exp(s_ * (mpmath.cos(th) - 1)) * mpmath.sin(th) ** (d - 2)

        def num(th):
            return dens(th) * _mp_log_z(
                d, mpmath.sqrt(s_ * s_ + a_ * a_ + 2 * s_ * a_ * mpmath.cos(th))
            )

        c = 2 * s_ / ((d - 2) + mpmath.sqrt((d - 2) ** 2 + 4 * s_ * s_))
        mode = float(mpmath.acos(c))
        # 32 panels across +-10/sqrt(d + s) around the mode (the density's width is at most
        # ~1/sqrt(d + s)), plus the two tails.
        width = 10 / math.sqrt(d + s)
        inner = [min(math.pi, max(0.0, mode + width * k / 16)) for k in range(-16, 17)]
        pts = [mpmath.mpf(p) for p in sorted({0.0, *inner, math.pi})]
        return float(mpmath.quad(num, pts) / mpmath.quad(dens, pts) - _mp_log_z(d, s_))


@pytest.mark.parametrize(
    ("d", "s", "alpha"),
    [
        (2, 0.5, 1.0),
        pytest.param(2, 30.0, 10.0, marks=pytest.mark.slow),
        pytest.param(3, 200.0, 100.0, marks=pytest.mark.slow),
        pytest.param(16, 0.1, 100.0, marks=pytest.mark.slow),
        (128, 50.0, 10.0),
        (1024, 300.0, 100.0),
    ],
)
def test_phi_vmf_against_mpmath(d: int, s: float, alpha: float) -> None:
    # A second, independent 30-digit route (split at the mode) for the library's Phi(vMF).
    r = vmf_uniformity_potential(d, s, alpha)
    ref = _mp_phi_vmf(d, s, alpha)
    assert abs(r.value - ref) <= r.error
    with mpmath.workdps(30):
        ref_excess = ref - float(_mp_log_z(d, alpha))
    # The reference excess is a difference of two rounded doubles: allow their rounding.
    assert abs(r.gap - ref_excess) <= r.error + 4e-16 * abs(ref)


def test_phi_vmf_at_sigma_and_alpha_zero() -> None:
    assert vmf_uniformity_potential(7, 0.0, 3.0).value == pytest.approx(
        float(pop.population_limit(7, 0, 1 / 3).phi_sigma)
    )
    assert vmf_uniformity_potential(7, 5.0, 0.0).value == 0.0


@settings(max_examples=6, deadline=None)
@given(
    d=st.integers(2, 4096),
    s=st.floats(1e-3, 1e4),
    alpha=st.floats(1e-2, 100.0),
)
def test_sigma_minimises_phi_among_tilts(d: int, s: float, alpha: float) -> None:
    # Lemma 2 / Wang & Isola App. A: Phi(vMF_s) >= Phi(sigma), up to the returned error bound.
    r = vmf_uniformity_potential(d, s, alpha)
    assert r.gap >= -r.error
    assert r.error <= 1e-9 * (1 + s + alpha)


def test_limit_against_monte_carlo() -> None:
    d, kappa, tau, n, reps = 8, 4.0, 1.0, 2048, 12
    gen = np.random.default_rng(20261129)
    vals = [
        empirical_infonce(*vmf_pairs(n, d, kappa, rng=gen), tau) - math.log(n) for _ in range(reps)
    ]
    mean, se = float(np.mean(vals)), float(np.std(vals, ddof=1)) / math.sqrt(reps)
    # The O(1/N) bias c1/N is a small fraction of the SE here, so the test resolves the limit.
    assert abs(pop.finite_batch_bias_coefficient(d, kappa, tau)) / n < 0.25 * se
    assert abs(mean - pop.population_limit(d, kappa, tau).limit) <= 4 * se


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: pop.population_limit(1, 1.0, 1.0), "d"),
        (lambda: pop.population_limit(4097, 1.0, 1.0), "d"),
        (lambda: pop.population_limit(8, -1.0, 1.0), "kappa"),
        (lambda: pop.population_limit(8, 1.1e4, 1.0), "kappa"),
        (lambda: pop.population_limit(8, 1.0, 0.0), "tau"),
        (lambda: pop.population_limit(8, 1.0, 0.009), "tau"),
        (lambda: pop.population_limit(8, math.nan, 1.0), "kappa"),
        (lambda: pop.finite_batch_bias_coefficient(8, 1.0, -1.0), "tau"),
        (lambda: pop.alignment_variance(8, 2e3), "kappa"),
    ],
)
def test_bad_inputs(call, name: str) -> None:
    with pytest.raises(ValueError, match=rf"^{name} must"):
        call()


def test_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["population", "--d", "16", "--kappa", "10", "--tau", "0.5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    r = pop.population_limit(16, 10.0, 0.5)
    assert out["limit"] == r.limit
    assert out["phi_sigma"] == r.phi_sigma
    assert out["alignment"] == r.alignment


@pytest.mark.parametrize(
    "argv",
    [
        ["--d", "1", "--kappa", "1", "--tau", "1"],
        ["--d", "5000", "--kappa", "1", "--tau", "1"],
        ["--d", "8", "--kappa", "-1", "--tau", "1"],
        ["--d", "8", "--kappa", "1", "--tau", "0"],
        ["--d", "8", "--kappa", "inf", "--tau", "1"],
        ["--d", "8", "--kappa", "x", "--tau", "1"],
    ],
)
def test_cli_bad_input_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    try:
        code = main(["population", *argv])
    except SystemExit as exc:  # argparse type errors
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("infonce-sim population: error:")


def test_study_tiny() -> None:
    result = get_study("infonce-limit").run(RunContext(config=study.TINY, seed=3))
    again = get_study("infonce-limit").run(RunContext(config=study.TINY, seed=3))
    assert result.to_dict() == again.to_dict()
    json.dumps(result.to_dict(), allow_nan=False)
    assert {"limit", "batches", "rates", "tilts"} <= set(result.tables)
    assert all(r["verdict"] in (*VERDICTS, *FINDING_VERDICTS) for r in result.rows)
    by_claim = {r["reference"]: r["verdict"] for r in result.rows}
    # The tilt verdict is deterministic (quadrature with error bounds): it must hold.
    assert by_claim["Lemma 2 (Eq. 47); Wang & Isola 2020, App. A"] == "holds"
    # A 95% CI of a decreasing gap's slope lies above 0 with negligible probability.
    assert by_claim["Eq. 4; Wang & Isola 2020, Thm 1"] != "violated"
    assert len(result.tables["batches"]["rows"]) == len(study.TINY.batch_sizes)
    assert {f["id"] for f in result.figures} >= {"phi-tilts"}
    # Cell functions are module-level, so an executor can ship them to another process.
    assert pickle.loads(pickle.dumps(study.mc_cell)) is study.mc_cell
    assert pickle.loads(pickle.dumps(study.tilt_cell)) is study.tilt_cell


@pytest.mark.gpu
def test_mc_cell_cupy_matches_numpy() -> None:
    # Host draw: the same pairs on both backends, so the losses agree to rounding.
    from simulator.studies.registry import Cell

    key = ("mc", 8, 4.0, 1.0, 64)
    host = study.mc_cell(Cell(study.NAME, key, 5, study.TINY, "numpy"))
    device = study.mc_cell(Cell(study.NAME, key, 5, study.TINY, "cupy"))
    np.testing.assert_allclose(device["values"], host["values"], rtol=1e-12)


def test_study_configs_are_frozen() -> None:
    with pytest.raises(AttributeError):
        study.CONFIGS["quick"].batch_sizes = (8,)  # type: ignore[misc]
    assert study.CONFIGS["quick"].batch_sizes[0] == 8
    assert study.CONFIGS["quick"].batch_sizes[-1] >= 4096
    assert study.CONFIGS["full"].batch_sizes[-1] >= 4096
