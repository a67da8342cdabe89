"""Argument checks shared by the library: every failure is a ValueError naming the parameter
and its admissible range. Nothing is clipped."""

from __future__ import annotations

import math
import numbers
import os

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


# Row norms whose square lies in [2^-960, inf) lose nothing to the squaring: an entry whose square
# underflows contributes at most 2^-1074 each, below 2^-84 relative for up to 2^31 columns.
_SQUARE_SAFE_BELOW = 2.0**-960


def row_norms(x: np.ndarray) -> np.ndarray:
    """Euclidean norm of each row of a finite ``(n, d)`` matrix, in float64, for any magnitude.

    Rows whose sum of squares overflows (entries near 1e200) or falls into the underflow range
    (entries near 1e-200) are recomputed as ``m * ||x / m||`` with ``m = max |x_ij|`` of the row
    (scale before squaring, as LAPACK's ``dnrm2``); the others keep the one-pass sum of squares.
    A row is zero only when all its entries are zero.
    """
    from simulator.backend import host_only

    x = np.asarray(host_only("x", x))
    if x.ndim != 2:
        raise ValueError(f"x must have shape (n, d), got {x.shape}")
    x = x.astype(np.float64, copy=False)
    with np.errstate(over="ignore", under="ignore"):  # both are detected and redone below
        squares = np.einsum("ij,ij->i", x, x)
    norms = np.sqrt(squares)
    rescue = np.flatnonzero(~(np.isfinite(squares) & (squares >= _SQUARE_SAFE_BELOW)))
    if rescue.size:
        block = x[rescue]
        scale = np.max(np.abs(block), axis=1)
        nonzero = scale > 0
        scaled = block[nonzero] / scale[nonzero, None]
        fixed = np.zeros(rescue.size)
        fixed[nonzero] = scale[nonzero] * np.sqrt(np.einsum("ij,ij->i", scaled, scaled))
        norms[rescue] = fixed
    return norms


# Moment statistics (AD, DP) raise centred entries to the fourth power: with entries of size up
# to 1e70 the sums stay below 1e300 for up to 1e20 rows, and down to 1e-70 the fourth powers stay
# above the float64 subnormal range (2.2e-308).
MOMENT_SCALE_RANGE = (1e-70, 1e70)


def check_moment_scale(largest_row_norm: float) -> float:
    """ValueError unless ``largest_row_norm`` lies in :data:`MOMENT_SCALE_RANGE`.

    A necessary condition for the per-coordinate moments of the raw entries to be computed
    without overflow or loss to subnormals; every audit statistic is scale-invariant, so data
    outside the range can be rescaled by the user without changing the answer.
    """
    low, high = MOMENT_SCALE_RANGE
    value = float(largest_row_norm)
    if not low <= value <= high:
        raise ValueError(
            f"the largest row norm is {value:.3g}; the unnormalized variant needs it within "
            f"[{low:g}, {high:g}] so that fourth moments stay inside float64: rescale the data "
            "(the audit's statistics are scale-invariant) or audit the normalized variant only"
        )
    return value


_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"


def sniff_array_file(header_bytes: bytes) -> str | None:
    """The array-file format that ``header_bytes`` (the first bytes of a file) begin with.

    Returns ``"npy"`` for NumPy's ``.npy`` magic string ``\\x93NUMPY``, ``"npz"`` for a zip
    archive (what ``numpy.savez`` writes), and None for anything else, such as a text file: a
    loader can then say "not a NumPy .npy file" instead of a pickle hint from ``numpy.load``.
    """
    if not isinstance(header_bytes, (bytes, bytearray, memoryview)):
        raise ValueError(f"header_bytes must be bytes, got {type(header_bytes).__name__}")
    head = bytes(header_bytes[:8])
    if head.startswith(_NPY_MAGIC):
        return "npy"
    if head.startswith(_ZIP_MAGIC):
        return "npz"
    return None


def available_memory_bytes() -> int:
    """Memory available to a new allocation, in bytes.

    Linux's ``MemAvailable`` from ``/proc/meminfo`` (free memory plus reclaimable caches);
    elsewhere the free physical pages from ``os.sysconf``. ValueError if neither is readable.
    """
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024  # the kernel reports kiB
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, OSError, ValueError) as exc:
        raise ValueError("available memory is unknown on this system; give a limit") from exc


def default_memory_limit() -> int:
    """Half of :func:`available_memory_bytes`: room for the estimate's slack and other processes."""
    return available_memory_bytes() // 2


def format_bytes(nbytes: float) -> str:
    """``nbytes`` in binary units, e.g. ``'298 GiB'`` (three significant digits)."""
    units = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
    value, i = float(nbytes), 0
    while abs(value) >= 1024 and i < len(units) - 1:
        value /= 1024
        i += 1
    return f"{value:.3g} {units[i]}"


def check_memory(nbytes: object, *, what: str, limit_bytes: object) -> int:
    """Refuse an allocation estimated at ``nbytes`` above ``limit_bytes``, before any work.

    Returns ``nbytes`` as an int when it fits; otherwise ValueError with one line naming the size,
    the limit and ``what`` asked for it.
    """
    nbytes = check_real("nbytes", nbytes, low=0.0)
    limit = check_real("limit_bytes", limit_bytes, low=0.0, low_open=True)
    if nbytes > limit:
        raise ValueError(
            f"{what} needs about {format_bytes(nbytes)} of memory, above the limit of "
            f"{format_bytes(limit)}; reduce the sizes or raise the memory limit"
        )
    return int(nbytes)


def _check_range(name: str, value: int, low: int | None, high: int | None) -> None:
    if (low is not None and value < low) or (high is not None and value > high):
        if high is None:
            rng = f">= {low}"
        elif low is None:
            rng = f"<= {high}"
        else:
            rng = f"in [{low}, {high}]"
        raise ValueError(f"{name} must be an integer {rng}, got {value}")
