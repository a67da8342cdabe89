"""Extreme finite values, array-file sniffing and memory checks (issue 9 items 7 and 11)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator import validation
from simulator.cli.audit import load_embeddings
from simulator.gaussianity.audit import AuditOptions, audit
from simulator.gaussianity.uniformity import unit_rows
from simulator.validation import (
    check_memory,
    default_memory_limit,
    row_norms,
    sniff_array_file,
)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**63 - 1), exponent=st.integers(-1000, 1000), d=st.integers(1, 40))
def test_row_norms_match_hypot_at_any_scale(seed: int, exponent: int, d: int) -> None:
    # math.hypot is an independent overflow-safe reference; 2**exponent spans 1e-301 to 1e301.
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((5, d)) * 2.0**exponent
    expected = [math.hypot(*row) for row in x]
    np.testing.assert_allclose(row_norms(x), expected, rtol=4e-16 * d, atol=0)


@pytest.mark.parametrize("scale", [1e200, 1e-200, 1e307, 5e-324])
def test_row_norms_of_extreme_rows_are_finite_and_positive(scale: float) -> None:
    x = np.array([[3.0, 4.0], [0.0, 0.0], [1.0, 0.0]]) * scale
    norms = row_norms(x)
    if scale == 5e-324:  # the smallest subnormal: 3 and 4 times it round to 3 and 4 ulps
        assert norms[0] == pytest.approx(5 * scale, rel=0.1) and norms[2] == scale
    else:
        np.testing.assert_allclose(norms, [5 * scale, 0.0, scale], rtol=1e-15)


def test_row_norms_rejects_non_matrix() -> None:
    with pytest.raises(ValueError, match=r"shape \(n, d\)"):
        row_norms(np.ones(3))


@pytest.mark.parametrize("scale", [1e200, 1e-200])
def test_unit_rows_of_extreme_rows(scale: float) -> None:
    # Before: 1e-200 rows were reported as "zero norm", 1e200 rows became 0 / inf = 0.
    x = np.random.default_rng(1).standard_normal((6, 4))
    u = unit_rows(x * scale)
    np.testing.assert_allclose(u, unit_rows(x), rtol=1e-14)


@pytest.mark.parametrize("scale", [1e200, 1e-200])
def test_audit_normalized_variant_is_scale_invariant_at_extremes(scale: float) -> None:
    # Every direction-based statistic depends on z / ||z|| only: rows of size 1e200 or 1e-200 must
    # give the numbers of the unscaled rows (before: a cosine error, or "zero norm" rows).
    x = np.random.default_rng(2).standard_normal((120, 6))
    opts = AuditOptions(variants=("normalized",), cosine_pairs=50, gine_mc=19)
    base = audit(x, opts, rng=5)
    ext = audit(x * scale, opts, rng=5)
    assert [t.p_value for t in ext.uniformity] == pytest.approx(
        [t.p_value for t in base.uniformity], rel=1e-9
    )
    a, b = ext.cosines.to_dict(), base.cosines.to_dict()
    assert (a["mean"], a["scaled_sd"]) == pytest.approx((b["mean"], b["scaled_sd"]), rel=1e-9)


@pytest.mark.parametrize("scale", [1e80, 1e-80])
def test_audit_unnormalized_variant_refuses_where_moments_leave_float64(scale: float) -> None:
    x = np.random.default_rng(3).standard_normal((40, 4)) * scale
    with pytest.raises(ValueError, match=r"largest row norm is .*within \[1e-70, 1e\+70\]"):
        audit(x, AuditOptions(variants=("unnormalized",)), rng=0)


def test_sniff_array_file(tmp_path) -> None:
    np.save(tmp_path / "a.npy", np.zeros((2, 2)))
    np.savez(tmp_path / "b.npz", a=np.zeros(2))
    assert sniff_array_file((tmp_path / "a.npy").read_bytes()[:8]) == "npy"
    assert sniff_array_file((tmp_path / "b.npz").read_bytes()[:8]) == "npz"
    assert sniff_array_file(b"1,2,3\n4,5,6\n") is None
    assert sniff_array_file(b"") is None
    with pytest.raises(ValueError, match="header_bytes must be bytes"):
        sniff_array_file("\x93NUMPY")


def test_text_file_named_npy_is_not_a_npy_file(tmp_path) -> None:
    # Before: numpy's "pickled (object) data ... allow_pickle" hint.
    path = tmp_path / "emb.npy"
    path.write_text("1,2,3\n4,5,6\n")
    with pytest.raises(ValueError, match=r"not a NumPy \.npy file") as info:
        load_embeddings(path)
    assert "pickle" not in str(info.value)


def test_check_memory_message_names_size_limit_and_requester() -> None:
    assert check_memory(1024, what="the test", limit_bytes=2048) == 1024
    with pytest.raises(ValueError) as info:
        check_memory(320 * 2**30, what="audit's d x d scatter", limit_bytes=8 * 2**30)
    message = str(info.value)
    assert "\n" not in message
    assert "audit's d x d scatter" in message and "320 GiB" in message and "8 GiB" in message


@pytest.mark.parametrize(
    ("nbytes", "limit", "match"),
    [(-1, 10, "nbytes"), (float("nan"), 10, "nbytes"), (1, 0, "limit_bytes"), (1, -5, "limit")],
)
def test_check_memory_bad_input(nbytes: float, limit: float, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        check_memory(nbytes, what="x", limit_bytes=limit)


def test_available_memory_reads_meminfo_or_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    assert validation.available_memory_bytes() > 0

    def no_proc(*args: object, **kwargs: object) -> None:
        raise OSError("no /proc here")

    monkeypatch.setattr("builtins.open", no_proc)
    assert validation.available_memory_bytes() > 0  # os.sysconf path


def test_default_memory_limit_is_half_the_available(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validation, "available_memory_bytes", lambda: 10_000_001)
    assert default_memory_limit() == 5_000_000
