"""Augmentations of small greyscale images, vectorised over the batch (the views of Eq. 2).

One call draws an independent augmentation per image: a rotation and a translation applied in one
bilinear resampling (:func:`scipy.ndimage.map_coordinates` over the whole stack), additive Gaussian
noise, and random erasing of a square patch. The defaults suit 8 x 8 digits in standardised units:

=============== ======= =====================================================================
parameter       default meaning
=============== ======= =====================================================================
max_shift       1.0     translation drawn uniformly in [-max_shift, max_shift] pixels per axis
max_rotation    10.0    rotation angle drawn uniformly in [-max_rotation, max_rotation] degrees
noise_std       0.1     standard deviation of the additive Gaussian noise
erase_prob      0.5     probability of erasing one patch
erase_size      3       side of the erased square patch, in pixels
=============== ======= =====================================================================

Pixels that the resampling takes from outside the image, and erased pixels, get the background
value (the smallest pixel of the batch before augmentation), so no new intensity is invented.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from simulator.backend import RNGLike, normalize_rng
from simulator.validation import check_int, check_real


@dataclass(frozen=True)
class ImageAugmentation:
    """Parameters of :func:`augment_images` (see the module docstring for their meaning)."""

    max_shift: float = 1.0
    max_rotation: float = 10.0
    noise_std: float = 0.1
    erase_prob: float = 0.5
    erase_size: int = 3

    def __post_init__(self) -> None:
        check_real("max_shift", self.max_shift, low=0.0)
        check_real("max_rotation", self.max_rotation, low=0.0, high=180.0)
        check_real("noise_std", self.noise_std, low=0.0)
        check_real("erase_prob", self.erase_prob, low=0.0, high=1.0)
        check_int("erase_size", self.erase_size, low=1)


def augment_images(
    images: np.ndarray, augmentation: ImageAugmentation | None = None, *, rng: RNGLike = None
) -> np.ndarray:
    """One independently augmented view of every image in ``images`` (shape ``(n, h, w)``).

    Returns an array of the same shape and dtype; the result depends only on the images, the
    parameters and the generator.
    """
    aug = ImageAugmentation() if augmentation is None else augmentation
    x = np.asarray(images)
    if x.ndim != 3 or x.shape[0] < 1:
        raise ValueError(f"images must have shape (n, h, w) with n >= 1, got {x.shape}")
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"images must be floating point, got dtype {x.dtype}")
    n, h, w = x.shape
    if aug.erase_size > min(h, w):
        raise ValueError(
            f"erase_size must be at most min(h, w) = {min(h, w)}, got {aug.erase_size}"
        )
    gen = normalize_rng(rng)
    background = float(x.min())

    angle = np.deg2rad(gen.uniform(-aug.max_rotation, aug.max_rotation, size=n))
    shift = gen.uniform(-aug.max_shift, aug.max_shift, size=(n, 2))
    # Output pixel (i, j) reads the input at R^{-1} ((i, j) - centre - shift) + centre.
    ci, cj = (h - 1) / 2.0, (w - 1) / 2.0
    ii, jj = np.meshgrid(np.arange(h) - ci, np.arange(w) - cj, indexing="ij")
    di = ii[None] - shift[:, 0, None, None]
    dj = jj[None] - shift[:, 1, None, None]
    cos, sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
    src_i = cos * di + sin * dj + ci
    src_j = -sin * di + cos * dj + cj
    batch = np.broadcast_to(np.arange(n, dtype=float)[:, None, None], (n, h, w))
    out = ndimage.map_coordinates(
        x.astype(np.float64), [batch, src_i, src_j], order=1, mode="constant", cval=background
    )

    out += aug.noise_std * gen.standard_normal(out.shape)

    erase = gen.random(n) < aug.erase_prob
    top = gen.integers(0, h - aug.erase_size + 1, size=n)
    left = gen.integers(0, w - aug.erase_size + 1, size=n)
    rows = np.arange(h)[None, :, None]
    cols = np.arange(w)[None, None, :]
    inside = (
        (rows >= top[:, None, None])
        & (rows < top[:, None, None] + aug.erase_size)
        & (cols >= left[:, None, None])
        & (cols < left[:, None, None] + aug.erase_size)
    )
    out[inside & erase[:, None, None]] = background
    return out.astype(x.dtype, copy=False)
