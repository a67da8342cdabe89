"""Tests of proofs_check: every check passes, deliberately wrong statements fail (mutation
tests), the registry reports crashes as failures, and the CLI / study / bench wiring."""

from __future__ import annotations

import itertools
import json
import math

import mpmath
import pytest
import sympy as sp

from proofs_check.core import CHECKS, FAIL, METHODS, PASS, Check, get_check, load_all
from simulator.cli import main

ALL = load_all()
FAST = [c.id for c in ALL.values() if not c.slow]
SLOW = [c.id for c in ALL.values() if c.slow]


@pytest.mark.parametrize("check_id", FAST)
def test_fast_check_passes(check_id: str) -> None:
    result = ALL[check_id].run()
    assert result.status == PASS, result.evidence
    assert result.evidence


@pytest.mark.slow
@pytest.mark.parametrize("check_id", SLOW)
def test_slow_check_passes(check_id: str) -> None:
    result = ALL[check_id].run()
    assert result.status == PASS, result.evidence


def test_registry_metadata() -> None:
    assert len(ALL) >= 25
    for c in ALL.values():
        assert c.method in METHODS
        assert c.reference and c.statement
    topics = {c.id.split(".")[0] for c in ALL.values()}
    assert topics == {"sphere", "rates", "hgr", "alignment", "potentials", "route2", "thin-shell"}


def test_unknown_check_is_value_error() -> None:
    with pytest.raises(ValueError, match="unknown check 'nope'"):
        get_check("nope")


def test_crashing_check_reports_failure() -> None:
    def boom() -> tuple[bool, str]:
        raise ZeroDivisionError("bad step")

    result = Check("t.crash", "ref", "statement", "symbolic", boom).run()
    assert result.status == FAIL
    assert "ZeroDivisionError: bad step" in result.evidence


# Mutation tests: each feeds a deliberately wrong constant or formula and the check must fail.
MUTATIONS = {
    "sphere.marginal-normalises": {
        "constant": lambda d, k: sp.gamma(d / 2) / (sp.gamma((d - k) / 2) * sp.pi ** ((k + 1) / 2))
    },
    "sphere.moments": {"fourth": lambda d, _k: 3 / (d * (d + 1))},
    "sphere.beta-laws": {"radial_b": lambda d, k: (d - k + 1) / 2},
    "rates.leading-order-derivation": {"kl_claim": lambda k: sp.Rational(k * (k + 2), 8)},
    "rates.diaconis-freedman": {"bound": lambda d, k: 2.0 * (k + 3) / (d - k - 3) / 20},
    "hgr.bsc-qary": {"bsc": lambda p: 1 - p},
    "hgr.gaussian-mehler": {"eigenvalue": lambda a, n: a ** (n + 1)},
    "hgr.multiplicative-dpi": {"combine": lambda r1, r2: (r1 * r2) ** 2},
    "alignment.prop1-exact-sums": {"bound": lambda eta2, m2: eta2},
    "alignment.cauchy-schwarz-chain": {"bound": lambda eta2, m2: eta2 + m2},
    "potentials.projection-mgf": {
        "formula": lambda d, t: (1 + 1e-6) * get_mgf()(d, t),
    },
    "potentials.sub-gaussian-mgf": {"variance_factor": 2.2},
    "potentials.lemma1-dv": {"constant": 0.6},
    "potentials.wang-isola-gaussian": {
        "formula": lambda d, t: -2 * t + mpmath.log(mpmath.hyp0f1(mpmath.mpf(d) / 2, t * t / 2))
    },
    "route2.kl-identity-eq13": {"normaliser": lambda d, lam: (lam / (2 * sp.pi)) ** (d / 2)},
    "route2.corollary2": {"variance": lambda lam: 1 / lam},
    "route2.theorem1-chain": {
        "beta0": lambda alpha, eta2, c, d: alpha * (1 - eta2) / (c * (d + 1))
    },
    "thin-shell.chi-cv": {"leading": 1 / 3},
    "thin-shell.scale-mixture-kurtosis": {"factor": 2.0},
    "hgr.tensorisation-dks": {"combine": min},
    "hgr.vmf-funk-hecke": {"eigenvalue": lambda d, deg, k: get_a()(d, k) ** deg},
    "potentials.phi-at-uniform": {"formula": lambda d, a: get_log_z()(d, a) + 1e-6},
    "potentials.vmf-mean-resultant": {"formula": lambda d, k: get_a()(d, k) * (1 + 1e-8)},
    "potentials.phi-minimised-by-sigma": {"shift": 0.01},
    "rates.kolmogorov-k1": {"ks_constant": 0.14},
    "sphere.chi-square-sampler": {"b_param": lambda d, k: (d - k - 1) / 2},
    "sphere.archimedes": {
        "constant": lambda d, k: sp.gamma(d / 2) / (sp.gamma((d - k) / 2) * sp.pi ** (k / 2 + 1))
    },
    "sphere.gaussian-limit": {"limit_exponent": -1.0},
    "alignment.centring-identity": {"extra": sp.Symbol("a0_1") ** 2 / 10},
}


