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


@pytest.mark.parametrize(
    ("interval", "expected"),
    [
        ((0.4, 0.5), "holds"),
        ((0.3, 0.5), "holds"),
        ((0.1, 0.2), "violated"),
        ((0.2, 0.4), "inconclusive"),
    ],
)
def test_lower_bound_verdict_mirrors_the_upper_bound(interval: tuple, expected: str) -> None:
    # Claim: measured >= 0.3.
    assert results.verdict_lower_bound(*interval, 0.3) == expected
    assert results.verdict_upper_bound(-interval[1], -interval[0], -0.3) == expected


def test_exact_and_test_verdicts() -> None:
    assert results.verdict_exact_upper_bound(1.0 + 1e-13, 1.0, 1e-12) == results.HOLDS
    assert results.verdict_exact_upper_bound(1.0 + 1e-11, 1.0, 1e-12) == results.VIOLATED
    assert results.verdict_from_test(0.02, 0.01) == results.HOLDS
    assert results.verdict_from_test(0.005, 0.01) == results.VIOLATED
    with pytest.raises(ValueError, match=r"level must lie in \(0, 1\)"):
        results.verdict_from_test(0.5, 1.0)


def test_tables_take_rows_keyed_by_column() -> None:
    r = results.StudyResult("s")
    r.add_table("t", "T", ["a", "b"], [{"b": 2, "a": 1}, {"a": 3, "b": None}])
    assert r.tables["t"]["rows"] == [{"a": 1, "b": 2}, {"a": 3, "b": None}]
    assert list(r.tables["t"]["rows"][0]) == ["a", "b"]  # stored in column order
    with pytest.raises(ValueError, match="row 1 must be a dict with exactly the columns"):
        r.add_table("u", "U", ["a", "b"], [{"a": 1, "b": 2}, {"a": 1}])
    with pytest.raises(ValueError, match="exactly the columns"):
        r.add_table("u", "U", ["a"], [{"a": 1, "c": 2}])
    with pytest.raises(ValueError, match="exactly the columns"):
        r.add_table("u", "U", ["a", "b"], [[1, 2]])
    with pytest.raises(ValueError, match="distinct"):
        r.add_table("u", "U", ["a", "a"], [])
    with pytest.raises(ValueError, match="added twice"):
        r.add_table("t", "T", ["a"], [])


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
