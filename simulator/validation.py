"""Argument checks shared by the library: every failure is a ValueError naming the parameter
and its admissible range. Nothing is clipped."""

from __future__ import annotations

import math
import numbers

import numpy as np


def check_int(name: str, value: object, *, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` as an ``int`` if it is an integer in ``[low, high]``; else ValueError.

    Integral floats such as ``1e6`` are accepted (command lines and configs produce them);
    fractional, non-finite and boolean values are not.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if not math.isfinite(float(value)):
        raise ValueError(f"{name} must be a finite integer, got {value!r}")
    if isinstance(value, numbers.Integral):
        out = int(value)
    elif float(value).is_integer():
        out = int(value)
    else:
        raise ValueError(f"{name} must be an integer, got {value!r}")
    _check_range(name, out, low, high)
    return out


def check_real(
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a finite ``float`` inside the given (closed unless ``*_open``) range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    out = float(value)
    if not math.isfinite(out):
        raise ValueError(f"{name} must be finite, got {value!r}")
    bad = (low is not None and (out < low or (low_open and out == low))) or (
        high is not None and (out > high or (high_open and out == high))
    )
    if bad:
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        left = "(" if low_open or low is None else "["
        right = ")" if high_open or high is None else "]"
        interval = f"{left}{lo}, {hi}{right}"
        raise ValueError(f"{name} must lie in {interval}, got {value!r}")
    return out


def check_dimensions(d: object, k: object) -> tuple[int, int]:
    """Validate a sphere dimension ``d >= 2`` and projection size ``1 <= k < d``."""
    d = check_int("d", d, low=2)
    k = check_int("k", k, low=1)
    if k >= d:
        raise ValueError(f"k must satisfy 1 <= k < d (= {d}), got k={k}")
    return d, k


def as_finite_matrix(name: str, x: object, *, min_rows: int = 2, min_cols: int = 1) -> np.ndarray:
    """Host float64 copy of a sample matrix ``(n, d)``; ValueError unless it has at least
    ``min_rows`` rows and ``min_cols`` columns and only finite entries."""
    from simulator.backend import to_host

    arr = np.asarray(to_host(x), dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{name} must have shape (n, d), got {arr.shape}")
    if arr.shape[0] < min_rows:
        raise ValueError(f"{name} needs at least {min_rows} rows, got {arr.shape[0]}")
    if arr.shape[1] < min_cols:
        raise ValueError(f"{name} needs d >= {min_cols} columns, got {arr.shape[1]}")
    if not np.all(np.isfinite(arr)):
        bad_rows = int((~np.isfinite(arr)).any(axis=1).sum())
        raise ValueError(f"{name} has non-finite entries in {bad_rows} row(s)")
    return arr


def _check_range(name: str, value: int, low: int | None, high: int | None) -> None:
    if (low is not None and value < low) or (high is not None and value > high):
        if high is None:
            rng = f">= {low}"
        elif low is None:
            rng = f"<= {high}"
        else:
            rng = f"in [{low}, {high}]"
        raise ValueError(f"{name} must be an integer {rng}, got {value}")
