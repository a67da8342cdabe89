"""Tests of simulator.contrastive.images (data) and image_augment (views), issue 13."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.contrastive.image_augment import ImageAugmentation, augment_images
from simulator.contrastive.images import check_images, load_digits_split, split_images

NO_CHANGE = ImageAugmentation(max_shift=0.0, max_rotation=0.0, noise_std=0.0, erase_prob=0.0)


def test_digits_split_is_fixed_stratified_and_standardised() -> None:
    a, b = load_digits_split(), load_digits_split()
    assert a.shape == (8, 8) and a.classes == 10
    assert a.train_images.shape[0] + a.test_images.shape[0] == 1797
    np.testing.assert_array_equal(a.test_labels, b.test_labels)
    np.testing.assert_array_equal(a.test_images, b.test_images)
    counts = np.bincount(a.test_labels) / (np.bincount(a.test_labels) + np.bincount(a.train_labels))
    assert np.all(np.abs(counts - 0.25) < 0.02)
    assert abs(a.train_images.mean()) < 1e-12
    assert a.train_images.std() == pytest.approx(1.0)


def test_flat_square_images_are_reshaped() -> None:
    x, y = check_images(np.arange(32.0).reshape(2, 16), [0, 1])
    assert x.shape == (2, 4, 4) and y.dtype == np.int64


@pytest.mark.parametrize(
    ("images", "labels", "message"),
    [
        (np.zeros((3, 4, 4)), [0, 1], "one label per image"),
        (np.zeros((2, 4, 4)), [0.5, 1.0], "labels must be integers"),
        (np.zeros((2, 4, 4)), [1, 1], "at least 2 classes"),
        (np.zeros((2, 2, 4, 4)), [0, 1], "2-D .* or 3-D"),
        (np.zeros((2, 5)), [0, 1], "square number of pixels"),
        (np.array([[np.nan] * 4, [0.0] * 4]), [0, 1], "finite"),
    ],
)
def test_bad_images_or_labels(images, labels, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_images(images, labels)


def test_a_class_with_one_image_cannot_be_split() -> None:
    x = np.random.default_rng(0).standard_normal((5, 3, 3))
    with pytest.raises(ValueError, match="class 2 has 1 image"):
        split_images(x, [0, 0, 1, 1, 2])


def test_augmentation_keeps_shape_dtype_and_is_deterministic() -> None:
    x = load_digits_split().train_images[:64].astype(np.float32)
    a = augment_images(x, rng=3)
    assert a.shape == x.shape and a.dtype == np.float32
    np.testing.assert_array_equal(a, augment_images(x, rng=3))
    assert not np.array_equal(a, augment_images(x, rng=4))


def test_no_op_augmentation_is_the_identity() -> None:
    x = load_digits_split().train_images[:16]
    np.testing.assert_allclose(augment_images(x, NO_CHANGE, rng=0), x, atol=1e-12)


def test_noise_has_the_stated_standard_deviation() -> None:
    x = np.zeros((200, 8, 8))
    noisy = augment_images(x, ImageAugmentation(0.0, 0.0, 0.3, 0.0), rng=1)
    # 12,800 iid N(0, 0.3^2) draws: the sample sd has relative standard error 1/sqrt(2 m).
    assert abs(noisy.std() / 0.3 - 1) < 5 / np.sqrt(2 * noisy.size)


def test_erasing_sets_one_patch_to_the_background() -> None:
    x = np.random.default_rng(2).uniform(1.0, 2.0, size=(50, 8, 8))
    x[:, 0, 0] = 0.0  # the background value
    out = augment_images(x, ImageAugmentation(0.0, 0.0, 0.0, 1.0, 3), rng=5)
    erased = (out == 0.0).sum(axis=(1, 2)) - (x == 0.0).sum(axis=(1, 2))
    assert np.all((erased == 9) | (erased == 8))  # 8 when the patch covers the corner pixel


def test_translation_moves_mass_by_at_most_max_shift() -> None:
    x = np.zeros((100, 9, 9))
    x[:, 4, 4] = 1.0
    out = augment_images(x, ImageAugmentation(1.0, 0.0, 0.0, 0.0), rng=6)
    ii, jj = np.meshgrid(np.arange(9), np.arange(9), indexing="ij")
    ci = (out * ii).sum(axis=(1, 2)) / out.sum(axis=(1, 2))
    cj = (out * jj).sum(axis=(1, 2)) / out.sum(axis=(1, 2))
    assert np.all(np.abs(ci - 4) <= 1 + 1e-9) and np.all(np.abs(cj - 4) <= 1 + 1e-9)
    assert np.std(ci) > 0.2  # the shifts are random, not all zero


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_shift": -1.0}, "max_shift"),
        ({"noise_std": -0.1}, "noise_std"),
        ({"erase_prob": 1.5}, "erase_prob"),
        ({"erase_size": 0}, "erase_size"),
    ],
)
def test_bad_augmentation_parameters(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ImageAugmentation(**kwargs)


def test_bad_augmentation_inputs() -> None:
    with pytest.raises(ValueError, match="shape"):
        augment_images(np.zeros((8, 8)))
    with pytest.raises(ValueError, match="floating point"):
        augment_images(np.zeros((2, 8, 8), dtype=int))
    with pytest.raises(ValueError, match="erase_size"):
        augment_images(np.zeros((2, 2, 2)), ImageAugmentation(erase_size=3))