def get_log_z():
    from proofs_check._util import mp_log_z

    return mp_log_z


def get_a():
    from proofs_check._util import mp_mean_resultant

    return mp_mean_resultant


def get_mgf():
    from proofs_check.potentials import paper_mgf

    return paper_mgf


@pytest.mark.parametrize("check_id", sorted(MUTATIONS))
def test_perturbed_statement_fails(check_id: str) -> None:
    result = ALL[check_id].run(**MUTATIONS[check_id])
    assert result.status == FAIL, f"mutation not detected: {result.evidence}"
    assert not result.evidence.startswith("error:"), result.evidence


def test_leading_order_vs_exact_detects_perturbed_kl_constant() -> None:
    from proofs_check.rates import K_RANGE, leading_constants

    kl = {k: 1.001 * float(leading_constants(k)["kl_value"]) for k in K_RANGE}
    result = ALL["rates.leading-order-vs-exact"].run(kl_constants=kl)
    assert result.status == FAIL


@pytest.mark.slow
def test_infonce_limit_detects_wrong_limit() -> None:
    from proofs_check.potentials import infonce_limit_prediction

    limit, _ = infonce_limit_prediction(8, 4.0, 2.0)
    assert ALL["potentials.infonce-limit"].run(limit=limit + 0.05).status == FAIL


@pytest.mark.slow
def test_polar_decomposition_detects_missing_radial_term() -> None:
    assert ALL["route2.polar-eq40"].run(radial_weight=0.9).status == FAIL


def test_leading_constants_closed_forms() -> None:
    # The k = 1 TV constant E|g_1(S)|/2, S ~ chi^2_1, by independent scipy quadrature.
    from scipy import integrate, stats

    from proofs_check.rates import leading_constants

    def g1(s: float) -> float:
        return -((s - 3) ** 2 - 6) / 4

    edges = [0.0, 3 - math.sqrt(6), 3 + math.sqrt(6), 80.0]  # chi^2_1 mass beyond 80: < 1e-18
    value = (
        sum(
            integrate.quad(
                lambda s: abs(g1(s)) * stats.chi2(1).pdf(s), a, b, epsabs=0, epsrel=1e-12
            )[0]
            for a, b in itertools.pairwise(edges)
        )
        / 2
    )
    c = leading_constants(1)
    assert float(c["tv_value"]) == pytest.approx(value, rel=1e-8)
    assert c["kl"] == sp.Rational(3, 4)


# CLI, study and bench wiring.


def _fake_check(passed: bool) -> Check:
    return Check("t.fake", "Eq. 0", "a statement", "symbolic", lambda: (passed, "evidence text"))


def test_cli_json_subset(tmp_path, capsys) -> None:
    code = main(
        ["proofs", "--only", "hgr.bsc-qary", "sphere.archimedes", "--json", "--out", str(tmp_path)]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [o["id"] for o in out] == ["hgr.bsc-qary", "sphere.archimedes"]
    assert all(set(o) == {"id", "reference", "method", "status", "evidence"} for o in out)
    assert all(o["status"] == "pass" for o in out)
    text = (tmp_path / "proofs.md").read_text()
    assert "hgr.bsc-qary" in text and text.count("| holds |") == 2


def test_cli_failing_check_exits_1(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setitem(CHECKS, "t.fake", _fake_check(False))
    code = main(["proofs", "--only", "t.fake", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL" in out and "evidence text" in out
    assert "**violated**" in (tmp_path / "proofs.md").read_text()


def test_cli_unknown_id_exits_2(tmp_path, capsys) -> None:
    code = main(["proofs", "--only", "no.such-check", "--out", str(tmp_path)])
    assert code == 2
    assert "unknown check" in capsys.readouterr().err
    assert not (tmp_path / "proofs.md").exists()


def test_study_rows_follow_check_status(monkeypatch) -> None:
    import proofs_check.core as core
    from simulator.studies import RunContext, get_study

    fake = {
        "t.pass": Check("t.pass", "Eq. 1", "s1", "symbolic", lambda: (True, "ok")),
        "t.fail": Check("t.fail", "Eq. 2", "s2", "high-precision", lambda: (False, "bad")),
    }
    monkeypatch.setattr(core, "load_all", lambda: fake)
    result = get_study("proofs").run(RunContext())
    verdicts = {r["parameters"]["id"]: r["verdict"] for r in result.rows}
    assert verdicts == {"t.pass": "holds", "t.fail": "violated"}
    assert result.tables["timings"]["rows"][1]["status"] == "fail"


def test_bench_registered() -> None:
    from simulator.cli.benches import BENCHES

    assert "proofs" in BENCHES
