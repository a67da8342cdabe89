"""The paper's synthetic data sets (App. E.1) as fixed item sets with a view channel.

Each setting draws a fixed train and test set of *items* ``X0`` once; a trainer then draws fresh
views ``X, Y ~ A(. | X0)`` of the items of every mini-batch (conditionally independent given the
item, the Markov chain ``X - X0 - Y`` of Sec. 3.1). Views are drawn on the host with NumPy and
copied to the array namespace by the caller (the host-draw RNG mode of :mod:`simulator.backend`).

Settings and the choices the paper leaves open (each a field of the setting's dataclass):

``laplace``
    ``X0`` iid Laplace(0, 1) in dimension ``p = 1024``; views by Eq. 53,
    ``x = A x0 + sqrt(1 - A^2) eps`` then the light jitter (noise std 0.2, feature dropout 0.1,
    one scale ``exp(N(0, 0.1^2))`` per view): :class:`simulator.hgr.channels.GaussianChannel`
    with :class:`~simulator.hgr.channels.Jitter`. 20k train / 5k test items, ``A = 0.6``.
``gmm``
    25 equally weighted components in dimension 1024 with means drawn once iid
    ``N(0, mean_std^2)`` per coordinate (the paper says "random fixed means"; ``mean_std = 1`` is
    ours) and shared isotropic covariance ``noise_std^2 I`` (``noise_std = 1``, ours). The item is
    the component; the two views are independent draws from it. 10k train items; 5k test (ours).
``binary``
    ``X0`` iid Bernoulli(``density``) in dimension 1024; each view flips each zero entry to one
    with probability 0.001, independently (the Z-channel of
    :func:`simulator.hgr.channels.sparse_binary_flip`). The paper does not give the sparsity; its
    Table 1 E0 values (CV 0.36, 30% AD pass) need very few active entries per item, and
    ``density = 0.005`` (about 5 of 1024) is our default. 10k train / 5k test items (ours).

eta2 (Eq. 5) of each channel: ``binary`` exactly (discrete SVD, tensorisation over coordinates);
``laplace`` as the numeric bracket of :func:`simulator.hgr.mildness.eq53_eta2` (the shared scale
couples coordinates); ``gmm`` by Monte Carlo from the exact posterior of the component given a
view (:func:`gmm_eta2`).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import special

from simulator.backend import RNGLike, normalize_rng
from simulator.hgr.channels import GaussianChannel, Jitter, check_A, input_law, sparse_binary_flip
from simulator.validation import check_int, check_real

DATASETS = ("laplace", "gmm", "binary")
#: Monte Carlo draws of the ``gmm`` eta2 (:func:`gmm_eta2`, through :func:`setting_eta2`).
GMM_ETA2_DRAWS = 20_000


@dataclass(frozen=True)
class DataSetting:
    """One synthetic setting (see the module docstring for every default and its source).

    Attributes
    ----------
    name : {'laplace', 'gmm', 'binary'}
    p : int
        Input dimension.
    n_train, n_test : int
        Items in the train and held-out sets.
    A : float
        Eq. 53 coefficient (``laplace``), in [-1, 1].
    jitter : Jitter
        Eq. 53 jitter (``laplace``).
    components, mean_std, noise_std : int, float, float
        Mixture size, spread of the means and within-component std (``gmm``).
    density, flip : float
        Fraction of ones in an item and the zero-to-one flip probability of a view (``binary``).
    """

    name: str
    p: int = 1024
    n_train: int = 20_000
    n_test: int = 5_000
    A: float = 0.6
    jitter: Jitter = field(default_factory=Jitter)
    components: int = 25
    mean_std: float = 1.0
    noise_std: float = 1.0
    density: float = 0.005
    flip: float = 0.001

    def __post_init__(self) -> None:
        if self.name not in DATASETS:
            raise ValueError(f"data must be one of {DATASETS}, got {self.name!r}")
        check_int("p", self.p, low=1)
        check_int("n_train", self.n_train, low=2)
        check_int("n_test", self.n_test, low=8)
        check_A(self.A)
        check_int("components", self.components, low=2)
        check_real("mean_std", self.mean_std, low=0.0)
        check_real("noise_std", self.noise_std, low=0.0, low_open=True)
        check_real("density", self.density, low=0.0, high=1.0)
        check_real("flip", self.flip, low=0.0, high=1.0)

    @property
    def has_labels(self) -> bool:
        """Whether items carry a class (the supervised control needs one): ``gmm`` only."""
        return self.name == "gmm"

    def channel(self) -> GaussianChannel:
        """The Eq. 53 channel of the ``laplace`` setting."""
        return GaussianChannel(self.A, input_law("laplace"), self.p, self.jitter)

    def build(self, *, rng: RNGLike = None) -> Dataset:
        """Draw the fixed item sets (and the ``gmm`` means) from ``rng``."""
        gen = normalize_rng(rng)
        means = None
        n = self.n_train + self.n_test
        if self.name == "laplace":
            items = gen.laplace(size=(n, self.p))
        elif self.name == "gmm":
            means = self.mean_std * gen.standard_normal((self.components, self.p))
            items = gen.integers(0, self.components, size=n)
        else:
            items = (gen.random((n, self.p)) < self.density).astype(np.float64)
        channel = self.channel() if self.name == "laplace" else None
        return Dataset(self, items[: self.n_train], items[self.n_train :], means, channel)


@dataclass(frozen=True)
class Dataset:
    """Fixed train/test items of a :class:`DataSetting` and its view channel."""

    setting: DataSetting
    train: np.ndarray
    test: np.ndarray
    means: np.ndarray | None = None
    channel: GaussianChannel | None = None

    def views(self, items: np.ndarray, *, rng: RNGLike = None) -> np.ndarray:
        """One view of each item, float64 of shape (len(items), p)."""
        gen = normalize_rng(rng)
        s = self.setting
        if s.name == "laplace":
            return self.channel.view(items, rng=gen)
        if s.name == "gmm":
            return self.means[items] + s.noise_std * gen.standard_normal((len(items), s.p))
        return np.maximum(items, (gen.random(items.shape) < s.flip).astype(np.float64))

    def labels(self, items: np.ndarray) -> np.ndarray:
        """Component of each ``gmm`` item (the supervised control's target)."""
        if not self.setting.has_labels:
            raise ValueError(f"data {self.setting.name!r} has no labels; use data 'gmm'")
        return np.asarray(items, dtype=np.int64)


@dataclass(frozen=True)
class Eta2:
    """eta2 of a channel as an interval ``[low, high]`` with an error bound on each end."""

    low: float
    high: float
    error: float
    method: str

    @property
    def value(self) -> float:
        return 0.5 * (self.low + self.high)

    @property
    def upper(self) -> float:
        """An upper bound on eta2 (for the Prop. 1 ceiling)."""
        return min(1.0, self.high + self.error)

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "low": self.low,
            "high": self.high,
            "error": self.error,
            "method": self.method,
        }


