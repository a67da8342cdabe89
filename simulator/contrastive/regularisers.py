"""The Route 2 regulariser of Eq. 11 on a batch of unnormalised embeddings, with a differentiable
nonparametric entropy estimate.

Eq. 11 adds ``beta (-H(rho) + lambda E||Z||^2)`` to the contrastive objective, with ``rho`` the
law of the unnormalised embedding ``z = f(X)`` on ``R^d``; by Eq. 13 this is
``beta KL(rho || gamma)`` up to a constant, ``gamma = N(0, (2 lambda)^{-1} I_d)`` the Gaussian
reference of Eq. 12 with ``B = R^d``, which Corollary 2 makes the optimum for ``beta >= beta0``.

Entropy. The Kozachenko-Leonenko estimator (Kozachenko & Leonenko 1987; in the form of Kraskov,
Stoegbauer & Grassberger 2004, Eq. 20, with radii instead of diameters) of ``n`` iid rows is

    H_hat = psi(n) - psi(k) + log V_d + (d/n) sum_i log eps_i,

``eps_i`` the distance from row ``i`` to its ``k``-th nearest neighbour and
``V_d = pi^{d/2} / Gamma(d/2 + 1)`` the volume of the unit ball. It is a piecewise smooth function
of the rows (the neighbour assignment is locally constant); where it is smooth its gradient is

    dH_hat/dz_i = (d/n) [ sum_{a: j(a) = i} (z_i - z_a)/eps_a^2 + (z_i - z_{j(i)})/eps_i^2 ],

i.e. ``(d/n) L z`` with ``L`` the graph Laplacian of the symmetrised neighbour weights
``W_{i j(i)} = 1/eps_i^2``. Maximising ``H_hat`` pushes every row away from its neighbour.

Ties and duplicates. Ties between neighbour distances leave ``eps_i`` unchanged (the first in
index order is used for the gradient, a valid one-sided derivative). Duplicate rows (discrete
inputs such as the sparse binary setting give them with positive probability) would make
``log eps = -inf``; rows closer than the rounding error of the pairwise-distance computation
count as duplicates and ``eps_i`` is the distance to the ``k``-th nearest row *at a positive
distance*. For a law with a density this changes nothing almost surely; for a batch with repeated
rows it keeps the value and the gradient finite (a duplicate then repels from its nearest
distinct row only).

Arrays stay in the namespace of the input (NumPy, CuPy, array-api-strict): pairwise distances by
one Gram product (``O(n^2 d)``), neighbours by ``argsort``, distances recomputed from the row
differences so that near neighbours do not lose accuracy to cancellation.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import special, stats

from simulator.backend import array_namespace
from simulator.validation import check_int, check_real

#: Relative size (in units of the dtype's epsilon) of the rounding error of a squared distance
#: computed as ``||a||^2 + ||b||^2 - 2 a.b``; below it two rows count as duplicates.
_DUPLICATE_EPS_UNITS = 64.0


def log_unit_ball_volume(d: int) -> float:
    """``log V_d = (d/2) log pi - log Gamma(d/2 + 1)``."""
    d = check_int("d", d, low=1)
    return 0.5 * d * math.log(math.pi) - math.lgamma(0.5 * d + 1.0)


def _check_batch(z: Any, k: int) -> tuple[Any, int, int, int]:
    xp = array_namespace(z)
    if z.ndim != 2:
        raise ValueError(f"z must have shape (n, d), got {z.shape}")
    n, d = z.shape
    k = check_int("k", k, low=1)
    if n < k + 1:
        raise ValueError(
            f"the entropy estimator needs at least k + 1 = {k + 1} samples (k = {k} "
            f"neighbours), got n = {n}"
        )
    check_int("d", d, low=1)
    return xp, n, d, k


def _neighbours(z: Any, k: int) -> tuple[Any, Any]:
    """Index of the ``k``-th nearest row at a positive distance, and that distance."""
    xp, _, _, k = _check_batch(z, k)
    sq = xp.sum(z * z, axis=1)
    d2 = sq[:, None] + sq[None, :] - 2.0 * (z @ z.T)
    rounding = _DUPLICATE_EPS_UNITS * float(xp.finfo(z.dtype).eps) * (sq[:, None] + sq[None, :])
    # The diagonal (self) is a duplicate by this test too; duplicates are excluded as neighbours.
    duplicate = d2 <= rounding
    distinct = xp.count_nonzero(~duplicate, axis=1)
    if int(xp.min(distinct)) < k:
        raise ValueError(
            f"the entropy estimator needs at least k = {k} rows at a positive distance from every "
            f"row; a row has {int(xp.min(distinct))} (too many duplicate rows)"
        )
    masked = xp.where(duplicate, xp.full_like(d2, xp.inf), d2)
    idx = xp.argsort(masked, axis=1)[:, k - 1]
    diff = z - xp.take(z, idx, axis=0)
    eps = xp.sqrt(xp.sum(diff * diff, axis=1))
    return idx, eps


def kl_entropy_and_grad(z: Any, k: int = 1) -> tuple[float, Any]:
    """Kozachenko-Leonenko entropy of the rows of ``z`` and its gradient (module docstring).

    Parameters
    ----------
    z : array of shape (n, d)
        Samples (rows) of the law ``rho`` on ``R^d``, finite; NumPy, CuPy or array-API.
    k : int
        Neighbour order, ``1 <= k < n``.

    Returns
    -------
    (float, array)
        ``H_hat`` in nats and ``dH_hat/dz`` (same shape, namespace and dtype as ``z``).
    """
    xp, n, d, k = _check_batch(z, k)
    idx, eps = _neighbours(z, k)
    value = (
        float(special.digamma(n) - special.digamma(k))
        + log_unit_ball_volume(d)
        + d * float(xp.mean(xp.log(eps)))
    )
    w = 1.0 / (eps * eps)
    neighbour = xp.arange(n)[None, :] == idx[:, None]
    weights = xp.where(
        neighbour, xp.broadcast_to(w[:, None], neighbour.shape), xp.zeros((n, n), dtype=z.dtype)
    )
    sym = weights + weights.T
    grad = (d / n) * (xp.sum(sym, axis=1)[:, None] * z - sym @ z)
    return value, grad


@dataclass(frozen=True)
class EntropyEstimate:
    """A Kozachenko-Leonenko entropy estimate with its standard error.

    Attributes
    ----------
    value : float
        ``H_hat`` of all ``n`` rows, in nats.
    stderr : float
        Batch-means standard error: the standard deviation of the estimates on ``batches``
        disjoint batches over ``sqrt(batches)`` (the estimator's variance scales as ``1/n``).
        The per-row terms ``d log eps_i`` are dependent through shared neighbours and their
        plug-in standard error is about 15% too small at ``k = 1`` (measured on Gaussian
        samples); batch means do not need independence of the terms.
    ci_low, ci_high : float
        ``value -+ t_{batches-1} stderr`` at 95%. Neither covers the estimator's bias, which is
        small for ``d`` of a few and ``n`` in the thousands and grows with ``d``.
    n, d, k, batches : int
        Rows, dimension, neighbour order and batches.
    """

    value: float
    stderr: float
    ci_low: float
    ci_high: float
    n: int
    d: int
    k: int
    batches: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def kl_entropy(z: Any, k: int = 1, *, batches: int = 10) -> EntropyEstimate:
    """Kozachenko-Leonenko entropy estimate of the rows of ``z`` with a batch-means error.

    Parameters
    ----------
    z : array of shape (n, d)
        Finite samples of the law (iid rows); ``n >= batches (k + 2)``.
    k : int
        Neighbour order, ``k >= 1``.
    batches : int
        Disjoint batches of the standard error, ``>= 2``.

    Returns
    -------
    EntropyEstimate
    """
    _, n, d, k = _check_batch(z, k)
    batches = check_int("batches", batches, low=2)
    if n < batches * (k + 2):
        raise ValueError(
            f"a standard error needs at least batches (k + 2) = {batches * (k + 2)} samples, "
            f"got n = {n}"
        )
    value, _ = kl_entropy_and_grad(z, k)
    edges = [round(i * n / batches) for i in range(batches + 1)]
    parts = np.array([kl_entropy_and_grad(z[a:b, :], k)[0] for a, b in itertools.pairwise(edges)])
    se = float(parts.std(ddof=1) / math.sqrt(batches))
    half = float(stats.t.ppf(0.975, batches - 1)) * se
    return EntropyEstimate(value, se, value - half, value + half, n, d, k, batches)


def check_regulariser(beta: float, lam: float | None) -> tuple[float, float | None]:
    """Validate ``beta >= 0`` and ``lambda > 0`` (or None: chosen from the data)."""
    beta = check_real("beta", beta, low=0.0)
    if lam is not None:
        lam = check_real("lambda", lam, low=0.0, low_open=True)
    return beta, lam


def matched_lambda(z: Any) -> float:
    """``lambda = d / (2 mean_i ||z_i||^2)``: the Gaussian reference ``N(0, (2 lambda)^{-1} I_d)``
    of Eq. 12 then has the mean squared norm of the rows of ``z``.

    This is the default choice of the trainer, on the untrained encoder's held-out embeddings.
    Why: InfoNCE sees only ``z / ||z||``, so the scale of ``z`` is free; ``-H(rho) + lambda
    E||z||^2`` is minimised over the scale ``c`` of ``c z`` at ``c^2 = d / (2 lambda E||z||^2)``
    (``-H`` falls by ``d log c``, the second term grows as ``c^2``), so a mismatched ``lambda``
    adds a pure rescaling pressure. Matching it at initialisation leaves the regulariser acting
    on the shape of ``rho`` (Prop. 3: the direction part ``KL(mu||sigma)`` and the radial part)
    rather than on its scale.

    Parameters
    ----------
    z : array of shape (n, d)
        Rows not all zero.
    """
    xp = array_namespace(z)
    if z.ndim != 2:
        raise ValueError(f"z must have shape (n, d), got {z.shape}")
    m2 = float(xp.mean(xp.sum(z * z, axis=1)))
    if not (math.isfinite(m2) and m2 > 0.0):
        raise ValueError(f"z must have finite rows, not all zero; mean squared norm {m2!r}")
    return z.shape[1] / (2.0 * m2)


def route2_regulariser(z: Any, beta: float, lam: float, *, k: int = 1) -> tuple[float, Any]:
    """``beta (-H_hat(rho) + lambda mean_i ||z_i||^2)`` (Eq. 11) on one batch, and its gradient.

    Parameters
    ----------
    z : array of shape (n, d)
        Unnormalised embeddings of ``n`` independent items (one view each: two views of one item
        would be each other's nearest neighbours and the estimate would measure the view noise,
        not ``rho``).
    beta : float
        ``beta >= 0``.
    lam : float
        ``lambda > 0`` (Eq. 12).
    k : int
        Neighbour order of the entropy estimate, ``1 <= k < n``.

    Returns
    -------
    (float, array)
        The value and its gradient with respect to ``z``.
    """
    beta = check_real("beta", beta, low=0.0)
    lam = check_real("lambda", lam, low=0.0, low_open=True)
    xp = array_namespace(z)
    h, gh = kl_entropy_and_grad(z, k)
    n = z.shape[0]
    m2 = float(xp.mean(xp.sum(z * z, axis=1)))
    return beta * (-h + lam * m2), beta * (-gh + (2.0 * lam / n) * z)
