"""The spherical-clt study on a reduced grid: structure, verdicts and determinism."""

from __future__ import annotations

import pytest

from simulator.studies import RunContext, get_study, spherical_clt

SMALL = {
    "d_exact": [8, 16, 256, 512, 1024, 2048],
    "d_mc": [8, 64],
    "k_mc": (1, 2),
    "n_mc": 4000,
    "replicates": 4,
    "d_frame": [16],
    "n_frame": 4000,
    "d_radial": [8, 64, 512],
    "n_radial": 4000,
}


@pytest.fixture
def small_scale(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(spherical_clt.SCALES, "quick", SMALL)


def test_study_runs_and_every_claim_holds(small_scale: None) -> None:
    result = get_study("spherical-clt").run(RunContext(scale="quick", seed=1))
    verdicts = {row["claim"]: row["verdict"] for row in result.rows}
    assert len(verdicts) >= 8
    assert all(v == "holds" for v in verdicts.values()), verdicts
    assert {"exact", "slopes", "dmin", "monte-carlo", "coverage", "frames", "prop2"} <= set(
        result.tables
    )
    assert {f["id"] for f in result.figures} >= {"tv-vs-d", "kl-vs-d"}


def test_study_is_deterministic_given_the_seed(small_scale: None) -> None:
    a = get_study("spherical-clt").run(RunContext(scale="quick", seed=3)).to_dict()
    b = get_study("spherical-clt").run(RunContext(scale="quick", seed=3)).to_dict()
    assert a["tables"]["monte-carlo"] == b["tables"]["monte-carlo"]


def test_loglog_slope_of_a_power_law() -> None:
    fit = spherical_clt.loglog_slope([1, 2, 4, 8], [3.0, 1.5, 0.75, 0.375])
    assert fit["slope"] == pytest.approx(-1.0, abs=1e-12)


@pytest.mark.slow
def test_quick_scale_end_to_end() -> None:
    result = get_study("spherical-clt").run(RunContext(scale="quick", seed=20260))
    assert all(row["verdict"] != "violated" for row in result.rows)
