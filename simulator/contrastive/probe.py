"""Linear probe of a representation, and a data lower bound on the mildness eta2 of an image
augmentation (the two numbers that keep a collapsed or useless representation from passing as
"Gaussian" in the real-data comparison of Table 1).

Linear probe
    Closed-form ridge regression of one-hot labels on standardised embeddings (a multi-output
    least-squares classifier; prediction by the largest score), scored by stratified ``k``-fold
    cross-validation on the given split: every embedding is predicted by a probe fitted on the
    other folds. The ridge penalty is ``ridge * n_fit`` on the standardised features.

eta2 lower bound
    eta2 (Eq. 5) of an augmentation has no closed form. Two views ``X, Y`` of one item satisfy
    ``rho_m(X, Y) <= eta2`` (Eq. 23), and by the data-processing inequality
    ``rho_m(s(X), s(Y)) <= rho_m(X, Y)`` for any scalar summary ``s``; the ACE estimate of the
    HGR of the binned summaries (:func:`simulator.hgr.estimators.hgr_ace`, itself a lower bound
    on ``rho_m(s(X), s(Y))``) therefore bounds eta2 from below. The summary is the projection on
    the first principal direction of the clean training images; the bound reported is the lower
    end of the ACE bootstrap interval.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from simulator.backend import RNGLike, normalize_rng
from simulator.contrastive.image_augment import ImageAugmentation, augment_images
from simulator.hgr.estimators import hgr_ace
from simulator.validation import check_int, check_real


@dataclass(frozen=True)
class ProbeResult:
    """Cross-validated accuracy of a linear probe.

    Attributes
    ----------
    accuracy : float
        Fraction of embeddings whose class the held-out-fold probe predicts.
    standard_error : float
        Binomial ``sqrt(a (1 - a) / n)`` (approximate: the fold probes share training rows).
    n, folds, classes : int
    chance : float
        Share of the most frequent class (the accuracy of always guessing it).
    """

    accuracy: float
    standard_error: float
    n: int
    folds: int
    classes: int
    chance: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_probe_labels(
    labels: Any, *, folds: int = 5, classes: int | None = None
) -> tuple[np.ndarray, int]:
    """Validate the labels of a probe split; return them as int64 and the number of classes.

    Every class in ``0 .. classes - 1`` (default ``max(labels) + 1``) needs at least ``folds``
    members, so that every fold's probe is fitted on every class (ValueError otherwise).
    """
    folds = check_int("folds", folds, low=2)
    y = np.asarray(labels)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"labels must be a non-empty 1-D array, got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer) or np.any(y < 0):
        raise ValueError("labels must be non-negative integers")
    k = int(y.max()) + 1 if classes is None else check_int("classes", classes, low=2)
    if k < 2:
        raise ValueError(f"the probe needs at least 2 classes, got {k}")
    if np.any(y >= k):
        raise ValueError(f"labels must lie in [0, {k - 1}], got {int(y.max())}")
    counts = np.bincount(y, minlength=k)
    short = np.flatnonzero(counts < folds)
    if short.size:
        c = int(short[0])
        raise ValueError(
            f"probe split: class {c} has {int(counts[c])} test items; {folds}-fold "
            f"cross-validation needs at least {folds} per class (an empty class cannot be probed)"
        )
    return y.astype(np.int64), k


def linear_probe(
    embeddings: Any,
    labels: Any,
    *,
    folds: int = 5,
    ridge: float = 1e-3,
    classes: int | None = None,
    rng: RNGLike = None,
) -> ProbeResult:
    """Stratified ``folds``-fold cross-validated accuracy of a ridge linear probe.

    Parameters
    ----------
    embeddings : array of shape (n, d)
    labels : int array of shape (n,)
    folds : int
        ``>= 2``; every class must have at least ``folds`` members.
    ridge : float
        Penalty per fitted row on standardised features, ``>= 0``.
    classes : int, optional
        Number of classes (default ``max(labels) + 1``); every class in ``0 .. classes - 1``
        must be present in the split.
    rng : SPEC 7 seed
        Assigns the members of each class to folds.
    """
    ridge = check_real("ridge", ridge, low=0.0)
    y, k = check_probe_labels(labels, folds=folds, classes=classes)
    z = np.asarray(embeddings, dtype=np.float64)
    if z.ndim != 2 or z.shape[0] != y.size:
        raise ValueError(
            f"embeddings must have shape (n, d) with one row per label ({y.size}), got {z.shape}"
        )
    if not np.all(np.isfinite(z)):
        raise ValueError("embeddings must be finite (found NaN or infinite entries)")
    gen = normalize_rng(rng)
    fold = np.empty(y.size, dtype=np.int64)
    for c in range(k):
        members = gen.permutation(np.flatnonzero(y == c))
        fold[members] = np.arange(members.size) % folds
    onehot = np.eye(k)[y]
    correct = 0
    for f in range(folds):
        fit, held = fold != f, fold == f
        mean = z[fit].mean(axis=0)
        # Constant columns carry nothing: a unit scale keeps them at 0 instead of dividing by 0.
        scale = z[fit].std(axis=0)
        scale[scale == 0.0] = 1.0
        x_fit, x_held = (z[fit] - mean) / scale, (z[held] - mean) / scale
        target_mean = onehot[fit].mean(axis=0)
        gram = x_fit.T @ x_fit + ridge * x_fit.shape[0] * np.eye(z.shape[1])
        weights = np.linalg.lstsq(gram, x_fit.T @ (onehot[fit] - target_mean), rcond=None)[0]
        scores = x_held @ weights + target_mean
        correct += int(np.sum(np.argmax(scores, axis=1) == y[held]))
    accuracy = correct / y.size
    return ProbeResult(
        accuracy,
        math.sqrt(accuracy * (1.0 - accuracy) / y.size),
        int(y.size),
        folds,
        k,
        float(np.bincount(y, minlength=k).max() / y.size),
    )


def augmentation_eta2_lower(
    train_images: Any,
    augmentation: ImageAugmentation | None = None,
    *,
    pairs: int = 4000,
    rng: RNGLike = None,
) -> dict[str, Any]:
    """ACE lower bound on eta2 (Eq. 5) of an image augmentation (module docstring).

    Parameters
    ----------
    train_images : array of shape (n, h, w)
        Clean images; items are drawn uniformly from them (with replacement).
    augmentation : ImageAugmentation, optional
    pairs : int
        Simulated view pairs, ``>= 100``.
    rng : SPEC 7 seed

    Returns
    -------
    dict
        ``lower`` (the bound: lower end of the ACE interval), ``ace`` (the
        :class:`~simulator.hgr.estimators.HGRResult` as a dict), ``pairs``, ``summary``.
    """
    x = np.asarray(train_images, dtype=np.float64)
    if x.ndim != 3 or x.shape[0] < 2:
        raise ValueError(f"train_images must have shape (n, h, w) with n >= 2, got {x.shape}")
    pairs = check_int("pairs", pairs, low=100)
    gen = normalize_rng(rng)
    g_items, g_x, g_y, g_ace = gen.spawn(4)
    flat = x.reshape(x.shape[0], -1)
    centre = flat.mean(axis=0)
    direction = np.linalg.svd(flat - centre, full_matrices=False)[2][0]
    items = x[g_items.integers(0, x.shape[0], size=pairs)]
    sx = (augment_images(items, augmentation, rng=g_x).reshape(pairs, -1) - centre) @ direction
    sy = (augment_images(items, augmentation, rng=g_y).reshape(pairs, -1) - centre) @ direction
    ace = hgr_ace(sx, sy, rng=g_ace)
    return {
        "lower": ace.ci[0],
        "ace": ace.to_dict(),
        "pairs": pairs,
        "summary": "projection on the first principal direction of the clean training images",
    }
