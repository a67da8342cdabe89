"""The spherical-clt study on its TINY config: structure, verdicts and determinism."""

from __future__ import annotations

import pytest

from simulator.studies import RunContext, get_study, spherical_clt


def test_study_runs_and_every_claim_holds() -> None:
    result = get_study("spherical-clt").run(RunContext(config=spherical_clt.TINY, seed=1))
    verdicts = {row["claim"]: row["verdict"] for row in result.rows}
    assert len(verdicts) >= 8
    assert all(v == "holds" for v in verdicts.values()), verdicts
    assert {"exact", "slopes", "dmin", "monte-carlo", "coverage", "frames", "prop2"} <= set(
        result.tables
    )
    assert {f["id"] for f in result.figures} >= {"tv-vs-d", "kl-vs-d"}


def test_study_is_deterministic_given_the_seed() -> None:
    run = get_study("spherical-clt").run
    a = run(RunContext(config=spherical_clt.TINY, seed=3)).to_dict()
    b = run(RunContext(config=spherical_clt.TINY, seed=3)).to_dict()
    assert a["tables"]["monte-carlo"] == b["tables"]["monte-carlo"]


def test_quick_config_holds_the_grids_of_the_reports() -> None:
    quick = spherical_clt.CONFIGS["quick"]
    assert quick.d_exact == tuple(2**j for j in range(3, 15))
    assert (quick.n_mc, quick.replicates) == (20_000, 8)
    with pytest.raises(AttributeError):
        quick.n_mc = 1  # type: ignore[misc]


@pytest.mark.slow
def test_quick_scale_end_to_end() -> None:
    result = get_study("spherical-clt").run(RunContext(scale="quick", seed=20260))
    assert all(row["verdict"] != "violated" for row in result.rows)
