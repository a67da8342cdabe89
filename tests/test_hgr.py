"""Tests of simulator.hgr.estimators: closed forms of theory.md section 4, properties over random
discrete
joints, the numeric discretisation, ACE and its bootstrap coverage, and the ``hgr`` command."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from harness import assert_coverage
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from simulator.cli import main
from simulator.hgr import estimators as hgr
from simulator.hgr.channels import GaussianChannel, PartialSums, bsc, input_law, qary_symmetric
from simulator.sphere.vmf import mean_resultant_length

SEEDS = st.integers(0, 2**63 - 1)


def _random_joint(gen: np.random.Generator, kx: int, ky: int, conc: float = 0.5) -> np.ndarray:
    p = gen.dirichlet(np.full(kx * ky, conc)).reshape(kx, ky)
    return p / p.sum()


# --------------------------------------------------------------------------- closed forms


@pytest.mark.parametrize("p", [0.0, 0.05, 0.3, 0.5, 0.77, 1.0])
def test_bsc_closed_form(p: float) -> None:
    ch = bsc(p)
    r = hgr.hgr_discrete(hgr.joint_from_channel(*ch.discrete()))
    assert r.value == pytest.approx(abs(1 - 2 * p), abs=r.error + 1e-15)


@pytest.mark.parametrize(("q", "eps"), [(2, 0.2), (3, 0.5), (5, 0.3), (7, 6 / 7), (10, 0.95)])
def test_qary_closed_form(q: int, eps: float) -> None:
    ch = qary_symmetric(q, eps)
    r = hgr.hgr_discrete(hgr.joint_from_channel(*ch.discrete()))
    assert r.value == pytest.approx(abs(1 - q * eps / (q - 1)), abs=r.error + 1e-15)


@pytest.mark.parametrize(("m", "n"), [(1, 2), (3, 7), (5, 5), (2, 30)])
def test_partial_sums_bernoulli_dembo_kagan_shepp(m: int, n: int) -> None:
    # Non-Gaussian summand: rho_m(S_m, S_n) = sqrt(m/n) (Dembo, Kagan & Shepp 2001).
    p0, w = PartialSums(m, n, "bernoulli", 0.3).discrete()
    r = hgr.hgr_discrete(hgr.joint_from_channel(p0, w))
    assert r.value == pytest.approx(math.sqrt(m / n), abs=r.error + 1e-12)


@pytest.mark.parametrize(("m", "n", "lam"), [(1, 3, 2.0), (4, 9, 0.7)])
def test_partial_sums_poisson(m: int, n: int, lam: float) -> None:
    # Poisson summands: S_n ~ Poi(n lam), S_m | S_n ~ Bin(S_n, m/n); support truncated where the
    # remaining mass is below 1e-16 (changes rho_m by at most ~1e-8).
    top = int(stats.poisson.isf(1e-16, n * lam)) + 1
    s = np.arange(top + 1)
    p0 = stats.poisson.pmf(s, n * lam)
    w = stats.binom.pmf(s[None, :], s[:, None], m / n)
    joint = p0[:, None] * w
    r = hgr.hgr_discrete(joint / joint.sum())
    assert r.value == pytest.approx(math.sqrt(m / n), abs=1e-8)


@pytest.mark.parametrize("A", [-0.9, -0.3, 0.2, 0.6, 0.95])
def test_gaussian_channel_numeric_is_abs_A(A: float) -> None:
    r = hgr.hgr_numeric(GaussianChannel(A, input_law("gaussian")).scalar_kernel())
    assert r.details["converged"]
    assert r.value == pytest.approx(abs(A), abs=r.error + 1e-9)


@pytest.mark.parametrize("kappa", [0.3, 2.0, 10.0])
def test_vmf_circle_discretised_equals_A2(kappa: float) -> None:
    # On S^1, u ~ uniform angle, v | u ~ von Mises(u, kappa): a circulant joint on an angle grid
    # whose second singular value is I_1/I_0 = A_2(kappa) up to aliasing O(I_K(kappa)), negligible
    # for K = 256 (theory.md section 4, Funk-Hecke).
    k = 256
    theta = 2 * np.pi * np.arange(k) / k
    joint = np.exp(kappa * np.cos(theta[:, None] - theta[None, :]))
    r = hgr.hgr_discrete(joint / joint.sum())
    assert r.value == pytest.approx(mean_resultant_length(2, kappa), abs=1e-12)


# --------------------------------------------------------------------------- properties


@settings(max_examples=40, deadline=None)
@given(SEEDS, st.integers(1, 7), st.integers(1, 7))
def test_range_and_pearson(seed: int, kx: int, ky: int) -> None:
    gen = np.random.default_rng(seed)
    p = _random_joint(gen, kx, ky)
    r = hgr.hgr_discrete(p)
    assert -1e-15 <= r.value <= 1.0
    # rho_m >= |Pearson| for any real labelling of the alphabets.
    for _ in range(3):
        pear = hgr.pearson_discrete(p, gen.standard_normal(kx), gen.standard_normal(ky))
        assert r.value >= pear - 1e-12


@settings(max_examples=40, deadline=None)
@given(SEEDS, st.integers(2, 7), st.integers(2, 7))
def test_bijection_invariance_and_data_processing(seed: int, kx: int, ky: int) -> None:
    gen = np.random.default_rng(seed)
    p = _random_joint(gen, kx, ky)
    r = hgr.hgr_discrete(p).value
    perm = hgr.hgr_discrete(p[gen.permutation(kx)][:, gen.permutation(ky)]).value
    assert perm == pytest.approx(r, abs=1e-12)
    # Data processing: merge columns (a function of Y) or pass Y through a random channel.
    merge = gen.integers(0, max(1, ky - 1), size=ky)
    merged = np.zeros((kx, merge.max() + 1))
    np.add.at(merged.T, merge, p.T)
    assert hgr.hgr_discrete(merged).value <= r + 1e-12
    w = gen.dirichlet(np.ones(4), size=ky)
    assert hgr.hgr_discrete(p @ w).value <= r + 1e-12


@settings(max_examples=30, deadline=None)
@given(SEEDS, st.integers(2, 5), st.integers(2, 5))
def test_tensorisation(seed: int, k1: int, k2: int) -> None:
    # theory.md section 4: for independent pairs rho_m((X1,X2),(Y1,Y2)) = max_i rho_m(X_i, Y_i).
    gen = np.random.default_rng(seed)
    p1, p2 = _random_joint(gen, k1, k2), _random_joint(gen, k2, k1)
    joint = np.einsum("ab,cd->acbd", p1, p2).reshape(k1 * k2, k2 * k1)
    expected = max(hgr.hgr_discrete(p1).value, hgr.hgr_discrete(p2).value)
    assert hgr.hgr_discrete(joint).value == pytest.approx(expected, abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(SEEDS)
def test_dpi_random_chains(seed: int) -> None:
    gen = np.random.default_rng(seed)
    k0, k1, k2 = (int(v) for v in gen.integers(2, 7, size=3))
    r = hgr.dpi_check(
        gen.dirichlet(np.ones(k0)),
        gen.dirichlet(np.ones(k1), size=k0),
        gen.dirichlet(np.ones(k2), size=k1),
    )
    assert r["verdict"] == "holds"
    assert r["rho_x0_z"] <= r["product"] + 1e-12


@settings(max_examples=30, deadline=None)
@given(SEEDS, st.integers(2, 6), st.integers(2, 6))
def test_views_equal_eta2(seed: int, k0: int, k: int) -> None:
    # The views' operator is T T*: rho_m(X, Y) = rho_m(X, X0)^2 exactly.
    gen = np.random.default_rng(seed)
    p0, w = gen.dirichlet(np.ones(k0)), gen.dirichlet(np.ones(k), size=k0)
    rho = hgr.hgr_discrete(hgr.joint_from_channel(p0, w)).value
    views = hgr.hgr_discrete(hgr.views_joint(p0, w)).value
    assert views == pytest.approx(rho * rho, abs=1e-12)


def test_lanczos_path_matches_dense() -> None:
    gen = np.random.default_rng(11)
    p = _random_joint(gen, 600, 500, conc=0.3)
    r = hgr.hgr_discrete(p)
    q, _, _ = hgr._normalised(p)
    dense = np.linalg.svd(q, compute_uv=False)[1]
    assert r.value == pytest.approx(dense, abs=r.error + 1e-13)
    assert r.error < 1e-9


# --------------------------------------------------------------------------- numeric, Laplace tail


def test_laplace_numeric_below_tail_edge_and_rising() -> None:
    # theory.md section 4: Laplace input has no closed form. The supremum is the essential-spectrum
    # edge exp(-(1-A^2)/(8A^2)) (GaussianChannel.tail_rho); truncated discretisations increase
    # towards it as the domain grows.
    a = 0.6
    ch = GaussianChannel(a, input_law("laplace"))
    edge = ch.tail_rho()
    base = ch.scalar_kernel()
    values = []
    for half in (20.0, 40.0):
        k = hgr.ScalarKernel(
            base.input_pdf,
            (-half, half),
            base.cond_pdf,
            (-a * half - 8, a * half + 8),
            (0.0,),
            (0.0,),
        )
        values.append(hgr.hgr_numeric(k, tol=1e-10).value)
    assert values[0] < values[1] < edge
    assert edge - values[1] < 0.01
    assert abs(a) < values[0]


# --------------------------------------------------------------------------- ACE


def test_ace_equals_table_svd_for_categories() -> None:
    gen = np.random.default_rng(5)
    p0, w = gen.dirichlet(np.ones(4)), gen.dirichlet(np.ones(5), size=4)
    x0 = gen.choice(4, size=5000, p=p0)
    x = (gen.random(5000)[:, None] >= np.cumsum(w, 1)[x0]).sum(1)
    r = hgr.hgr_ace(x, x0, rng=1)
    table = np.zeros((5, 4))
    np.add.at(table, (x, x0), 1.0)
    assert r.value == pytest.approx(hgr.hgr_discrete(table / table.sum()).value, abs=1e-9)


def test_ace_bootstrap_coverage() -> None:
    # Coverage of the 90% basic-bootstrap CI for the exact rho_m of a finite channel, over 300
    # independent replications, by the suite's binomial coverage test.
    reps, n, conf = 300, 3000, 0.90
    w = np.array([[0.7, 0.2, 0.1], [0.15, 0.6, 0.25], [0.1, 0.3, 0.6]])
    p0 = np.array([0.3, 0.3, 0.4])
    truth = hgr.hgr_discrete(hgr.joint_from_channel(p0, w)).value
    cum = np.cumsum(w, 1)
    covered = 0
    for gen in np.random.default_rng(2024).spawn(reps):
        x0 = gen.choice(3, size=n, p=p0)
        x = (gen.random(n)[:, None] >= cum[x0]).sum(1)
        r = hgr.hgr_ace(x, x0, n_boot=100, confidence=conf, rng=gen)
        covered += r.ci[0] <= truth <= r.ci[1]
    assert_coverage(covered, reps, conf)


def test_ace_continuous_close_to_abs_A() -> None:
    gen = np.random.default_rng(9)
    x0 = gen.standard_normal(100_000)
    x = 0.6 * x0 + 0.8 * gen.standard_normal(100_000)
    r = hgr.hgr_ace(x, x0, rng=gen)
    # Binned estimand: below 0.6 by the binning loss (< 0.01 for 46 equal-count bins).
    assert 0.59 - 3 * r.error <= r.value <= 0.6 + 3 * r.error


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("match", "call"),
    [
        ("non-negative", lambda: hgr.hgr_discrete([[0.5, -0.1], [0.3, 0.3]])),
        ("sum to 1", lambda: hgr.hgr_discrete([[0.5, 0.1], [0.3, 0.3]])),
        ("2-D", lambda: hgr.hgr_discrete([0.5, 0.5])),
        ("rows must sum", lambda: hgr.joint_from_channel([0.5, 0.5], [[0.5, 0.4], [0.5, 0.5]])),
        ("non-negative", lambda: hgr.joint_from_channel([0.5, 0.5], [[1.5, -0.5], [0.5, 0.5]])),
        ("matching shapes", lambda: hgr.joint_from_channel([1.0], [[0.5, 0.5], [0.5, 0.5]])),
        ("mismatched", lambda: hgr.dpi_check([0.5, 0.5], np.eye(2), np.eye(3))),
        ("matrix must be a rectangular", lambda: hgr.check_channel_matrix({"a": 1})),
        ("joint must be a rectangular", lambda: hgr.hgr_discrete([[0.5, 0.5], [0.0]])),
        ("too few samples", lambda: hgr.hgr_ace(np.arange(10.0), np.arange(10.0))),
        ("same length", lambda: hgr.hgr_ace(np.arange(30.0), np.arange(31.0))),
        ("finite", lambda: hgr.hgr_ace(np.r_[np.nan, np.arange(29.0)], np.arange(30.0))),
    ],
)
def test_bad_input(match: str, call) -> None:
    with pytest.raises(ValueError, match=match):
        call()


# --------------------------------------------------------------------------- CLI


def test_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hgr", "--channel", "bsc", "--p", "0.1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"rho_m", "eta2", "rho_m_views", "method", "error"} <= set(out)
    assert out["rho_m"] == pytest.approx(0.8, abs=out["error"] + 1e-15)
    assert out["method"] == "exact"


def test_cli_text_and_methods(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hgr", "--channel", "gaussian", "--A", "0.5", "--method", "numeric"]) == 0
    assert "0.5" in capsys.readouterr().out
    assert (
        main(
            [
                "hgr",
                "--channel",
                "qary",
                "--q",
                "3",
                "--p",
                "0.2",
                "--method",
                "ace",
                "--samples",
                "2000",
                "--json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["method"] == "ace" and out["ci"] is not None


@pytest.mark.parametrize(
    "argv",
    [
        ["--channel", "gaussian", "--A", "1.5"],
        ["--channel", "bsc", "--p", "-0.1"],
        ["--channel", "qary", "--q", "1"],
        ["--channel", "vmf", "--kappa", "-1"],
        ["--channel", "discrete", "--matrix", "[[0.5, 0.6], [0.5, 0.5]]"],
        ["--channel", "discrete", "--matrix", "[[1.2, -0.2], [0.5, 0.5]]"],
        ["--channel", "discrete", "--matrix", "[[1, 0], [0, 1]]", "--input-probs", "[1]"],
        # Non-array JSON used to escape as a TypeError traceback (exit 1).
        ["--channel", "discrete", "--matrix", "{}"],
        ["--channel", "discrete", "--matrix", "[[0.5, 0.5], [1]]"],
        ["--channel", "discrete", "--matrix", "[[1, 0], [0, 1]]", "--input-probs", '{"a": 1}'],
        ["--channel", "gaussian", "--method", "ace", "--samples", "5"],
        ["--channel", "bsc", "--method", "numeric"],
        ["--channel", "vmf", "--method", "ace"],
    ],
)
def test_cli_bad_input_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hgr", *argv]) == 2
    assert "infonce-sim hgr: error:" in capsys.readouterr().err
