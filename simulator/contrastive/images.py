"""Small real image sets for contrastive-versus-supervised training (Table 1, CIFAR-10 columns).

The bundled set is scikit-learn's handwritten digits (1,797 greyscale images of 8 x 8 pixels, ten
classes), read from the installed package: nothing is downloaded. A user's own images come in as
arrays (the CLI reads ``.npy``/``.npz`` files and hands the arrays here).

Images are standardised with the training split's per-pixel mean and one global standard deviation
(per-pixel scaling would blow up the border pixels of the digits, which are almost always 0).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from simulator.backend import RNGLike, normalize_rng
from simulator.contrastive.data import Eta2
from simulator.contrastive.image_augment import ImageAugmentation, augment_images
from simulator.validation import check_real

MIN_CLASSES = 2


@dataclass(frozen=True)
class ImageSplit:
    """A standardised train/test split of images with integer labels.

    Attributes
    ----------
    train_images, test_images : ndarray of shape (n, h, w), float64
        Standardised with the training split's statistics.
    train_labels, test_labels : ndarray of shape (n,), int64
    name : str
        Where the images came from (``'digits'`` or ``'user'``).
    """

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    name: str

    @property
    def shape(self) -> tuple[int, int]:
        """Height and width of one image."""
        return self.train_images.shape[1], self.train_images.shape[2]

    @property
    def classes(self) -> int:
        return int(max(self.train_labels.max(), self.test_labels.max()) + 1)


def check_images(images: object, labels: object) -> tuple[np.ndarray, np.ndarray]:
    """Validate an image array and its labels; return ``(n, h, w)`` float64 and int64 copies.

    A 2-D ``images`` array of shape ``(n, p)`` is read as square images when ``p`` is a perfect
    square. Labels must be integers (integer-valued floats are accepted) with at least
    :data:`MIN_CLASSES` distinct values.
    """
    x = np.asarray(images)
    y = np.asarray(labels)
    if x.ndim not in (2, 3):
        raise ValueError(f"images must be a 2-D (n, pixels) or 3-D (n, h, w) array, got {x.ndim}-D")
    if not (np.issubdtype(x.dtype, np.number) and not np.issubdtype(x.dtype, np.complexfloating)):
        raise ValueError(f"images must be real numbers, got dtype {x.dtype}")
    if y.ndim != 1 or y.shape[0] != x.shape[0]:
        raise ValueError(
            f"labels must be a 1-D array with one label per image ({x.shape[0]}), got shape "
            f"{y.shape}"
        )
    if x.ndim == 2:
        side = round(float(np.sqrt(x.shape[1])))
        if side * side != x.shape[1]:
            raise ValueError(f"2-D images need a square number of pixels per row, got {x.shape[1]}")
        x = x.reshape(x.shape[0], side, side)
    x = x.astype(np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError("images must be finite (found NaN or infinite pixels)")
    if np.issubdtype(y.dtype, np.floating):
        if not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
            raise ValueError("labels must be integers")
    elif not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"labels must be integers, got dtype {y.dtype}")
    y = y.astype(np.int64)
    if np.any(y < 0):
        raise ValueError("labels must be non-negative integers")
    if np.unique(y).size < MIN_CLASSES:
        raise ValueError(
            f"labels must have at least {MIN_CLASSES} classes, got {np.unique(y).size}"
        )
    return x, y


def split_images(
    images: object,
    labels: object,
    *,
    test_fraction: float = 0.25,
    rng: RNGLike = 0,
    name: str = "user",
) -> ImageSplit:
    """Stratified train/test split, standardised with the training statistics.

    Every class keeps ``round(test_fraction * count)`` images for testing (at least one) and at
    least one for training; a class with fewer than two images cannot be split (ValueError).
    The default ``rng = 0`` makes the split fixed.
    """
    x, y = check_images(images, labels)
    test_fraction = check_real(
        "test_fraction", test_fraction, low=0.0, high=1.0, low_open=True, high_open=True
    )
    gen = normalize_rng(rng)
    test_idx, train_idx = [], []
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        if members.size < 2:
            raise ValueError(
                f"class {c} has {members.size} image; every class needs at least 2 to appear in "
                "both the training and the test split"
            )
        members = gen.permutation(members)
        k = min(max(1, round(test_fraction * members.size)), members.size - 1)
        test_idx.append(members[:k])
        train_idx.append(members[k:])
    tr, te = np.sort(np.concatenate(train_idx)), np.sort(np.concatenate(test_idx))
    mean = x[tr].mean(axis=0)
    scale = float((x[tr] - mean).std())
    if scale == 0.0:
        raise ValueError("images are constant: they cannot be standardised")
    return ImageSplit((x[tr] - mean) / scale, y[tr], (x[te] - mean) / scale, y[te], name)


def load_digits_split(*, test_fraction: float = 0.25, rng: RNGLike = 0) -> ImageSplit:
    """scikit-learn's bundled handwritten digits (8 x 8, ten classes) as a fixed split."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    return split_images(
        digits.images, digits.target, test_fraction=test_fraction, rng=rng, name="digits"
    )


