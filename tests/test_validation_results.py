"""Argument checks and three-valued verdicts."""

from __future__ import annotations

import numpy as np
import pytest

from simulator import results
from simulator.validation import as_finite_matrix, check_dimensions, check_int, check_real


def test_check_int() -> None:
    assert check_int("n", 5, low=1) == 5
    assert check_int("n", 1e6, low=1) == 1_000_000
    assert check_int("n", np.int64(7)) == 7
    for bad, match in [
        (0, ">= 1"),
        (2.5, "integer"),
        (float("nan"), "finite"),
        (True, "integer"),
        ("3", "integer"),
    ]:
        with pytest.raises(ValueError, match=match):
            check_int("n", bad, low=1)
    with pytest.raises(ValueError, match=r"in \[1, 3\]"):
        check_int("n", 4, low=1, high=3)


def test_check_real() -> None:
    assert check_real("p", 0.5, low=0, high=1) == 0.5
    with pytest.raises(ValueError, match=r"p must lie in \[0, 1\]"):
        check_real("p", 1.5, low=0, high=1)
    with pytest.raises(ValueError, match=r"\(0, inf\)"):
        check_real("kappa", 0.0, low=0, low_open=True)
    with pytest.raises(ValueError, match="finite"):
        check_real("x", float("inf"))


def test_check_dimensions_and_finite() -> None:
    assert check_dimensions(10, 3) == (10, 3)
    with pytest.raises(ValueError, match="1 <= k < d"):
        check_dimensions(3, 3)
    with pytest.raises(ValueError, match="2 row"):
        as_finite_matrix("x", np.array([[1.0, np.nan], [np.inf, 0.0], [1.0, 2.0]]))
    with pytest.raises(ValueError, match="at least 4 rows"):
        as_finite_matrix("x", np.ones((3, 2)), min_rows=4)
    with pytest.raises(ValueError, match="d >= 2 columns"):
        as_finite_matrix("x", np.ones((3, 1)), min_cols=2)
    with pytest.raises(ValueError, match="shape"):
        as_finite_matrix("x", np.ones(3))


def test_verdicts() -> None:
    assert results.verdict_upper_bound(0.1, 0.2, 0.3) == results.HOLDS
    assert results.verdict_upper_bound(0.4, 0.5, 0.3) == results.VIOLATED
    assert results.verdict_upper_bound(0.2, 0.4, 0.3) == results.INCONCLUSIVE
    assert results.verdict_equivalent(0.98, 1.01, 1.0, 0.05) == results.HOLDS
    assert results.verdict_equivalent(1.1, 1.2, 1.0, 0.05) == results.VIOLATED
    assert results.verdict_equivalent(0.9, 1.2, 1.0, 0.05) == results.INCONCLUSIVE
    assert results.combine_verdicts(["holds", "holds"]) == "holds"
    assert results.combine_verdicts(["holds", "inconclusive"]) == "inconclusive"
    assert results.combine_verdicts(["inconclusive", "violated"]) == "violated"
    assert results.combine_verdicts([]) == "inconclusive"


def test_normal_estimate_and_study_result() -> None:
    est = results.normal_estimate([1.0, 2.0, 3.0, 4.0])
    assert est.value == 2.5 and est.covers(2.5) and not est.covers(10.0)
    assert est.stderr == pytest.approx(np.std([1, 2, 3, 4], ddof=1) / 2)
    with pytest.raises(ValueError, match="at least 2"):
        results.normal_estimate([1.0])
    r = results.StudyResult("s", "t", ["c"])
    with pytest.raises(ValueError, match="verdict must be"):
        r.add_verdict("c", "ref", "maybe")
    with pytest.raises(ValueError, match="figure spec"):
        r.add_figure({"id": "x"})