def channel_eta2(setting: DataSetting) -> Eta2:
    """eta2 (Eq. 5) of the ``laplace`` (Eq. 53 numeric bracket) or ``binary`` (exact) channel.

    These depend on the channel's parameters only, not on the drawn items or their number;
    ``gmm`` needs its drawn means (:func:`setting_eta2`).
    """
    if setting.name == "gmm":
        raise ValueError("the gmm eta2 depends on the drawn means: use setting_eta2(dataset)")
    if setting.name == "laplace":
        return _laplace_eta2(setting.A, setting.jitter)
    return _binary_eta2(setting.density, setting.flip)


# Cached on the channel's parameters alone, so settings that differ only in sizes (p, the item
# counts) share one computation: the Eq. 53 quadrature takes seconds.
@functools.lru_cache(maxsize=32)
def _laplace_eta2(A: float, jitter: Jitter) -> Eta2:
    from simulator.hgr.mildness import eq53_eta2

    r = eq53_eta2(A, "laplace", jitter)
    lo, hi = r["eta2_with_scale_interval"]
    return Eta2(lo, hi, r["eta2_with_scale_interval_error"], "numeric bracket (Eq. 53)")


@functools.lru_cache(maxsize=32)
def _binary_eta2(density: float, flip: float) -> Eta2:
    from simulator.hgr.mildness import channel_hgr

    r = channel_hgr(sparse_binary_flip(density, flip))
    return Eta2(r["eta2"], r["eta2"], r["eta2_error"], "exact (discrete SVD)")


def setting_eta2(dataset: Dataset, *, n: int = GMM_ETA2_DRAWS, rng: RNGLike = None) -> Eta2:
    """eta2 (Eq. 5) of a data set's channel; ``n`` and ``rng`` are used by ``gmm`` only."""
    if dataset.setting.name == "gmm":
        return gmm_eta2(dataset.means, dataset.setting.noise_std, n=n, rng=rng)
    return channel_eta2(dataset.setting)


def _posterior_lambda2(post: np.ndarray) -> float:
    """Second eigenvalue of ``D^{-1/2} E[p p^T] D^{-1/2}`` (``D`` the mean posterior)."""
    marginal = post.mean(axis=0)
    scale = 1.0 / np.sqrt(np.maximum(marginal, 1e-300))
    m = (post.T @ post) / post.shape[0] * scale[:, None] * scale[None, :]
    return float(np.linalg.eigvalsh(m)[-2])


def gmm_eta2(
    means: np.ndarray,
    noise_std: float,
    *,
    n: int = GMM_ETA2_DRAWS,
    batches: int = 20,
    rng: RNGLike = None,
) -> Eta2:
    """eta2 of the mixture channel ``X = mu_C + noise_std * eps``, ``C`` uniform on K components.

    For a finite item ``C`` with law ``q``, ``rho_m^2(X, C) = sup_g Var E[g(C)|X] / Var g(C)``
    (Eq. 22) is the second largest eigenvalue of ``D^{-1/2} E[p(X) p(X)^T] D^{-1/2}`` with
    ``p(X)`` the exact posterior of ``C`` and ``D = diag(q)`` (the largest, 1, belongs to constant
    ``g``); ``q`` is estimated as the mean posterior so that one-hot posteriors give exactly 1.
    The expectation is a Monte Carlo mean over ``n`` draws; the error is three batch-means
    standard errors over ``batches`` batches plus the difference between the batch mean and the
    full-sample value (an allowance for the small-sample bias of an eigenvalue), plus ``1e-12``.
    """
    means = np.asarray(means, dtype=float)
    k = means.shape[0]
    n = check_int("n", n, low=2)
    batches = check_int("batches", batches, low=2, high=n)
    noise_std = check_real("noise_std", noise_std, low=0.0, low_open=True)
    gen = normalize_rng(rng)
    c = gen.integers(0, k, size=n)
    x = means[c] + noise_std * gen.standard_normal((n, means.shape[1]))
    logits = (x @ means.T - 0.5 * np.sum(means * means, axis=1)) / noise_std**2
    post = np.exp(logits - special.logsumexp(logits, axis=1, keepdims=True))
    lam = _posterior_lambda2(post)
    parts = np.array([_posterior_lambda2(b) for b in np.array_split(post, batches)])
    err = 3.0 * float(parts.std(ddof=1)) / math.sqrt(batches) + abs(float(parts.mean()) - lam)
    lam = min(1.0, max(0.0, lam))
    return Eta2(lam, lam, err + 1e-12, f"Monte Carlo posterior, n = {n}")
