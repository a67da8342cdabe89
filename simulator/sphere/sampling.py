"""Samplers for the uniform law sigma on S^{d-1} and its fixed-dimensional projections.

These are the objects of Lemma 3 (Maxwell-Poincare, Eq. 48) and Theorem 2 (Diaconis-Freedman,
Eq. 49): ``sqrt(d) U_{1..k}`` for ``U ~ sigma``, and projections onto a fixed orthonormal k-frame.

Hot paths are written once against an array namespace ``xp`` (NumPy by default, CuPy on request);
the random numbers come from one :class:`simulator.backend.Draws` per call, so the host/device RNG
mode is honoured.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import Any

import numpy as np

from simulator.backend import Draws, RNGLike, normalize_rng
from simulator.validation import check_dimensions, check_int

#: Default memory budget of one chunk of the full-vector sampler (bytes).
DEFAULT_CHUNK_BYTES = 32 * 2**20


def _itemsize(dtype: str) -> int:
    if dtype not in ("float32", "float64"):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    return np.dtype(dtype).itemsize


def _normalise_rows(x: Any, xp: ModuleType) -> Any:
    if xp is np:
        # einsum avoids the n*d temporary of x*x and the division runs in place: the sampler then
        # costs little more than drawing the normals (see `infonce-sim bench clt`).
        norms = np.sqrt(np.einsum("ij,ij->i", x, x))
        np.divide(x, norms[:, None], out=x)
        return x
    return x / xp.sqrt(xp.sum(x * x, axis=1, keepdims=True))


def uniform_sphere(
    n: int,
    d: int,
    *,
    rng: RNGLike = None,
    xp: ModuleType = np,
    dtype: str = "float64",
    rng_mode: str = "host",
) -> Any:
    """Draw ``n`` points from the uniform law on S^{d-1} (normalised Gaussian vectors).

    Parameters
    ----------
    n : int
        Number of points, ``n >= 1``.
    d : int
        Ambient dimension, ``d >= 2``.
    rng : None, int, SeedSequence or Generator
        SPEC 7 seed.
    xp : module
        Array namespace of the result.
    dtype : {'float64', 'float32'}
    rng_mode : {'host', 'device'}

    Returns
    -------
    array of shape (n, d)
        Rows of unit Euclidean norm. The rows equal the concatenated chunks of
        :func:`iter_uniform_sphere` with the same seed, whatever the chunk size.
    """
    n = check_int("n", n, low=1)
    d = check_int("d", d, low=2)
    _itemsize(dtype)
    draws = Draws(rng, xp=xp, rng_mode=rng_mode)
    return _normalise_rows(draws.standard_normal((n, d), dtype), xp)


def chunk_rows_for(d: int, dtype: str = "float64", max_bytes: int = DEFAULT_CHUNK_BYTES) -> int:
    """Rows per chunk so that one ``(rows, d)`` block stays within ``max_bytes``."""
    return max(1, int(max_bytes // (d * _itemsize(dtype))))


def iter_uniform_sphere(
    n: int,
    d: int,
    *,
    rng: RNGLike = None,
    chunk_rows: int | None = None,
    xp: ModuleType = np,
    dtype: str = "float64",
    rng_mode: str = "host",
) -> Iterator[Any]:
    """Yield ``n`` uniform points on S^{d-1} in blocks of at most ``chunk_rows`` rows.

    Peak memory is one block (default :data:`DEFAULT_CHUNK_BYTES`), so any ``n * d`` can be
    streamed. In ``host`` mode the concatenation of the blocks does not depend on ``chunk_rows``:
    the generator fills the Gaussian blocks in one sequential stream.
    """
    n = check_int("n", n, low=1)
    d = check_int("d", d, low=2)
    rows = (
        chunk_rows_for(d, dtype)
        if chunk_rows is None
        else check_int("chunk_rows", chunk_rows, low=1)
    )
    # One generator for every chunk: a device stream, too, is then one stream per call.
    draws = Draws(rng, xp=xp, rng_mode=rng_mode)
    done = 0
    while done < n:
        m = min(rows, n - done)
        block = draws.standard_normal((m, d), dtype)
        yield _normalise_rows(block, xp)
        done += m


def exact_marginal_sample(
    n: int,
    d: int,
    k: int,
    *,
    rng: RNGLike = None,
    xp: ModuleType = np,
    dtype: str = "float64",
    rng_mode: str = "host",
) -> Any:
    """Draw the first ``k`` coordinates of ``U ~ sigma`` on S^{d-1} in O(k) work per sample.

    Uses ``U_{1..k} = G / sqrt(||G||^2 + Q)`` with ``G ~ N(0, I_k)`` and an independent
    ``Q ~ chi^2_{d-k}`` (theory.md section 4): ``Q`` stands for the squared norm of the ``d - k``
    coordinates that are never drawn. The cost does not depend on ``d``.

    Returns
    -------
    array of shape (n, k)
        Unscaled coordinates; multiply by ``sqrt(d)`` for the object of Lemma 3.
    """
    n = check_int("n", n, low=1)
    d, k = check_dimensions(d, k)
    _itemsize(dtype)
    draws = Draws(rng, xp=xp, rng_mode=rng_mode)
    g = draws.standard_normal((n, k), dtype)
    q = draws.chisquare(d - k, n, dtype)
    radius = xp.sqrt(xp.sum(g * g, axis=1) + q)
    return g / radius[:, None]


def random_frame(d: int, k: int, *, rng: RNGLike = None) -> np.ndarray:
    """A Haar-distributed orthonormal k-frame in R^d, as a ``(d, k)`` host array.

    QR of a Gaussian matrix with the signs of ``R``'s diagonal moved into ``Q`` (Mezzadri 2007),
    which makes the law exactly Haar.
    """
    d = check_int("d", d, low=2)
    k = check_int("k", k, low=1, high=d)
    gen = normalize_rng(rng)
    q, r = np.linalg.qr(gen.standard_normal((d, k)))
    return q * np.sign(np.diag(r))


def random_directions(d: int, count: int, *, rng: RNGLike = None) -> np.ndarray:
    """``count`` unit directions in R^d as the columns of a ``(d, count)`` host array.

    A Haar-random orthonormal frame (:func:`random_frame`) when ``count <= d``, otherwise
    independent uniform directions (Cramer-Wold projections for sliced tests).
    """
    d = check_int("d", d, low=2)
    count = check_int("count", count, low=1)
    gen = normalize_rng(rng)
    if count <= d:
        return random_frame(d, count, rng=gen)
    w = gen.standard_normal((d, count))
    return w / np.linalg.norm(w, axis=0)


def _own_columns(block: Any, k: int, xp: ModuleType) -> Any:
    """The first ``k`` columns of ``block`` as an array of their own: a view would keep the whole
    ``(rows, d)`` block alive until the concatenation (n x d memory instead of one block)."""
    columns = block[:, :k]
    if hasattr(xp, "ascontiguousarray"):  # NumPy, CuPy (CuPy 13's asarray has no ``copy``)
        return xp.ascontiguousarray(columns)
    return xp.asarray(columns, copy=True)


def projected_sphere_sample(
    n: int,
    d: int,
    frame: np.ndarray | None = None,
    *,
    k: int | None = None,
    rng: RNGLike = None,
    chunk_rows: int | None = None,
    xp: ModuleType = np,
    dtype: str = "float64",
    rng_mode: str = "host",
) -> Any:
    """Project ``n`` full uniform vectors on S^{d-1} onto a frame, streaming in bounded memory.

    Parameters
    ----------
    frame : (d, k) array or None
        Orthonormal columns. ``None`` means the first ``k`` coordinate axes.
    k : int, optional
        Number of coordinates when ``frame`` is None.

    Returns
    -------
    array of shape (n, k)
        ``U @ frame`` (unscaled), drawn from full d-dimensional vectors; by rotation invariance it
        has the same law as :func:`exact_marginal_sample`.
    """
    if frame is None:
        if k is None:
            raise ValueError("give either frame or k")
        d, k = check_dimensions(d, k)
    else:
        frame = np.asarray(frame, dtype=float)
        if frame.ndim != 2 or frame.shape[0] != d:
            raise ValueError(f"frame must have shape (d, k) = ({d}, k), got {frame.shape}")
        d, k = check_dimensions(d, frame.shape[1])
        if not np.allclose(frame.T @ frame, np.eye(k), atol=1e-10):
            raise ValueError("frame columns must be orthonormal")
    dev_frame = None if frame is None else xp.asarray(frame.astype(dtype))
    parts = []
    for block in iter_uniform_sphere(
        n, d, rng=rng, chunk_rows=chunk_rows, xp=xp, dtype=dtype, rng_mode=rng_mode
    ):
        parts.append(_own_columns(block, k, xp) if dev_frame is None else block @ dev_frame)
    return xp.concat(parts, axis=0) if hasattr(xp, "concat") else xp.concatenate(parts, axis=0)
