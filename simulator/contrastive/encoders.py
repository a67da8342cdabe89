"""Encoders ``f: R^p -> R^d`` with analytic parameter gradients (the paper's App. E.1 linear
encoder and a one-hidden-layer MLP), written once against the array namespace ``xp``.

An encoder is a small frozen description (sizes, activation); its parameters live in a plain
``dict`` of arrays so that the optimiser (:mod:`simulator.contrastive.optim`) can update them
without knowing the architecture. ``forward(params, x)`` returns the embeddings and a cache;
``backward(params, cache, grad_z)`` returns ``dL/dparams`` for ``grad_z = dL/dz``.

Initialisation (the paper does not state it): PyTorch's default for ``nn.Linear``, every weight
and bias iid ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``, drawn on the host from the given generator
and copied to the namespace (the same initial weights on every backend).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from simulator.backend import RNGLike, array_namespace, normalize_rng
from simulator.validation import check_int

ENCODERS = ("linear", "mlp")
ACTIVATIONS = ("relu", "tanh")
Params = dict[str, Any]


def _uniform(gen: np.random.Generator, shape: tuple[int, ...], fan_in: int) -> np.ndarray:
    bound = 1.0 / math.sqrt(fan_in)
    return gen.uniform(-bound, bound, size=shape)


@dataclass(frozen=True)
class Encoder:
    """``linear``: ``z = x W^T + b``; ``mlp``: ``z = act(x W1^T + b1) W2^T + b2``.

    Attributes
    ----------
    kind : {'linear', 'mlp'}
    p, d : int
        Input and output dimensions (``d >= 2``: the sphere ``S^{d-1}`` of Sec. 2).
    hidden : int
        Width of the MLP's hidden layer (ignored by ``linear``).
    activation : {'relu', 'tanh'}
        The MLP's nonlinearity.

    Every layer carries a bias (PyTorch's default).
    """

    kind: str
    p: int
    d: int
    hidden: int = 512
    activation: str = "relu"

    def __post_init__(self) -> None:
        if self.kind not in ENCODERS:
            raise ValueError(f"encoder must be one of {ENCODERS}, got {self.kind!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {self.activation!r}")
        check_int("p", self.p, low=1)
        check_int("d", self.d, low=2)
        check_int("hidden", self.hidden, low=1)

    def init(self, *, rng: RNGLike = None, xp: ModuleType = np, dtype: str = "float64") -> Params:
        """Fresh parameters (PyTorch's default ``nn.Linear`` initialisation, see module doc)."""
        gen = normalize_rng(rng)
        host: Params = {}
        if self.kind == "linear":
            host["W"] = _uniform(gen, (self.d, self.p), self.p)
            host["b"] = _uniform(gen, (self.d,), self.p)
        else:
            host["W1"] = _uniform(gen, (self.hidden, self.p), self.p)
            host["b1"] = _uniform(gen, (self.hidden,), self.p)
            host["W2"] = _uniform(gen, (self.d, self.hidden), self.hidden)
            host["b2"] = _uniform(gen, (self.d,), self.hidden)
        dt = getattr(xp, dtype)
        return {k: xp.asarray(v, dtype=dt) for k, v in host.items()}

    def _check_input(self, x: Any) -> None:
        if x.ndim != 2 or x.shape[1] != self.p:
            raise ValueError(f"x must have shape (N, p={self.p}), got {tuple(x.shape)}")

    def forward(self, params: Params, x: Any) -> tuple[Any, tuple[Any, ...]]:
        """Embeddings ``z`` of shape (N, d) and the cache :meth:`backward` needs."""
        self._check_input(x)
        xp = array_namespace(x)
        if self.kind == "linear":
            z = x @ params["W"].T
            z = z + params["b"]
            return z, (x,)
        h = x @ params["W1"].T
        h = h + params["b1"]
        a = xp.maximum(h, xp.zeros_like(h)) if self.activation == "relu" else xp.tanh(h)
        z = a @ params["W2"].T
        z = z + params["b2"]
        return z, (x, h, a)

    def backward(self, params: Params, cache: tuple[Any, ...], grad_z: Any) -> Params:
        """``dL/dparams`` from ``grad_z = dL/dz`` (chain rule through each layer)."""
        xp = array_namespace(grad_z)
        if self.kind == "linear":
            (x,) = cache
            grads = {"W": grad_z.T @ x}
            grads["b"] = xp.sum(grad_z, axis=0)
            return grads
        x, h, a = cache
        grads = {"W2": grad_z.T @ a}
        grads["b2"] = xp.sum(grad_z, axis=0)
        grad_a = grad_z @ params["W2"]
        if self.activation == "relu":
            grad_h = xp.where(h > 0, grad_a, xp.zeros_like(grad_a))
        else:
            grad_h = grad_a * (1.0 - a * a)
        grads["W1"] = grad_h.T @ x
        grads["b1"] = xp.sum(grad_h, axis=0)
        return grads
