"""Augmentation channels: samplers of ``(X0, X, Y)`` with two views conditionally independent given
the item ``X0`` (theory.md section 1, the Markov chain ``X - X0 - Y``).

Every channel offers ``sample(n, rng=...) -> (x0, x, y)`` and, where available,

* ``closed_form()``: ``rho_m(X, X0)`` in closed form (theory.md section 4);
* ``discrete()``: ``(input_probs, matrix)`` of a finite channel (per coordinate for vector
  channels with iid coordinates), for the exact HGR of
  :func:`simulator.hgr.estimators.hgr_discrete`;
* ``scalar_kernel()``: a :class:`simulator.hgr.estimators.ScalarKernel` for the numeric HGR of one
  coordinate pair.

Vector channels act coordinate-wise on iid coordinates unless stated otherwise, so by
tensorisation (theory.md section 4) ``rho_m`` of the vectors equals that of one coordinate pair.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import special, stats

from simulator.backend import RNGLike, normalize_rng
from simulator.hgr.estimators import ScalarKernel, check_channel_matrix, check_pmf
from simulator.sphere.vmf import mean_resultant_length, vmf_around
from simulator.validation import check_int, check_real

INPUT_LAWS = ("gaussian", "laplace", "uniform", "rademacher")
#: Mass left outside the truncated domains of the numeric HGR.
_TAIL = 1e-17

Sample = tuple[np.ndarray, np.ndarray, np.ndarray]


def check_A(A: object) -> float:
    """Validate the channel coefficient ``A`` of Eq. 53 (``-1 <= A <= 1``)."""
    return check_real("A", A, low=-1.0, high=1.0)


@dataclass(frozen=True)
class InputLaw:
    """Law of the scalar item coordinate ``X0``.

    ``name`` is one of :data:`INPUT_LAWS` or ``'custom'``. Continuous laws carry a frozen SciPy
    distribution (``dist``); discrete ones ``values`` and ``probs``; a custom sampler
    ``sampler(n, rng) -> array of shape (n,)`` supports sampling (and ACE) only.
    """

    name: str
    dist: Any = None
    values: np.ndarray | None = None
    probs: np.ndarray | None = None
    sampler: Callable[[int, np.random.Generator], np.ndarray] | None = None
    breaks: tuple[float, ...] = ()

    def draw(self, shape: tuple[int, ...], gen: np.random.Generator) -> np.ndarray:
        if self.sampler is not None:
            size = int(np.prod(shape))
            out = np.asarray(self.sampler(size, gen), dtype=float)
            if out.shape != (size,):
                raise ValueError(f"the input sampler must return shape ({size},), got {out.shape}")
            return out.reshape(shape)
        if self.values is not None:
            return gen.choice(self.values, size=shape, p=self.probs)
        return self.dist.rvs(size=shape, random_state=gen)

    def support_range(self) -> tuple[float, float]:
        if self.values is not None:
            return float(self.values.min()), float(self.values.max())
        return float(self.dist.ppf(_TAIL)), float(self.dist.isf(_TAIL))


def input_law(
    name: str | Callable[[int, np.random.Generator], np.ndarray] | tuple[ArrayLike, ArrayLike],
) -> InputLaw:
    """Build an :class:`InputLaw`.

    Parameters
    ----------
    name : str, callable or (values, probs)
        ``'gaussian'`` (N(0, 1)), ``'laplace'`` (Laplace(0, 1), variance 2: the paper's App. E.1
        input), ``'uniform'`` (unit variance), ``'rademacher'`` (+-1); a callable
        ``sampler(n, rng)``; or a finite law ``(values, probs)``.
    """
    if callable(name):
        return InputLaw("custom", sampler=name)
    if isinstance(name, tuple):
        values = np.asarray(name[0], dtype=float)
        probs = check_pmf(name[1], "input probs", size=values.size)
        if values.ndim != 1 or not np.all(np.isfinite(values)):
            raise ValueError("input values must be a finite 1-D array")
        return InputLaw("discrete", values=values, probs=probs)
    if name == "gaussian":
        return InputLaw(name, dist=stats.norm())
    if name == "laplace":
        return InputLaw(name, dist=stats.laplace(), breaks=(0.0,))
    if name == "uniform":
        r = math.sqrt(3.0)
        return InputLaw(name, dist=stats.uniform(-r, 2 * r), breaks=(-r, r))
    if name == "rademacher":
        return InputLaw("rademacher", values=np.array([-1.0, 1.0]), probs=np.array([0.5, 0.5]))
    raise ValueError(
        f"input must be one of {INPUT_LAWS}, a sampler or (values, probs); got {name!r}"
    )


# --------------------------------------------------------------------------- Gaussian channel


@dataclass(frozen=True)
class Jitter:
    """The light view jitter of the paper's Eq. 53 experiment (App. E.1), each switchable.

    Applied in this order: additive Gaussian noise of std ``noise_std``; feature dropout with
    probability ``dropout`` (entries set to 0, no rescaling); one multiplicative scale
    ``exp(N(0, scale_std^2))`` per view, shared by all coordinates. Zero turns a part off.
    """

    noise_std: float = 0.2
    dropout: float = 0.1
    scale_std: float = 0.1

    def __post_init__(self) -> None:
        check_real("noise_std", self.noise_std, low=0.0)
        check_real("dropout", self.dropout, low=0.0, high=1.0, high_open=True)
        check_real("scale_std", self.scale_std, low=0.0)


NO_JITTER = Jitter(0.0, 0.0, 0.0)


@dataclass(frozen=True)
class GaussianChannel:
    """``X = A X0 + sqrt(1 - A^2) eps`` coordinate-wise, then optional jitter (App. A.2, Eq. 53).

    Attributes
    ----------
    A : float
        Channel coefficient in [-1, 1].
    law : InputLaw
        Law of each iid coordinate of ``X0``.
    dim : int
        Number of coordinates (1 for the scalar channel; 1024 in the paper's Laplace experiment).
    jitter : Jitter
        ``NO_JITTER`` for the plain channel; ``Jitter()`` for the paper's defaults.
    """

    A: float
    law: InputLaw
    dim: int = 1
    jitter: Jitter = NO_JITTER

    def __post_init__(self) -> None:
        check_A(self.A)
        check_int("dim", self.dim, low=1)

    @property
    def name(self) -> str:
        tag = "eq53" if self.jitter != NO_JITTER else "gaussian"
        return f"{tag}(A={self.A:g}, input={self.law.name}, dim={self.dim})"

    def _view(self, x0: np.ndarray, gen: np.random.Generator) -> np.ndarray:
        a = self.A
        x = a * x0 + math.sqrt(max(0.0, 1.0 - a * a)) * gen.standard_normal(x0.shape)
        j = self.jitter
        if j.noise_std > 0:
            x += j.noise_std * gen.standard_normal(x0.shape)
        if j.dropout > 0:
            x *= gen.random(x0.shape) >= j.dropout
        if j.scale_std > 0:
            x *= np.exp(j.scale_std * gen.standard_normal((x0.shape[0], 1)))
        return x

    def sample(self, n: int, *, rng: RNGLike = None) -> Sample:
        """Draw ``n`` triples; arrays of shape (n, dim)."""
        n = check_int("n", n, low=1)
        gen = normalize_rng(rng)
        x0 = self.law.draw((n, self.dim), gen)
        return x0, self._view(x0, gen), self._view(x0, gen)

    def view(self, x0: np.ndarray, *, rng: RNGLike = None) -> np.ndarray:
        """One view of given items ``x0`` of shape (n, dim) (a trainer's fixed data set)."""
        return self._view(np.asarray(x0, dtype=float), normalize_rng(rng))

    def closed_form(self) -> float | None:
        """``|A|`` for Gaussian input without jitter (App. A.2); 0 or 1 at ``A`` in {0, +-1}."""
        if abs(self.A) in (0.0, 1.0) and self.jitter == NO_JITTER:
            return abs(self.A)
        if self.law.name == "gaussian" and self.jitter == NO_JITTER:
            return abs(self.A)
        return None

    def tail_rho(self) -> float | None:
        """Edge of the essential spectrum for Laplace(0, 1) input, or None for other inputs.

        In the exponential tail of the input the channel is asymptotically translation
        invariant: with ``tau^2 = sigma^2 / A^2`` (``sigma^2 = 1 - A^2 + noise_std^2``) the
        composed operator ``T S`` maps ``exp(c x0)`` to ``exp(tau^2 (c^2 - c)) exp(c x0)``; along
        ``c = 1/2 + i w`` (the L2 edge under the weight ``e^{-|x0|}``) this gives a Weyl sequence
        and the spectral value ``exp(-tau^2 (1/4 + w^2))``. Hence
        ``rho_m(X, X0) >= sqrt(1 - p) exp(-tau^2 / 8)`` (``p`` the dropout erasure), approached by
        functions that live ever further in the tails and not attained; a truncated
        discretisation converges to it from below only as the domain grows. Not available with
        the random scale (it changes the tail kernel).
        """
        if self.law.name != "laplace" or self.A == 0.0 or self.jitter.scale_std > 0:
            return None
        sigma2 = 1.0 - self.A**2 + self.jitter.noise_std**2
        return math.sqrt(1.0 - self.jitter.dropout) * math.exp(-sigma2 / (8.0 * self.A**2))

    def scalar_kernel(self, *, with_scale: bool = True) -> ScalarKernel:
        """Kernel of one coordinate pair ``(X0_i, X_i)`` for the numeric HGR.

        Dropout is an atom of ``X`` at 0 of probability ``p`` independent of ``X0``. The shared
        scale is integrated out by 40-point Gauss-Hermite quadrature in ``log s``; with
        ``with_scale=False`` it is left out (see :func:`eq53_eta2` for why both are needed).
        """
        if self.law.sampler is not None:
            raise ValueError("a custom input sampler has no density: use method 'ace'")
        a = self.A
        j = self.jitter
        sigma = math.sqrt(max(0.0, 1.0 - a * a) + j.noise_std**2)
        if sigma == 0.0:
            raise ValueError("the numeric HGR needs a noisy channel (|A| < 1 or jitter noise)")
        lo0, hi0 = self.law.support_range()
        scale_std = j.scale_std if with_scale else 0.0
        if scale_std > 0:
            z, wz = special.roots_hermitenorm(40)
            scales = np.exp(scale_std * z)
            wz = wz / wz.sum()
        else:
            scales, wz = np.array([1.0]), np.array([1.0])
        keep = 1.0 - j.dropout

        def cond_pdf(x: np.ndarray, x0: np.ndarray) -> np.ndarray:
            out = np.zeros(np.broadcast_shapes(x.shape, x0.shape))
            for s, w in zip(scales, wz, strict=True):
                out += w / s * stats.norm.pdf((x / s - a * x0) / sigma) / sigma
            return keep * out

        s_max = float(scales.max())
        half = (abs(a) * max(abs(lo0), abs(hi0)) + 9.0 * sigma) * s_max
        law = self.law
        atoms = (law.values, law.probs) if law.values is not None else None
        return ScalarKernel(
            input_pdf=law.dist.pdf if law.dist is not None else None,
            input_range=(lo0, hi0),
            cond_pdf=cond_pdf,
            output_range=(-half, half),
            input_breaks=law.breaks,
            output_breaks=(0.0,),
            atom_prob=j.dropout,
            input_atoms=atoms,
        )


# --------------------------------------------------------------------------- discrete channels


@dataclass(frozen=True)
class DiscreteChannel:
    """A finite channel: ``X0 ~ input_probs`` on ``{0..k0-1}``, ``X | X0 = a ~ matrix[a]``.

    Covers the binary symmetric channel (:func:`bsc`), the q-ary symmetric channel
    (:func:`qary_symmetric`) and any row-stochastic matrix (rows sum to 1 within 1e-12).
    ``dim`` iid coordinates may be drawn (the vector channel acts coordinate-wise).
    """

    matrix: np.ndarray
    input_probs: np.ndarray
    label: str = "discrete"
    dim: int = 1
    closed: float | None = None

    def __post_init__(self) -> None:
        w = check_channel_matrix(self.matrix)
        check_pmf(self.input_probs, "input_probs", size=w.shape[0])
        check_int("dim", self.dim, low=1)

    @property
    def name(self) -> str:
        return self.label if self.dim == 1 else f"{self.label}, dim={self.dim}"

    def discrete(self) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(self.input_probs, float), np.asarray(self.matrix, float)

    def closed_form(self) -> float | None:
        return self.closed

    def sample(self, n: int, *, rng: RNGLike = None) -> Sample:
        """Draw ``n`` triples of symbol indices; shape (n,) if ``dim == 1`` else (n, dim)."""
        n = check_int("n", n, low=1)
        gen = normalize_rng(rng)
        w = np.asarray(self.matrix, float)
        cum = np.cumsum(w, axis=1)
        cum[:, -1] = 1.0
        x0 = gen.choice(w.shape[0], size=(n, self.dim), p=self.input_probs)

        def view() -> np.ndarray:
            u = gen.random((n, self.dim))
            rows = cum[x0]
            return (u[..., None] >= rows).sum(axis=-1)

        x, y = view(), view()
        if self.dim == 1:
            return x0[:, 0], x[:, 0], y[:, 0]
        return x0, x, y


def bsc(p: float, input_probs: ArrayLike = (0.5, 0.5), dim: int = 1) -> DiscreteChannel:
    """Binary symmetric channel with crossover ``p`` in [0, 1]; ``rho_m = |1 - 2p|`` for uniform
    input (theory.md section 4)."""
    p = check_real("p", p, low=0.0, high=1.0)
    probs = check_pmf(input_probs, "input_probs", size=2)
    closed = abs(1.0 - 2.0 * p) if probs[0] == probs[1] else None
    if min(probs) == 0.0:
        closed = 0.0
    return DiscreteChannel(np.array([[1 - p, p], [p, 1 - p]]), probs, f"bsc(p={p:g})", dim, closed)


def qary_symmetric(q: int, eps: float, dim: int = 1) -> DiscreteChannel:
    """q-ary symmetric channel: keep the symbol with probability ``1 - eps``, else move to one of
    the other ``q - 1`` uniformly. Uniform input; ``rho_m = |1 - q eps / (q - 1)|``
    (theory.md section 4)."""
    q = check_int("q", q, low=2)
    eps = check_real("p", eps, low=0.0, high=1.0)
    w = np.full((q, q), eps / (q - 1))
    np.fill_diagonal(w, 1.0 - eps)
    w /= w.sum(axis=1, keepdims=True)
    closed = abs(1.0 - q * eps / (q - 1))
    return DiscreteChannel(w, np.full(q, 1.0 / q), f"qary(q={q}, p={eps:g})", dim, closed)


def discrete_channel(
    matrix: ArrayLike, input_probs: ArrayLike | None = None, dim: int = 1
) -> DiscreteChannel:
    """Arbitrary finite channel from a row-stochastic ``matrix`` (uniform input by default)."""
    w = check_channel_matrix(matrix)
    probs = np.full(w.shape[0], 1.0 / w.shape[0]) if input_probs is None else input_probs
    probs = check_pmf(probs, "input_probs", size=w.shape[0])
    return DiscreteChannel(w, probs, f"discrete({w.shape[0]}x{w.shape[1]})", dim, None)


def sparse_binary_flip(
    density: float = 0.05, flip: float = 0.001, dim: int = 1024
) -> DiscreteChannel:
    """The paper's sparse-binary channel (App. E.1, experiment 3).

    ``X0`` has iid Bernoulli(``density``) coordinates (the paper does not state its sparsity;
    0.05 is our documented default); each view independently flips each zero entry to one with
    probability ``flip`` (0.1%). One coordinate is a Z-channel ``[[1-f, f], [0, 1]]``; the vector
    ``rho_m`` equals the coordinate one by tensorisation.
    """
    density = check_real("density", density, low=0.0, high=1.0)
    flip = check_real("p", flip, low=0.0, high=1.0)
    w = np.array([[1.0 - flip, flip], [0.0, 1.0]])
    label = f"sparse-binary(density={density:g}, flip={flip:g})"
    return DiscreteChannel(w, np.array([1.0 - density, density]), label, dim, None)


# --------------------------------------------------------------------------- partial sums

SUMMANDS = ("bernoulli", "poisson", "exponential", "gaussian")


@dataclass(frozen=True)
class PartialSums:
    """Item ``X0 = S_n`` (sum of ``n`` iid terms); each view is a draw of ``S_m`` given ``S_n``.

    ``(X, X0)`` then has the law of ``(S_m, S_n)``, so ``rho_m(X, X0) = sqrt(m / n)`` for any
    finite-variance summand (Dembo, Kagan & Shepp 2001; theory.md section 4). The conditional laws
    are exact: hypergeometric (Bernoulli), binomial (Poisson), ``S_n * Beta(m, n - m)``
    (exponential) and Gaussian.
    """

    m: int
    n: int
    summand: str = "bernoulli"
    param: float = 0.3

    def __post_init__(self) -> None:
        check_int("m", self.m, low=1)
        check_int("n", self.n, low=1)
        if self.m > self.n:
            raise ValueError(f"m must satisfy 1 <= m <= n (= {self.n}), got m={self.m}")
        if self.summand not in SUMMANDS:
            raise ValueError(f"summand must be one of {SUMMANDS}, got {self.summand!r}")
        if self.summand == "bernoulli":
            check_real("param", self.param, low=0.0, high=1.0, low_open=True, high_open=True)
        elif self.summand == "poisson":
            check_real("param", self.param, low=0.0, low_open=True)

    @property
    def name(self) -> str:
        return f"partial-sums(m={self.m}, n={self.n}, {self.summand})"

    def closed_form(self) -> float:
        return math.sqrt(self.m / self.n)

    def discrete(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Finite form for Bernoulli summands: ``S_n ~ Bin(n, p)``, ``S_m | S_n`` hypergeometric."""
        if self.summand != "bernoulli":
            return None
        s = np.arange(self.n + 1)
        p0 = stats.binom.pmf(s, self.n, self.param)
        p0 /= p0.sum()
        k = np.arange(self.m + 1)
        w = stats.hypergeom.pmf(k[None, :], self.n, s[:, None], self.m)
        w /= w.sum(axis=1, keepdims=True)
        return p0, w

    def _view(self, x0: np.ndarray, gen: np.random.Generator) -> np.ndarray:
        m, n = self.m, self.n
        if self.summand == "bernoulli":
            if m == n:
                return x0.copy()
            return gen.hypergeometric(x0.astype(np.int64), (n - x0).astype(np.int64), m)
        if self.summand == "poisson":
            return gen.binomial(x0.astype(np.int64), m / n).astype(float)
        if self.summand == "exponential":
            return x0 * (gen.beta(m, n - m, size=x0.shape) if m < n else 1.0)
        return m / n * x0 + math.sqrt(m * (n - m) / n) * gen.standard_normal(x0.shape)

    def sample(self, n_samples: int, *, rng: RNGLike = None) -> Sample:
        """Draw ``n_samples`` triples of shape (n_samples,)."""
        n_samples = check_int("n", n_samples, low=1)
        gen = normalize_rng(rng)
        if self.summand == "bernoulli":
            x0 = gen.binomial(self.n, self.param, size=n_samples)
        elif self.summand == "poisson":
            x0 = gen.poisson(self.n * self.param, size=n_samples)
        elif self.summand == "exponential":
            x0 = gen.gamma(self.n, size=n_samples)
        else:
            x0 = math.sqrt(self.n) * gen.standard_normal(n_samples)
        return x0, self._view(x0, gen), self._view(x0, gen)


# --------------------------------------------------------------------------- vMF pairs


@dataclass(frozen=True)
class VMFChannel:
    """``X0 ~ sigma`` on S^{d-1}; views ``X, Y ~ vMF(X0, kappa)`` independently (theory.md 4).

    The vMF kernel acts on degree-l spherical harmonics with eigenvalue
    ``I_{l+d/2-1}(kappa)/I_{d/2-1}(kappa)`` (Funk-Hecke), largest at ``l = 1``, so
    ``rho_m(X, X0) = A_d(kappa)``; with the identity encoder ``E[X.Y] = A_d(kappa)^2 = eta2`` and
    ``m = 0``: Prop. 1 (Eq. 6) holds with equality.
    """

    d: int
    kappa: float

    def __post_init__(self) -> None:
        check_int("d", self.d, low=2)
        check_real("kappa", self.kappa, low=0.0)

    @property
    def name(self) -> str:
        return f"vmf(d={self.d}, kappa={self.kappa:g})"

    def closed_form(self) -> float:
        return float(mean_resultant_length(self.d, self.kappa))

    def sample(self, n: int, *, rng: RNGLike = None) -> Sample:
        """Draw ``n`` triples of unit vectors, arrays of shape (n, d)."""
        n = check_int("n", n, low=1)
        gen = normalize_rng(rng)
        x0 = gen.standard_normal((n, self.d))
        x0 /= np.linalg.norm(x0, axis=1, keepdims=True)
        return x0, vmf_around(x0, self.kappa, rng=gen), vmf_around(x0, self.kappa, rng=gen)


# --------------------------------------------------------------------------- eta2 of a channel
