"""VICReg (Bardes, Ponce & LeCun 2022): a non-contrastive self-supervised loss without any
uniformity term, as the control of Table 1's contrastive-versus-supervised comparison.

For the two views' embeddings ``Z, Z'`` of shape ``(n, d)`` (Bardes et al., Eqs. 1-6):

* invariance ``s(Z, Z') = mean_{i,j} (z_ij - z'_ij)^2`` (the mean over the ``n d`` entries, as
  in the authors' implementation, so that the default weights below keep their meaning);
* variance ``v(Z) = (1/d) sum_j max(0, gamma - sqrt(Var(z_j) + eps))``, unbiased variance;
* covariance ``c(Z) = (1/d) sum_{j != k} C(Z)_jk^2``, ``C(Z)`` the unbiased covariance matrix;

``loss = lam s(Z, Z') + mu (v(Z) + v(Z')) + nu (c(Z) + c(Z'))`` with the paper's defaults
``lam = mu = 25``, ``nu = 1``, ``gamma = 1``, ``eps = 1e-4``. There is no expander network here:
the loss acts on the encoder output, the same representation the other trainings are judged on.

The gradient is analytic (derivation in :func:`vicreg_loss`) and written once against ``xp``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from simulator.backend import array_namespace
from simulator.validation import check_real


@dataclass(frozen=True)
class VICRegWeights:
    """Weights of the three VICReg terms and the variance hinge (Bardes et al. 2022 defaults)."""

    invariance: float = 25.0
    variance: float = 25.0
    covariance: float = 1.0
    gamma: float = 1.0
    eps: float = 1e-4

    def __post_init__(self) -> None:
        for name in ("invariance", "variance", "covariance"):
            check_real(name, getattr(self, name), low=0.0)
        check_real("gamma", self.gamma, low=0.0, low_open=True)
        check_real("eps", self.eps, low=0.0, low_open=True)


def _variance_covariance(z: Any, w: VICRegWeights, xp: Any) -> tuple[float, float, Any]:
    """``mu v(Z) + nu c(Z)`` split into its two values, and their joint gradient w.r.t. ``Z``.

    With ``Zc`` the centred rows and ``std_j = sqrt(Var z_j + eps)``:
    ``d v / d z_ij = -[std_j < gamma] zc_ij / (d (n - 1) std_j)`` and, as
    ``c = (1/d)(||C||_F^2 - sum_j C_jj^2)`` with ``C = Zc^T Zc / (n - 1)``,
    ``d c / d Z = 4 Zc (C - diag C) / (d (n - 1))``. Centring adds no term: both gradients are
    already column-centred, so the derivative through the column means vanishes.
    """
    n, d = z.shape
    zc = z - xp.mean(z, axis=0, keepdims=True)
    cov = (zc.T @ zc) / (n - 1)
    std = xp.sqrt(xp.sum(zc * zc, axis=0) / (n - 1) + w.eps)
    below = std < w.gamma
    zero = xp.zeros_like(std)
    v = float(xp.sum(xp.where(below, w.gamma - std, zero))) / d
    off = cov * (1.0 - xp.eye(d, dtype=z.dtype))
    c = float(xp.sum(off * off)) / d
    grad = -w.variance * xp.where(below, 1.0 / std, zero) * zc / (d * (n - 1))
    grad = grad + w.covariance * 4.0 * (zc @ off) / (d * (n - 1))
    return v, c, grad


def vicreg_loss(
    z: Any, z_prime: Any, weights: VICRegWeights | None = None
) -> tuple[float, Any, Any]:
    """VICReg loss of two views' embeddings and its gradients (module docstring).

    Parameters
    ----------
    z, z_prime : arrays of shape (n, d)
        Embeddings of the two views of the same ``n`` items, ``n >= 2``.
    weights : VICRegWeights, optional
        Defaults to Bardes et al.'s ``lam = mu = 25``, ``nu = 1``, ``gamma = 1``, ``eps = 1e-4``.

    Returns
    -------
    loss : float
    grad_z, grad_z_prime : arrays of shape (n, d)
        ``d loss / d z`` and ``d loss / d z_prime``; the invariance term contributes
        ``+- 2 lam (Z - Z') / (n d)``.
    """
    w = VICRegWeights() if weights is None else weights
    xp = array_namespace(z, z_prime)
    if z.ndim != 2 or z.shape != z_prime.shape:
        raise ValueError(
            f"z and z_prime must have the same shape (n, d), got {z.shape} and {z_prime.shape}"
        )
    n, d = z.shape
    if n < 2:
        raise ValueError(f"VICReg needs n >= 2 rows for its variances, got n = {n}")
    diff = z - z_prime
    s = float(xp.sum(diff * diff)) / (n * d)
    v1, c1, g1 = _variance_covariance(z, w, xp)
    v2, c2, g2 = _variance_covariance(z_prime, w, xp)
    loss = w.invariance * s + w.variance * (v1 + v2) + w.covariance * (c1 + c2)
    g_inv = (2.0 * w.invariance / (n * d)) * diff
    return loss, g_inv + g1, -g_inv + g2
