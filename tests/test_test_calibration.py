"""Study ``test-calibration`` (theory.md section 5, question 2): registry, verdicts, resuming."""

from __future__ import annotations

import pytest

import simulator.studies.test_calibration as tc
from simulator.report import figure_png, study_markdown
from simulator.results import VERDICTS
from simulator.studies import STUDIES, RunContext
from simulator.studies.registry import MemoryStore


@pytest.fixture()
def small_grid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tc, "N_GRID", (1000, 2000))
    monkeypatch.setattr(tc, "D_GRID", (8, 256))
    monkeypatch.setattr(tc, "COLUMNS", {"quick": 300, "full": 300})


def test_registered() -> None:
    assert "test-calibration" in STUDIES
    assert "question 2" in " ".join(STUDIES["test-calibration"].claims)


def test_study_rows_tables_and_figures(small_grid: None) -> None:
    result = tc.run(RunContext(scale="quick", seed=5))
    claims = [r["claim"] for r in result.rows]
    assert "exact Gaussian independent coordinates: DP pass fraction consistent with 95%" in claims
    assert all(r["verdict"] in VERDICTS for r in result.rows)
    by_claim = {r["claim"]: r for r in result.rows}
    # Excess kurtosis -6/(d+2) = -0.6 at d = 8 is detected with n = 1000 rows: the pass rates
    # collapse (both tests pass under 20% of coordinates; see the sphere-null tests).
    assert by_claim["paper's tests accept the exact sphere marginal at d=8, n=1000"]["verdict"] == (
        "violated"
    )
    assert len(result.tables["pass-rates"]["rows"]) == 4
    assert {f["id"] for f in result.figures} == {"ad-pass", "dp-pass", "ad-mean"}
    for fig in result.figures:
        assert figure_png(fig).startswith(b"\x89PNG")
    payload = result.to_dict()
    payload["provenance"] = {}
    assert "test-calibration" in study_markdown(payload)


def test_resume_reuses_saved_cells(small_grid: None, monkeypatch: pytest.MonkeyPatch) -> None:
    store = MemoryStore()
    first = tc.run(RunContext(scale="quick", seed=9, store=store)).to_dict()
    calls = []
    original = tc.coordinate_null

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(tc, "coordinate_null", counting)
    again = tc.run(RunContext(scale="quick", seed=9, store=store)).to_dict()
    assert calls == [] and again == first
    # A fresh store recomputes every cell and, being seeded per cell, reproduces the numbers.
    fresh = tc.run(RunContext(scale="quick", seed=9)).to_dict()
    assert len(calls) == 2 * 2 * 2 and fresh == first


@pytest.mark.slow
def test_quick_scale_runs() -> None:
    result = tc.run(RunContext(scale="quick", seed=20260))
    assert len(result.rows) == 2 + 2 * len(tc.N_GRID)
