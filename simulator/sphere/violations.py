"""Laws of representations that break the paper's assumptions, as coordinate samplers.

Each sampler returns ``columns`` independent coordinate columns of ``n`` rows: column ``j`` is one
fixed coordinate (or projection) of ``n`` independent embeddings, drawn independently of the other
columns. The paper's per-coordinate tests (Sec. 5, Eq. 20) applied to these columns are then
independent Bernoulli trials, so pass fractions carry exact binomial intervals (an embedding matrix
of ``d`` coordinates of the same rows would make its coordinates' tests dependent).

The laws (``../shared/theory.md`` section 5, question 5):

* **no thin shell** (Assumption 2, Eq. 9 fails): ``sqrt(d) z_1 = r sqrt(d) U_1`` with a radial law
  whose spread does not shrink, so Prop. 2 (Eq. 10) gives a scale mixture of Gaussians;
* **anisotropy** (the uniform law sigma of Lemma 2 is not reached): ``u = z / ||z||`` with
  ``z ~ N(0, Sigma)`` of condition number ``c``, before and after whitening;
* **vMF mixture** (Reviewer 4): ``u`` drawn from ``K`` von Mises-Fisher components of equal weight,
  one per class, with random mean directions and a common mean resultant length.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize

from simulator.backend import RNGLike, normalize_rng
from simulator.sphere.radial import RadialLaw
from simulator.sphere.sampling import exact_marginal_sample, random_directions
from simulator.sphere.vmf import mean_resultant_length, vmf_around
from simulator.validation import check_int, check_real


def _check_sizes(n: int, d: int, columns: int) -> tuple[int, int, int]:
    return (
        check_int("n", n, low=8),
        check_int("d", d, low=2),
        check_int("columns", columns, low=1),
    )


def scale_mixture_columns(
    n: int, d: int, law: RadialLaw, columns: int, *, rng: RNGLike = None
) -> np.ndarray:
    """Columns of ``r sqrt(d) U_1`` with ``r`` drawn from ``law`` independently per row (Prop. 2).

    Returns
    -------
    ndarray of shape (n, columns)
    """
    n, d, columns = _check_sizes(n, d, columns)
    gen = normalize_rng(rng)
    radii = law.sample(n * columns, rng=gen)
    coords = math.sqrt(d) * exact_marginal_sample(n * columns, d, 1, rng=gen)[:, 0]
    return (radii * coords).reshape(columns, n).T


def scale_mixture_excess_kurtosis(law: RadialLaw) -> float:
    """Exact excess kurtosis of ``r sqrt(d) U_1`` at the law's ``d``.

    ``E[(sqrt(d) U_1)^4] = 3 d / (d + 2)`` is independent of ``r``, so the kurtosis is
    ``3 (E r^4 / (E r^2)^2) d / (d + 2) - 3``; it tends to ``3 (E r^4/(E r^2)^2 - 1) >= 0``, zero
    only for a degenerate ``r`` (theory.md section 2.3, Prop. 2).
    """
    ratio = law.expect(lambda r: r**4) / law.second_moment**2
    return 3.0 * ratio * law.d / (law.d + 2) - 3.0


def geometric_spectrum(d: int, condition: float) -> np.ndarray:
    """Variances ``condition^{-i/(d-1)}``, ``i = 0..d-1``, scaled to sum to ``d``.

    The largest over the smallest is ``condition``; ``condition = 1`` is isotropic.
    """
    d = check_int("d", d, low=2)
    condition = check_real("condition", condition, low=1.0)
    lam = condition ** (-np.arange(d) / (d - 1))
    return lam * (d / lam.sum())


def effective_dimension(variances: np.ndarray) -> float:
    """``(sum lambda)^2 / sum lambda^2``: how many directions carry the norm of ``z``.

    ``||z||^2 / E||z||^2`` has variance ``2 / effective_dimension`` for Gaussian ``z``, so a thin
    shell needs a large effective dimension, not a large ``d``.
    """
    lam = np.asarray(variances, dtype=float)
    return float(lam.sum() ** 2 / np.sum(lam * lam))


def anisotropic_columns(
    n: int,
    d: int,
    condition: float,
    columns: int,
    *,
    whiten_rows: int = 0,
    rng: RNGLike = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Columns of ``sqrt(d) u_k``, ``u = z/||z||``, ``z ~ N(0, diag(lambda))``.

    The coordinates are the principal axes, so ``max/min Sigma_kk`` is the condition number (in a
    random basis every coordinate would mix all axes and its variance would hide the anisotropy).
    Column ``j`` is coordinate ``j mod d`` of its own ``n`` independent rows. With
    ``whiten_rows > 0``, ``z`` is first whitened (ZCA) with the sample covariance of
    ``whiten_rows`` independent rows, as a user would whiten a finite embedding set before
    normalising.

    Returns
    -------
    columns : ndarray of shape (n, columns)
    variances : ndarray of shape (columns,)
        The exact variance of each column's coordinate before normalisation, ``Sigma_kk``
        (after whitening: of the whitened coordinate under the estimated map).
    """
    n, d, columns = _check_sizes(n, d, columns)
    whiten_rows = check_int("whiten_rows", whiten_rows, low=0)
    if 0 < whiten_rows <= d:
        raise ValueError(f"whiten_rows must be 0 or greater than d = {d}, got {whiten_rows}")
    gen = normalize_rng(rng)
    lam = geometric_spectrum(d, condition)
    root = np.diag(np.sqrt(lam))  # z = root @ g has covariance diag(lam)
    if whiten_rows:
        sample = gen.standard_normal((whiten_rows, d)) @ root.T
        centred = sample - sample.mean(axis=0)
        evals, evecs = np.linalg.eigh(centred.T @ centred / (whiten_rows - 1))
        root = (evecs / np.sqrt(evals)) @ evecs.T @ root
    cov_diag = np.sum(root * root, axis=1)
    out = np.empty((n, columns))
    variances = np.empty(columns)
    for j in range(columns):
        k = j % d
        z = gen.standard_normal((n, d)) @ root.T
        out[:, j] = math.sqrt(d) * z[:, k] / np.linalg.norm(z, axis=1)
        variances[j] = cov_diag[k]
    return out, variances


