"""Study ``test-calibration`` (theory.md section 5, question 2): registry, verdicts, resuming."""

from __future__ import annotations

import pytest

import simulator.studies.test_calibration as tc
from simulator.report import figure_png, study_markdown
from simulator.results import FINDING, FINDING_VERDICTS, NOT_AS_PREDICTED
from simulator.studies import STUDIES, RunContext
from simulator.studies.registry import MemoryStore


def test_registered_claims_are_the_result_claims() -> None:
    study = STUDIES["test-calibration"]
    assert "exact sphere marginal" in " ".join(study.claims)
    result = tc.run(RunContext(config=tc.TINY, seed=5))
    assert result.claims == list(study.claims) and result.title == study.title


def test_study_rows_tables_and_figures() -> None:
    result = tc.run(RunContext(config=tc.TINY, seed=5))
    claims = [r["claim"] for r in result.rows]
    assert "exact Gaussian independent coordinates: DP pass fraction consistent with 95%" in claims
    # Issue 9 item 3: every row states this project's finding about the paper's tests, never a
    # "violated" claim of the paper.
    assert all(r["kind"] == FINDING and r["verdict"] in FINDING_VERDICTS for r in result.rows)
    by_claim = {r["claim"]: r for r in result.rows}
    # Excess kurtosis -6/(d+2) = -0.6 at d = 8 is detected with n = 1000 rows: the pass rates
    # collapse (both tests pass under 20% of coordinates; see the sphere-null tests).
    assert by_claim["paper's tests accept the exact sphere marginal at d=8, n=1000"]["verdict"] == (
        NOT_AS_PREDICTED
    )
    assert len(result.tables["pass-rates"]["rows"]) == 4
    assert {f["id"] for f in result.figures} == {"ad-pass", "dp-pass", "ad-mean"}
    for fig in result.figures:
        assert figure_png(fig).startswith(b"\x89PNG")
    payload = result.to_dict()
    payload["provenance"] = {}
    assert "test-calibration" in study_markdown(payload)


def test_resume_reuses_saved_cells(monkeypatch: pytest.MonkeyPatch) -> None:
    store = MemoryStore()
    first = tc.run(RunContext(config=tc.TINY, seed=9, store=store)).to_dict()
    calls = []
    original = tc.coordinate_null

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(tc, "coordinate_null", counting)
    again = tc.run(RunContext(config=tc.TINY, seed=9, store=store)).to_dict()
    assert calls == [] and again == first
    # A fresh store recomputes every cell and, being seeded per cell, reproduces the numbers.
    fresh = tc.run(RunContext(config=tc.TINY, seed=9)).to_dict()
    assert len(calls) == 2 * 2 * 2 and fresh == first


@pytest.mark.slow
def test_quick_scale_runs() -> None:
    result = tc.run(RunContext(scale="quick", seed=20260))
    assert len(result.rows) == 2 + 2 * len(tc.CONFIGS["quick"].n_grid)
