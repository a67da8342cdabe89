"""Library side of ``infonce-sim audit``: the paper's Gaussianity metrics on a real embedding
matrix, with calibrated finite-(n, d) nulls and the extra evidence of
:mod:`simulator.gaussianity.uniformity`.

:func:`audit` takes an ``(n, d)`` array (a NumPy memory map works: it is read in row chunks and
column blocks, never converted whole to float64) and returns an :class:`AuditResult`; it does no
I/O. Wide data (``d > n``) need no ``(d, d)`` matrix, no ``(d, n_directions)`` matrix of sliced
directions and no float64 copy of the rows: the directions' second moments, Gine's test, the
cosines and whitening go through ``(n, n)`` Gram matrices, so that the peak memory stays within
3x the input plus ``O(n^2)`` (issue 9, item 7; ``infonce-sim bench audit`` measures it).
Per variant (``unnormalized``: the embeddings ``z``; ``normalized``: ``z / ||z||``) it reports
the paper's Table-2 row (CV of norms, Eq. 20; mean AD statistic and AD pass fraction; mean DP
p-value and DP pass fraction), compares the pass fractions and averages with the exact Gaussian
and exact sphere-marginal nulls of :mod:`simulator.gaussianity.nulls`, and adds sliced Gaussianity,
Mardia's
tests, uniformity tests of the directions and negative-pair cosine similarities.

Minimum input: ``n >= 20`` rows (the DP skewness test needs 8; the Anscombe-Glynn kurtosis
approximation is recommended from 20) and ``d >= 2`` columns; finite entries (or
``drop_nonfinite=True``); no zero-norm rows when normalising.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy import linalg

from simulator.backend import RNGLike, host_only, normalize_rng, seed_entropy
from simulator.gaussianity.metrics import (
    AD_CRITICAL_5,
    DP_ALPHA,
    GaussianityMetrics,
    aggregate,
    anderson_normal,
    anderson_normal_sorted,
    cv_from_norms,
    dagostino_pearson_pvalue,
)
from simulator.gaussianity.nulls import (
    NULL_BLOCK_ELEMENTS,
    CoordinateNull,
    NullComparison,
    compare_mean,
    compare_pass_fraction,
    default_null_columns,
)
from simulator.gaussianity.nulls import coordinate_null as _coordinate_null
from simulator.gaussianity.uniformity import (
    CosineResult,
    MardiaResult,
    TestResult,
    Whitening,
    bingham_from_gram,
    bingham_from_scatter,
    cosines_against_null,
    gine_from_gram,
    gine_test,
    mardia_sphere_test,
    mardia_test,
    pair_indices,
    rayleigh_from_mean,
    whitening_from_moments,
)
from simulator.sphere.sampling import random_directions
from simulator.validation import check_int, check_moment_scale, row_norms

VARIANTS = ("unnormalized", "normalized")
#: Fewest rows an audit accepts (see the module docstring).
MIN_ROWS_AUDIT = 20
#: Family-wise level of the four null comparisons (pass fractions and means of AD and DP).
CONSISTENCY_LEVEL = 0.05
#: Float64 elements per working block (row chunks and column blocks): at most 16 MiB.
_BLOCK_ELEMENTS = 2**21
#: Smallest working block: 512 KiB.
_MIN_BLOCK_ELEMENTS = 2**16


def _block_elements(n: int, d: int, share: int = 8) -> int:
    """Float64 elements per working block for an ``(n, d)`` input: a ``share``-th of the input,
    kept within [2^16, 2^21], so that the blocks of a small file stay small beside it (the
    working set is a few blocks per thread)."""
    return max(_MIN_BLOCK_ELEMENTS, min(_BLOCK_ELEMENTS, n * d // share))


#: Default rows of Gine's test: every row up to this many (its cost is quadratic in them).
GINE_ROWS = 1000


@dataclass(frozen=True)
class VariantAudit:
    """The audit of one variant: Table-2 metrics, null comparisons and extra evidence."""

    name: str
    metrics: GaussianityMetrics
    ad: np.ndarray = field(repr=False)
    dp: np.ndarray = field(repr=False)
    constant_columns: list[int]
    cv_note: str
    sliced: GaussianityMetrics
    mardia: MardiaResult | None
    mardia_note: str
    comparisons: dict[str, dict[str, NullComparison]]
    verdict: str

    def consistent_with(self, law: str) -> bool:
        return all(c.consistent for c in self.comparisons[law].values())

    def to_dict(self) -> dict[str, Any]:
        m = self.metrics
        return {
            "n": m.n,
            "d": m.d,
            "cv": m.cv,
            "cv_note": self.cv_note,
            "ad_mean": m.ad_mean,
            "ad_pass": m.ad_pass.fraction,
            "ad_pass_ci": [m.ad_pass.ci_low, m.ad_pass.ci_high],
            "dp_mean": m.dp_mean,
            "dp_pass": m.dp_pass.fraction,
            "dp_pass_ci": [m.dp_pass.ci_low, m.dp_pass.ci_high],
            "ad_critical": m.ad_critical,
            "dp_alpha": m.dp_alpha,
            "n_constant": m.n_constant,
            "constant_columns": self.constant_columns,
            "sliced": {
                "directions": self.sliced.d,
                "ad_mean": self.sliced.ad_mean,
                "ad_pass": self.sliced.ad_pass.fraction,
                "dp_mean": self.sliced.dp_mean,
                "dp_pass": self.sliced.dp_pass.fraction,
            },
            "mardia": None if self.mardia is None else self.mardia.to_dict(),
            "mardia_note": self.mardia_note,
            "nulls": {
                law: {key: c.to_dict() for key, c in comps.items()}
                for law, comps in self.comparisons.items()
            },
            "consistent_with": {law: self.consistent_with(law) for law in self.comparisons},
            "verdict": self.verdict,
        }


@dataclass(frozen=True)
class AuditResult:
    """Everything :func:`audit` measured; ``to_dict()`` is the JSON the CLI prints and saves."""

    n_input: int
    n: int
    d: int
    dropped_nonfinite: int
    subsampled: bool
    whitening: dict[str, Any] | None
    variants: dict[str, VariantAudit]
    uniformity: list[TestResult]
    uniformity_note: str
    cosines: CosineResult | None
    cosines_whitened: CosineResult | None
    nulls: dict[str, CoordinateNull]
    norms: np.ndarray = field(repr=False)
    seed_entropy: Any = None

    def to_dict(self) -> dict[str, Any]:
        """One key per variant; the shared context (input, uniformity tests, cosines, null
        models) is repeated inside each variant so that the top-level keys are the variants."""
        entropy = self.seed_entropy
        if isinstance(entropy, int) and entropy > 2**53:
            entropy = str(entropy)
        shared = {
            "input": {
                "n_input": self.n_input,
                "n": self.n,
                "d": self.d,
                "dropped_nonfinite": self.dropped_nonfinite,
                "subsampled": self.subsampled,
                "whitening": self.whitening,
                "seed_entropy": entropy,
            },
            "uniformity": [t.to_dict() for t in self.uniformity],
            "uniformity_note": self.uniformity_note,
            "cosines": None if self.cosines is None else self.cosines.to_dict(),
            "cosines_whitened": (
                None if self.cosines_whitened is None else self.cosines_whitened.to_dict()
            ),
            "null_models": {law: null.to_dict() for law, null in self.nulls.items()},
        }
        return {name: {**v.to_dict(), **shared} for name, v in self.variants.items()}


def nonfinite_rows(x: Any) -> np.ndarray:
    """Boolean mask of rows holding a NaN or infinite entry (read in row chunks)."""
    n, d = x.shape
    step = max(1, _block_elements(n, d) // max(d, 1))
    bad = np.zeros(n, dtype=bool)
    for i in range(0, n, step):
        bad[i : i + step] = ~np.isfinite(np.asarray(x[i : i + step])).all(axis=1)
    return bad


def _validate(x: Any) -> tuple[int, int]:
    host_only("embeddings", x)
    shape = getattr(x, "shape", None)
    if shape is None or len(shape) != 2:
        raise ValueError(
            f"embeddings must be a 2-D array (rows = samples, columns = coordinates), got shape "
            f"{shape}"
        )
    if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise ValueError(f"embeddings must be real numbers, got dtype {x.dtype}")
    n, d = int(shape[0]), int(shape[1])
    if n < MIN_ROWS_AUDIT:
        raise ValueError(
            f"the audit needs at least {MIN_ROWS_AUDIT} rows (the DP skewness test needs 8, the "
            f"kurtosis approximation is recommended from 20), got {n}"
        )
    if d < 2:
        raise ValueError(f"the audit needs d >= 2 columns, got {d}")
    return n, d


@dataclass(frozen=True)
class _GramWhitening:
    """PCA or ZCA whitening of the rows of wide data (``d > n``), in ``O(n^2 + d)`` memory.

    With the thin SVD ``X - mean = U S V^T`` of the centred rows, the whitened rows are
    ``sqrt(n - 1) U_r`` (PCA, ``rank`` columns) and ``sqrt(n - 1) U_r V_r^T = mix (X - mean)``
    with ``mix = sqrt(n - 1) U_r S_r^{-1} U_r^T`` (ZCA, ``d`` columns). ``U`` and ``S`` come
    from the eigendecomposition ``(X - mean)(X - mean)^T = U S^2 U^T`` of the ``(n, n)`` Gram
    matrix (:func:`_gram_whitening`), so neither ``V`` (``rank x d``) nor a float64 copy of
    ``X`` is formed. Unlike :class:`~simulator.gaussianity.uniformity.Whitening` it maps only
    the rows it was fitted to: ``rows`` and ``columns`` take the fitted data ``x``.

    Attributes
    ----------
    method : {'pca', 'zca'}
    rank : int
        Eigenvalues of the covariance above ``rtol`` times the largest.
    mean : ndarray of shape (d,)
        Column means of ``x``.
    mix : ndarray
        The whitened rows ``(n, rank)`` (PCA) or the ``(n, n)`` matrix ``mix`` (ZCA).
    """

    method: str
    rank: int
    mean: np.ndarray = field(repr=False)
    mix: np.ndarray = field(repr=False)

    @property
    def d_out(self) -> int:
        return self.rank if self.method == "pca" else self.mean.size

    def rows(self, x: Any, idx: np.ndarray, block: int) -> np.ndarray:
        """Whitened rows ``idx`` of the fitted data ``x`` (ZCA: one pass over column blocks)."""
        if self.method == "pca":
            return self.mix[idx]
        n, d = x.shape
        out = np.empty((len(idx), d))
        width = max(1, block // n)
        mix = self.mix[idx]
        for j in range(0, d, width):
            j1 = min(d, j + width)
            out[:, j:j1] = mix @ (np.asarray(x[:, j:j1], dtype=np.float64) - self.mean[j:j1])
        return out

    def columns(self, x: Any, j0: int, j1: int) -> np.ndarray:
        """Whitened columns ``j0:j1`` of the fitted data ``x`` as a ``(j1 - j0, n)`` array."""
        if self.method == "pca":
            return np.ascontiguousarray(self.mix[:, j0:j1].T)
        centred = np.asarray(x[:, j0:j1], dtype=np.float64) - self.mean[j0:j1]
        return np.ascontiguousarray((self.mix @ centred).T)


def _gram_whitening(x: Any, method: str, block: int, *, rtol: float = 1e-10) -> _GramWhitening:
    """Fit :class:`_GramWhitening` to wide data ``x`` in one pass over column blocks.

    The rank rule is :func:`simulator.gaussianity.uniformity.whitening_from_moments`'s (covariance
    eigenvalues ``S^2 / (n - 1)`` above ``rtol`` times the largest). PCA axes are defined up
    to sign; each is oriented so that its largest-magnitude entry of ``U`` is positive.
    """
    n, d = x.shape
    mean = np.empty(d)
    gram = np.zeros((n, n))
    width = max(1, block // n)
    for j in range(0, d, width):
        j1 = min(d, j + width)
        cols = np.asarray(x[:, j:j1], dtype=np.float64)
        mean[j:j1] = cols.mean(axis=0)
        centred = cols - mean[j:j1]  # not in place: ``cols`` may be a view of the input
        gram += centred @ centred.T
    evals, evecs = np.linalg.eigh((gram + gram.T) / 2.0)
    evals, evecs = evals[::-1], evecs[:, ::-1]
    lam = evals / (n - 1)
    if not lam[0] > 0:
        raise ValueError("cannot whiten: the covariance is zero (every coordinate is constant)")
    keep = lam > rtol * lam[0]
    u = evecs[:, keep]
    u = u * np.where(u[np.abs(u).argmax(axis=0), np.arange(u.shape[1])] < 0, -1.0, 1.0)
    if method == "pca":
        mix = math.sqrt(n - 1) * u
    else:
        mix = (u * (math.sqrt(n - 1) / np.sqrt(evals[keep]))) @ u.T
    return _GramWhitening(method, int(keep.sum()), mean, mix)


class _Base:
    """Row and column access to the audited matrix (raw, or whitened on the fly), in float64."""

    def __init__(self, x: Any, whitening: Whitening | _GramWhitening | None) -> None:
        self.x = x
        self.w = whitening
        self.n = x.shape[0]
        self.d = x.shape[1] if whitening is None else whitening.d_out
        self.block = _block_elements(self.n, max(self.d, x.shape[1]))

    def rows(self, i0: int, i1: int) -> np.ndarray:
        if isinstance(self.w, _GramWhitening):
            return self.w.rows(self.x, np.arange(i0, min(i1, self.n)), self.block)
        block = np.asarray(self.x[i0:i1], dtype=np.float64)
        return block if self.w is None else self.w.apply(block)

    def take(self, idx: np.ndarray) -> np.ndarray:
        if isinstance(self.w, _GramWhitening):
            return self.w.rows(self.x, idx, self.block)
        block = np.asarray(self.x[np.sort(idx)], dtype=np.float64)
        block = block[np.argsort(np.argsort(idx))]
        return block if self.w is None else self.w.apply(block)

    def columns(self, j0: int, j1: int) -> np.ndarray:
        """Columns ``j0:j1`` as a contiguous ``(j1 - j0, n)`` array: the input's own float
        dtype when unwhitened (float64 for integer input), float64 when whitened."""
        if isinstance(self.w, _GramWhitening):
            return self.w.columns(self.x, j0, j1)
        if self.w is None:
            block = np.asarray(self.x[:, j0:j1])
            if block.dtype not in (np.float32, np.float64):
                block = block.astype(np.float64)
            return np.ascontiguousarray(block.T)
        out = np.empty((j1 - j0, self.n))
        step = max(1, self.block // self.x.shape[1])
        for i in range(0, self.n, step):
            out[:, i : i + step] = self.w.apply_columns(self.x[i : i + step], j0, j1).T
        return out


def _moments(x: Any) -> tuple[np.ndarray, np.ndarray]:
    """Column means and the ``1/(n-1)`` covariance, accumulated over row chunks."""
    n, d = x.shape
    step = max(1, _block_elements(n, d) // d)
    shift = np.asarray(x[0], dtype=np.float64)  # shifted sums keep the covariance accurate
    total = np.zeros(d)
    cross = np.zeros((d, d))
    for i in range(0, n, step):
        chunk = np.asarray(x[i : i + step], dtype=np.float64) - shift
        total += chunk.sum(axis=0)
        cross += chunk.T @ chunk
    mean_shifted = total / n
    cov = (cross - n * np.outer(mean_shifted, mean_shifted)) / (n - 1)
    return mean_shifted + shift, cov


@dataclass(frozen=True)
class AuditOptions:
    """What :func:`audit` measures and how much evidence it gathers.

    Attributes
    ----------
    variants : tuple of {'unnormalized', 'normalized'}
        ``unnormalized`` audits the embeddings ``z``, ``normalized`` audits ``z / ||z||``.
    whiten : {None, 'pca', 'zca'}
        Whiten the raw embeddings before everything else (paper Figs. 9-10); the variants are
        then formed from the whitened rows.
    max_rows : int, optional
        Audit a uniformly random subset of this many rows, ``>= MIN_ROWS_AUDIT``.
    drop_nonfinite : bool
        Drop rows with NaN/inf entries instead of raising.
    null_columns : int, optional
        Monte Carlo columns per null (default
        :func:`simulator.gaussianity.nulls.default_null_columns`).
    n_directions, mardia_k, cosine_pairs : int
        Sizes of the extra evidence: sliced directions, Mardia's projection dimension (all
        coordinates when ``d <= mardia_k``), disjoint negative pairs (at most ``n / 2``: the
        pairs must be independent; the result states the Kolmogorov distance they resolve).
    gine_rows : int, optional
        Rows of Gine's test (default: every row up to 1000; its cost is quadratic in them).
    gine_mc : int, optional
        Gine's Monte Carlo samples (default
        :func:`simulator.gaussianity.uniformity.gine_default_mc`: 999 when affordable, >= 99).
    mardia_mc : int
        Monte Carlo samples of uniform directions that calibrate Mardia's tests of the
        normalized variant (:func:`simulator.gaussianity.uniformity.mardia_sphere_test`).
    ad_critical, dp_alpha : float
        Pass rules (the paper's 0.752 and 0.05, Table 2).
    workers : int
        Threads for the per-coordinate tests (results do not depend on it).
    """

    variants: tuple[str, ...] = VARIANTS
    whiten: str | None = None
    max_rows: int | None = None
    drop_nonfinite: bool = False
    null_columns: int | None = None
    n_directions: int = 32
    mardia_k: int = 8
    gine_rows: int | None = None
    gine_mc: int | None = None
    mardia_mc: int = 99
    cosine_pairs: int = 20_000
    ad_critical: float = AD_CRITICAL_5
    dp_alpha: float = DP_ALPHA
    workers: int = 2

    def __post_init__(self) -> None:
        bad_variants = [v for v in self.variants if v not in VARIANTS]
        if not self.variants or bad_variants:
            raise ValueError(
                f"variants must be a non-empty subset of {VARIANTS}, got {self.variants!r}"
            )
        if self.whiten is not None and self.whiten not in ("pca", "zca"):
            raise ValueError(f"whiten must be None, 'pca' or 'zca', got {self.whiten!r}")
        if self.max_rows is not None:
            object.__setattr__(
                self, "max_rows", check_int("max_rows", self.max_rows, low=MIN_ROWS_AUDIT)
            )
        for name in ("n_directions", "mardia_k", "workers", "mardia_mc", "cosine_pairs"):
            object.__setattr__(self, name, check_int(name, getattr(self, name), low=1))
        if self.gine_rows is not None:
            object.__setattr__(self, "gine_rows", check_int("gine_rows", self.gine_rows, low=3))
        if self.gine_mc is not None:
            object.__setattr__(self, "gine_mc", check_int("gine_mc", self.gine_mc, low=1))


@dataclass(frozen=True)
class _Streams:
    """Independent generators of the audit's random steps (SPEC 7: spawned, never offset)."""

    rows: np.random.Generator
    dirs: np.random.Generator
    pairs: np.random.Generator
    gine: np.random.Generator
    mardia: np.random.Generator
    gauss: np.random.Generator
    sphere: np.random.Generator


@dataclass(frozen=True)
class _RowPass:
    """What the passes over the data yield: norms, the directions' first and second moments
    (the ``(d, d)`` scatter of tall data, the ``(n, n)`` Gram matrix of wide data, zero rows
    and columns for zero rows), the sliced projections per variant and which rows are nonzero
    before whitening."""

    norms: np.ndarray
    u_sum: np.ndarray
    u_scatter: np.ndarray | None
    proj: dict[str, np.ndarray]
    raw_nonzero: np.ndarray
    full: dict[str, np.ndarray]
    u_gram: np.ndarray | None = None

    @property
    def zero_rows(self) -> int:
        return int((self.norms == 0).sum())


@dataclass(frozen=True)
class _DirectionEvidence:
    uniformity: list[TestResult]
    note: str
    cosines: CosineResult | None
    cosines_whitened: CosineResult | None


def audit_memory_bytes(n: int, d: int, itemsize: int, options: AuditOptions | None = None) -> int:
    """Upper estimate of the memory :func:`audit` allocates for an ``(n, d)`` input whose
    entries take ``itemsize`` bytes (the input itself, e.g. a memory map, not counted).

    Every term is linear in ``n d`` or in one of ``n``, ``d``, except the directions' second
    moment: ``O(d^2)`` through the scatter when ``d <= n``, ``O(n^2)`` through the Gram matrix
    when ``d > n`` (which also serves Gine's test, the cosines and ``whiten``); and the
    covariance of ``whiten`` on tall data (``O(d^2)``). The working blocks add a constant (row
    chunks and column blocks of at most ``2^21`` float64 each, per thread).
    Callers compare it with a limit before any work (:func:`simulator.validation.check_memory`).
    """
    opts = AuditOptions() if options is None else options
    n = check_int("n", n, low=1)
    d = check_int("d", d, low=1)
    itemsize = check_int("itemsize", itemsize, low=1)
    f8 = 8.0
    blocks = f8 * _block_elements(n, d) * (6 + 4 * opts.workers)
    rows = n if opts.max_rows is None else min(n, opts.max_rows)
    total = blocks
    if opts.max_rows is not None or opts.drop_nonfinite:
        total += rows * d * (f8 if opts.drop_nonfinite else itemsize)  # the selected rows
    n_var = len(opts.variants)
    total += rows * f8 * (4 + n_var * opts.n_directions)  # norms, masks, projections
    if d <= opts.mardia_k:
        total += n_var * rows * d * f8
    total += rows * f8 * (opts.mardia_k**2 + 2 * opts.mardia_k)  # Mardia's products
    total += d * f8 * (2 + 2 * n_var)  # means, per-coordinate results
    wide = d > rows
    count = opts.n_directions
    if not (wide and d * count > _block_elements(rows, d) and d >= 8 * count):
        total += 3 * d * count * f8  # the directions and their QR (not streamed)
    if wide:
        total += 3 * rows**2 * f8  # the directions' Gram matrix, its nonzero rows, Gine's rows
        if opts.whiten is not None:
            total += 4 * rows**2 * f8  # the centred rows' Gram matrix, eigenvectors, the map
    else:
        total += 1.5 * d**2 * f8  # the scatter and its float32 products
        if opts.whiten is not None:
            total += 6 * d**2 * f8  # cross products, covariance, eigenvectors, map
    m = min(rows, GINE_ROWS if opts.gine_rows is None else opts.gine_rows)
    total += 5 * m**2 * f8 + (0 if wide else 3 * m * d * f8)  # Gine's Gram matrix, angles, rows
    columns = default_null_columns(rows) if opts.null_columns is None else opts.null_columns
    total += 2 * f8 * (NULL_BLOCK_ELEMENTS * 3 + 2 * columns)  # two nulls
    total += 4 * f8 * min(opts.cosine_pairs, rows // 2)  # pair indices and cosines
    return int(total)


def audit(x: Any, options: AuditOptions | None = None, *, rng: RNGLike = None) -> AuditResult:
    """Audit an embedding matrix with the paper's metrics and calibrated nulls.

    A pipeline of named steps: choose the rows (:func:`_select_rows`), whiten, one pass over the
    rows (:func:`_row_pass`) and, for wide data, one over column blocks (:func:`_column_pass`),
    the direction evidence (:func:`_direction_evidence`), the two null laws
    (:func:`_null_laws`), the per-coordinate tests (:func:`_coordinate_tests`) and, per
    variant, the Table-2 metrics and null comparisons (:func:`_variant_audit`).

    Parameters
    ----------
    x : array of shape (n, d)
        Embeddings, rows are samples (any real dtype; a memory map is streamed).
    options : AuditOptions, optional
        What to measure (default ``AuditOptions()``).
    rng : SPEC 7 seed
        Drives the row subset, projections, pairs, Gine's Monte Carlo and the nulls.

    Returns
    -------
    AuditResult
    """
    opts = AuditOptions() if options is None else options
    n_input, d_input = _validate(x)
    gen = normalize_rng(rng)
    streams = _Streams(*gen.spawn(7))
    x, dropped, subsampled = _select_rows(x, n_input, opts, streams.rows)
    whitening: Whitening | _GramWhitening | None = None
    if opts.whiten is not None and x.shape[1] > x.shape[0]:
        # Wide data: the SVD of the (n, d) rows through their (n, n) Gram matrix, never a
        # (d, d) covariance nor a float64 copy of the rows.
        whitening = _gram_whitening(x, opts.whiten, _block_elements(*x.shape))
    elif opts.whiten is not None:
        mean, cov = _moments(x)
        whitening = whitening_from_moments(mean, cov, opts.whiten)
    base = _Base(x, whitening)
    if base.d < 2:
        raise ValueError(f"whitening left rank {base.d}; the audit needs at least 2 directions")
    rows = _row_pass(base, opts.variants, opts, streams.dirs)
    if rows.zero_rows and "normalized" in opts.variants:
        raise ValueError(
            f"{rows.zero_rows} row(s) have zero norm and cannot be normalised; drop them or "
            "audit the unnormalized variant only"
        )
    if "unnormalized" in opts.variants:
        check_moment_scale(float(rows.norms.max()))
    if base.d > base.n:
        rows = _column_pass(base, rows, opts, streams.dirs)
    # Whitening n rows to rank n - 1 (always so when d >= n) gives every centred row the norm
    # (n - 1) / sqrt(n): U U^T = I - 11^T/n for the left singular vectors of the centred rows.
    equal_norms = whitening is not None and whitening.rank == base.n - 1
    evidence = _direction_evidence(base, rows, opts, streams)
    nulls = _null_laws(base.n, base.d, opts, streams)
    ad, dp = _coordinate_tests(base, rows.norms, opts)
    variants = {
        v: _variant_audit(v, base.d, ad[v], dp[v], rows, nulls, opts, streams.mardia, equal_norms)
        for v in opts.variants
    }
    return AuditResult(
        n_input=n_input,
        n=base.n,
        d=base.d,
        dropped_nonfinite=dropped,
        subsampled=subsampled,
        whitening=None
        if whitening is None
        else {"method": whitening.method, "rank": whitening.rank, "d_input": d_input},
        variants=variants,
        uniformity=evidence.uniformity,
        uniformity_note=evidence.note,
        cosines=evidence.cosines,
        cosines_whitened=evidence.cosines_whitened,
        nulls=nulls,
        norms=rows.norms,
        seed_entropy=seed_entropy(gen),
    )


def _select_rows(
    x: Any, n_input: int, opts: AuditOptions, gen: np.random.Generator
) -> tuple[Any, int, bool]:
    """Drop non-finite rows (when allowed) and draw the ``max_rows`` subset."""
    bad = nonfinite_rows(x)
    dropped = int(bad.sum())
    if dropped:
        if not opts.drop_nonfinite:
            raise ValueError(
                f"embeddings have NaN or infinite entries in {dropped} of {n_input} rows; drop "
                "those rows (drop_nonfinite=True) to audit the rest"
            )
        x = np.asarray(x)[~bad]
        if x.shape[0] < MIN_ROWS_AUDIT:
            raise ValueError(
                f"only {x.shape[0]} finite rows remain; the audit needs at least {MIN_ROWS_AUDIT}"
            )
    subsampled = opts.max_rows is not None and x.shape[0] > opts.max_rows
    if subsampled:
        keep = np.sort(gen.choice(x.shape[0], size=opts.max_rows, replace=False))
        x = np.asarray(x[keep])
    return x, dropped, subsampled


def _row_pass(
    base: _Base, variants: tuple[str, ...], opts: AuditOptions, gen: np.random.Generator
) -> _RowPass:
    """One pass over the rows in chunks: norms, the directions' moments, sliced projections.

    The directions' ``(d, d)`` scatter is accumulated only when ``d <= n``; wide data get the
    ``(n, n)`` Gram matrix instead (:func:`_column_pass`), which also projects on the sliced
    directions when those would outweigh a working block (:func:`_streamed_directions`). Rows
    are kept whole per variant when ``d <= mardia_k``, for Mardia's tests on all coordinates.
    """
    n, d = base.n, base.d
    streamed = _streamed_directions(base, opts.n_directions)
    dirs = None if streamed else random_directions(d, opts.n_directions, rng=gen)
    norms = np.empty(n)
    u_sum = np.zeros(d)
    u_scatter = np.zeros((d, d)) if d <= n else None
    proj = {v: np.empty((n, opts.n_directions)) for v in variants}
    full = {v: np.empty((n, d)) for v in variants} if d <= opts.mardia_k else {}
    # Under whitening the raw cosines need rows that are nonzero before whitening as well.
    raw_nonzero = np.ones(n, dtype=bool)
    step = max(1, base.block // d)
    for i in range(0, n, step):
        chunk = base.rows(i, i + step)
        if base.w is not None:
            raw_nonzero[i : i + step] = np.asarray(base.x[i : i + step]).any(axis=1)
        r = row_norms(chunk)
        norms[i : i + step] = r
        if "unnormalized" in proj:
            if dirs is not None:
                proj["unnormalized"][i : i + step] = chunk @ dirs
            if full:
                full["unnormalized"][i : i + step] = chunk
        nz = r > 0
        u = chunk[nz] / r[nz, None]
        u_sum += u.sum(axis=0)
        if u_scatter is not None:
            # float32 products (accumulated in float64) halve the dominant O(n d^2) cost; the
            # Bingham statistic's relative error stays below 1e-4 (tr T^2 - 1/d is ~d/n,
            # entries carry ~1e-7 relative error).
            u32 = u.astype(np.float32)
            u_scatter += u32.T @ u32
        if "normalized" in proj and nz.all():
            if dirs is not None:
                proj["normalized"][i : i + step] = u @ dirs
            if full:
                full["normalized"][i : i + step] = u
    return _RowPass(norms, u_sum, u_scatter, proj, raw_nonzero, full)


def _streamed_directions(base: _Base, count: int) -> bool:
    """Whether the sliced directions of wide data are streamed through :func:`_column_pass`
    instead of being formed: when the ``(d, count)`` matrix would outweigh a working block (a
    20 x 200,000 input would need 49 MiB of directions beside a 15 MiB file), and ``d >=
    8 count``, which keeps the Gaussian matrix well conditioned (singular values within a factor
    ``(1 + 8^-1/2) / (1 - 8^-1/2) ~ 2.1`` of each other) for the Cholesky route."""
    return base.d > base.n and base.d * count > base.block and base.d >= 8 * count


def _column_pass(
    base: _Base, rows: _RowPass, opts: AuditOptions, gen: np.random.Generator
) -> _RowPass:
    """One pass over column blocks of wide data (``d > n``), in ``O(n^2 + n count)`` memory.

    Accumulates the Gram matrix ``U U^T`` of the directions ``u = z / ||z||`` (zero rows give
    zero rows and columns), from which the Bingham test (:func:`bingham_from_gram`) and Gine's
    test (:func:`gine_from_gram`) follow without a ``(d, d)`` matrix or a float64 copy of the
    rows. When :func:`_streamed_directions`, it also fills the sliced projections on
    ``random_directions(d, count, rng=gen)`` without forming them: the Gaussian matrix ``G``
    is drawn in row blocks (the same stream as one draw), ``U G`` and ``G^T G`` accumulate, and
    the Haar frame of :func:`simulator.sphere.sampling.random_frame` (QR with a positive
    diagonal) is ``Q = G R^{-1}`` with ``R^T`` the Cholesky factor of ``G^T G``: the same
    directions, rounded differently (relative ~1e-15). The unit rows are projected, as in
    :func:`_row_pass`, so that rows near 1e300 cannot overflow; the raw rows' projections are
    those times the norms.
    """
    n, d, count = base.n, base.d, opts.n_directions
    nonzero = rows.norms > 0
    inv = np.zeros(n)
    inv[nonzero] = 1.0 / rows.norms[nonzero]
    gram = np.zeros((n, n))
    streamed = _streamed_directions(base, count)
    ug = np.zeros((n, count)) if streamed else None
    gg = np.zeros((count, count)) if streamed else None
    width = max(1, base.block // max(n, count if streamed else 1))
    for j in range(0, d, width):
        j1 = min(d, j + width)
        u = base.columns(j, j1).astype(np.float64, copy=False) * inv
        gram += u.T @ u
        if ug is not None and gg is not None:
            g = gen.standard_normal((j1 - j, count))
            ug += u.T @ g
            gg += g.T @ g
    if ug is not None and gg is not None:
        proj = linalg.solve_triangular(np.linalg.cholesky(gg), ug.T, lower=True).T
        if "unnormalized" in rows.proj:
            rows.proj["unnormalized"][:] = proj * rows.norms[:, None]
        if "normalized" in rows.proj:
            rows.proj["normalized"][:] = proj
    return replace(rows, u_gram=gram)


def _direction_evidence(
    base: _Base, rows: _RowPass, opts: AuditOptions, streams: _Streams
) -> _DirectionEvidence:
    """Uniformity tests and negative-pair cosines; shared by the variants, as they depend only
    on the directions ``u = z / ||z||``."""
    n_dir = base.n - rows.zero_rows
    uniformity: list[TestResult] = []
    cosines = cosines_whitened = None
    if n_dir >= 3:
        uniformity.append(rayleigh_from_mean(rows.u_sum / n_dir, n_dir))
        nonzero = np.flatnonzero(rows.norms > 0)
        if rows.u_gram is not None:
            uniformity.append(bingham_from_gram(rows.u_gram[np.ix_(nonzero, nonzero)], base.d))
        elif rows.u_scatter is not None:
            uniformity.append(bingham_from_scatter(rows.u_scatter / n_dir, n_dir))
        gine_rows = min(GINE_ROWS, nonzero.size) if opts.gine_rows is None else opts.gine_rows
        sub = streams.gine.choice(nonzero, size=min(gine_rows, nonzero.size), replace=False)
        if rows.u_gram is not None:
            gine = gine_from_gram(
                rows.u_gram[np.ix_(sub, sub)], base.d, n_mc=opts.gine_mc, rng=streams.gine
            )
        else:
            gine = gine_test(
                base.take(sub), max_rows=gine_rows, n_mc=opts.gine_mc, rng=streams.gine
            )
        uniformity.append(gine)
        pool = np.flatnonzero((rows.norms > 0) & rows.raw_nonzero)
        if pool.size >= 4:
            i_idx, j_idx = pair_indices(pool.size, opts.cosine_pairs, rng=streams.pairs)
            a, b = pool[i_idx], pool[j_idx]
            # Wide data: the pairs' cosines are entries of the directions' Gram matrix.
            if base.w is None and rows.u_gram is not None:
                cosines = cosines_against_null(rows.u_gram[a, b], base.d)
            else:
                cosines = _pair_cosines(_Base(base.x, None), a, b)
            if base.w is not None and rows.u_gram is not None:
                cosines_whitened = cosines_against_null(rows.u_gram[a, b], base.d)
            elif base.w is not None:
                cosines_whitened = _pair_cosines(base, a, b)
    notes = []
    if rows.zero_rows:
        notes.append(f"{rows.zero_rows} zero-norm row(s) left out of the direction-based tests")
    raw_zero = int((~rows.raw_nonzero).sum())
    if raw_zero:
        notes.append(f"{raw_zero} row(s) with zero norm before whitening left out of the cosines")
    if base.w is not None:
        notes.append(
            "whitening sets the sample mean to 0 and the covariance to I, so the Rayleigh and "
            "Bingham tests (first and second moments) are uninformative by construction"
        )
    return _DirectionEvidence(uniformity, "; ".join(notes), cosines, cosines_whitened)


def _null_laws(n: int, d: int, opts: AuditOptions, streams: _Streams) -> dict[str, CoordinateNull]:
    """Monte Carlo nulls at the same ``(n, d)``: exact Gaussian coordinates and the exact
    uniform-sphere marginal ``sqrt(d) U_1``."""
    return {
        law: _coordinate_null(
            n,
            d,
            law,
            columns=opts.null_columns,
            rng=gen,
            ad_critical=opts.ad_critical,
            dp_alpha=opts.dp_alpha,
        )
        for law, gen in (("gaussian", streams.gauss), ("sphere", streams.sphere))
    }


def _coordinate_tests(
    base: _Base, norms: np.ndarray, opts: AuditOptions
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per-coordinate AD statistics and DP p-values of each variant (Eq. 20, Table 2).

    Column blocks run on ``opts.workers`` threads (NumPy's sort and SciPy's ufuncs release the
    GIL; each block's numbers do not depend on which thread computes it).
    """
    n, d = base.n, base.d
    variants = opts.variants
    ad = {v: np.empty(d) for v in variants}
    dp = {v: np.empty(d) for v in variants}
    # About five float64 arrays of a column block per thread: the threads share a block of a
    # 32nd of the input (the numbers do not depend on the blocks).
    width = max(1, min(d, _block_elements(n, d, 32) // (n * opts.workers)))
    inv_norms = 1.0 / norms if "normalized" in variants else None

    def column_block(j: int) -> None:
        raw = base.columns(j, min(d, j + width))
        if "unnormalized" in variants:
            # Sorting in the input precision and widening afterwards gives the same sorted
            # float64 values at about half the cost for float32 embeddings.
            ordered = np.sort(raw, axis=-1).astype(np.float64, copy=False)
            ad["unnormalized"][j : j + width] = anderson_normal_sorted(ordered)
            dp["unnormalized"][j : j + width] = dagostino_pearson_pvalue(ordered, axis=-1)
        if inv_norms is not None:
            scaled = raw * inv_norms
            ad["normalized"][j : j + width] = anderson_normal(scaled, axis=-1)
            dp["normalized"][j : j + width] = dagostino_pearson_pvalue(scaled, axis=-1)

    starts = range(0, d, width)
    if opts.workers == 1:
        for j in starts:
            column_block(j)
    else:
        with ThreadPoolExecutor(max_workers=opts.workers) as pool:
            for future in [pool.submit(column_block, j) for j in starts]:
                future.result()
    return ad, dp


def _variant_audit(
    variant: str,
    d: int,
    ad: np.ndarray,
    dp: np.ndarray,
    rows: _RowPass,
    nulls: dict[str, CoordinateNull],
    opts: AuditOptions,
    gen: np.random.Generator,
    equal_norms: bool = False,
) -> VariantAudit:
    """Table-2 metrics of one variant, its sliced and Mardia evidence and the comparisons of
    its pass fractions and means with each null law."""
    n = rows.norms.size
    if variant == "normalized":
        cv, cv_note = 0.0, "0 by construction: every row has unit norm"
    elif equal_norms:
        cv = cv_from_norms(rows.norms)
        cv_note = (
            f"0 up to rounding by construction: whitening {n} rows to rank {n - 1} gives every "
            f"row the norm (n - 1)/sqrt(n) = {(n - 1) / math.sqrt(n):.6g}; no evidence either way"
        )
    else:
        cv, cv_note = cv_from_norms(rows.norms), "std/mean of the row norms (Eq. 20, ddof = 0)"
    rules = {"ad_critical": opts.ad_critical, "dp_alpha": opts.dp_alpha}
    metrics = aggregate(ad, dp, n=n, cv=cv, **rules)
    proj = rows.proj[variant]
    sliced = aggregate(
        anderson_normal(proj, axis=0), dagostino_pearson_pvalue(proj, axis=0), n=n, **rules
    )
    mardia, mardia_note = None, ""
    if variant in rows.full:
        data, where = rows.full[variant], f"on all {rows.full[variant].shape[1]} coordinates"
    else:
        k = min(opts.mardia_k, proj.shape[1])
        data, where = proj[:, :k], f"on {k} random projections"
    try:
        if variant == "normalized":
            mardia = mardia_sphere_test(data, d, n_mc=opts.mardia_mc, rng=gen)
            mardia_note = f"{where}, against uniform directions at the same (n, d) by Monte Carlo"
        else:
            mardia = mardia_test(data, k=data.shape[1], rng=gen)
            mardia_note = f"{where}, against multivariate normality (asymptotic laws)"
    except ValueError as exc:
        mardia_note = f"not computed: {exc}"
    # Four comparisons per null: Bonferroni keeps the family-wise level at 5%, so data drawn
    # from a null is called consistent with it about 95% of the time or more.
    alpha = CONSISTENCY_LEVEL / 4
    comparisons = {
        law: {
            "ad_pass": compare_pass_fraction(metrics.ad_pass, null, "ad", alpha=alpha),
            "dp_pass": compare_pass_fraction(metrics.dp_pass, null, "dp", alpha=alpha),
            "ad_mean": compare_mean(
                metrics.ad_mean, metrics.ad_pass.total, null, "ad", alpha=alpha
            ),
            "dp_mean": compare_mean(
                metrics.dp_mean, metrics.dp_pass.total, null, "dp", alpha=alpha
            ),
        }
        for law, null in nulls.items()
    }
    constant = np.flatnonzero(~(np.isfinite(ad) & np.isfinite(dp)))
    return VariantAudit(
        variant,
        metrics,
        ad,
        dp,
        [int(c) for c in constant],
        cv_note,
        sliced,
        mardia,
        mardia_note,
        comparisons,
        _verdict_line(metrics, comparisons),
    )


def _pair_cosines(base: _Base, a: np.ndarray, b: np.ndarray) -> CosineResult:
    cos = np.empty(a.size)
    step = max(1, base.block // (4 * base.x.shape[1]))
    for i in range(0, a.size, step):
        ra, rb = base.take(a[i : i + step]), base.take(b[i : i + step])
        # Normalised before the dot product, so that rows near 1e200 or 1e-200 neither overflow
        # nor underflow.
        ua, ub = ra / row_norms(ra)[:, None], rb / row_norms(rb)[:, None]
        cos[i : i + step] = np.einsum("ij,ij->i", ua, ub)
    return cosines_against_null(cos, base.d)


def _verdict_line(metrics: GaussianityMetrics, comparisons: dict[str, Any]) -> str:
    def pct(v: float) -> str:
        return f"{100 * v:.1f}%"

    parts = []
    for key, label in (("ad_pass", "AD pass"), ("dp_pass", "DP pass")):
        observed = getattr(metrics, key).fraction
        nulls = "; ".join(
            f"{law} null {pct(c[key].expected)} (95% band {pct(c[key].band[0])}-"
            f"{pct(c[key].band[1])}, p={c[key].p_value:.2g})"
            for law, c in comparisons.items()
        )
        parts.append(f"{label} {pct(observed)} [{nulls}]")
    consistent = [law for law, c in comparisons.items() if all(x.consistent for x in c.values())]
    if consistent:
        tail = "consistent with " + " and ".join(_LAW_NAMES[law] for law in consistent)
    else:
        tail = "inconsistent with both nulls (" + ", ".join(_LAW_NAMES[law] for law in comparisons)
        tail += ")"
    return "; ".join(parts) + " -> " + tail


_LAW_NAMES = {
    "gaussian": "independent exact Gaussian coordinates",
    "sphere": "the exact uniform-sphere marginal (sqrt(d) U_1)",
}


def audit_row(result: AuditResult, variant: str) -> dict[str, Any]:
    """The Table-2-style row of one variant (fractions in [0, 1])."""
    v = result.variants[variant]
    m = v.metrics
    uni = {t.name: t.p_value for t in result.uniformity}
    row = {
        "variant": variant,
        "n": m.n,
        "d": m.d,
        "cv": m.cv,
        "ad_mean": m.ad_mean,
        "ad_pass": m.ad_pass.fraction,
        "dp_mean": m.dp_mean,
        "dp_pass": m.dp_pass.fraction,
        "gaussian_null_ad_pass": v.comparisons["gaussian"]["ad_pass"].expected,
        "gaussian_null_dp_pass": v.comparisons["gaussian"]["dp_pass"].expected,
        "sphere_null_ad_pass": v.comparisons["sphere"]["ad_pass"].expected,
        "sphere_null_dp_pass": v.comparisons["sphere"]["dp_pass"].expected,
        "rayleigh_p": uni.get("Rayleigh", math.nan),
        "bingham_p": uni.get("Bingham", math.nan),
        "gine_p": uni.get("Gine G_n", math.nan),
        "mardia_skew_p": math.nan if v.mardia is None else v.mardia.skewness.p_value,
        "mardia_kurt_p": math.nan if v.mardia is None else v.mardia.kurtosis.p_value,
        "n_constant": m.n_constant,
    }
    return row