@dataclass(frozen=True)
class ImageSetting:
    """An image split as a training setting of :func:`simulator.contrastive.trainer.train`.

    It offers what the trainer reads from a synthetic
    :class:`~simulator.contrastive.data.DataSetting`: the input dimension ``p`` (pixels), the
    item counts, ``components`` (classes, for the supervised head) and :meth:`build`. The items
    are image indices; a view is one augmentation (:mod:`simulator.contrastive.image_augment`),
    flattened to ``p`` pixels.

    Attributes
    ----------
    split : ImageSplit
    augmentation : ImageAugmentation
    """

    split: ImageSplit = field(repr=False, compare=False)
    augmentation: ImageAugmentation = field(default_factory=ImageAugmentation)

    @property
    def name(self) -> str:
        return self.split.name

    @property
    def p(self) -> int:
        h, w = self.split.shape
        return h * w

    @property
    def n_train(self) -> int:
        return int(self.split.train_labels.size)

    @property
    def n_test(self) -> int:
        return int(self.split.test_labels.size)

    @property
    def components(self) -> int:
        return self.split.classes

    @property
    def has_labels(self) -> bool:
        return True

    def build(self, *, rng: RNGLike = None) -> ImageDataset:
        """The fixed split as a data set (nothing is drawn: ``rng`` is accepted and unused, so
        that the trainer treats synthetic and image settings alike)."""
        s = self.split
        images = np.concatenate([s.train_images, s.test_images])
        labels = np.concatenate([s.train_labels, s.test_labels])
        n = self.n_train
        return ImageDataset(self, images, labels, np.arange(n), np.arange(n, images.shape[0]))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description: source, sizes, augmentation and a digest of the arrays."""
        s = self.split
        digest = hashlib.sha256()
        for a in (s.train_images, s.train_labels, s.test_images, s.test_labels):
            digest.update(np.ascontiguousarray(a).tobytes())
        return {
            "name": self.name,
            "image_shape": list(s.shape),
            "p": self.p,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "classes": self.components,
            "augmentation": asdict(self.augmentation),
            "sha256": digest.hexdigest(),
        }


@dataclass(frozen=True)
class ImageDataset:
    """Images of an :class:`ImageSetting` with train and test item indices into them."""

    setting: ImageSetting
    images: np.ndarray = field(repr=False)
    all_labels: np.ndarray = field(repr=False)
    train: np.ndarray = field(repr=False)
    test: np.ndarray = field(repr=False)

    def views(self, items: np.ndarray, *, rng: RNGLike = None) -> np.ndarray:
        """One augmented view of each item, float64 of shape (len(items), p)."""
        out = augment_images(self.images[items], self.setting.augmentation, rng=rng)
        return out.reshape(out.shape[0], -1)

    def clean(self, items: np.ndarray) -> np.ndarray:
        """The unaugmented images of the items, float64 of shape (len(items), p)."""
        return self.images[items].reshape(len(items), -1)

    def labels(self, items: np.ndarray) -> np.ndarray:
        return self.all_labels[items]

    def eta2(self) -> Eta2:
        """eta2 (Eq. 5) of an image augmentation has no closed form: the trivial interval
        ``[0, 1]``, so that the Prop. 1 ceiling the trainer reports is the trivial one, 1
        (a lower bound from data: :func:`simulator.contrastive.probe.augmentation_eta2_lower`)."""
        return Eta2(0.0, 1.0, 0.0, "not computable for image augmentations: trivial [0, 1]")