def kappa_for_resultant(d: int, resultant: float) -> float:
    """The concentration ``kappa`` with mean resultant length ``A_d(kappa) = resultant``."""
    d = check_int("d", d, low=2)
    resultant = check_real("resultant", resultant, low=0.0, high=1.0, high_open=True)
    if resultant == 0.0:
        return 0.0
    hi = 1.0
    while mean_resultant_length(d, hi) < resultant:
        hi *= 2.0
    return float(
        optimize.brentq(lambda k: mean_resultant_length(d, k) - resultant, 0.0, hi, xtol=1e-12)
    )


def vmf_mixture_columns(
    n: int, d: int, classes: int, resultant: float, columns: int, *, rng: RNGLike = None
) -> np.ndarray:
    """Columns of ``sqrt(d) u_k`` for ``u`` from an equal-weight mixture of ``classes`` vMF laws.

    The mean directions are drawn once (Haar frame when ``classes <= d``, else independent
    uniform directions) and shared by every column; each component has mean resultant length
    ``resultant`` (``kappa`` from :func:`kappa_for_resultant`). Column ``j`` is coordinate
    ``j mod d`` of its own ``n`` rows.
    """
    n, d, columns = _check_sizes(n, d, columns)
    classes = check_int("classes", classes, low=1)
    gen = normalize_rng(rng)
    kappa = kappa_for_resultant(d, resultant)
    means = random_directions(d, classes, rng=gen).T
    out = np.empty((n, columns))
    for j in range(columns):
        labels = gen.integers(classes, size=n)
        u = vmf_around(means[labels], kappa, rng=gen)
        out[:, j] = math.sqrt(d) * u[:, j % d]
    return out
