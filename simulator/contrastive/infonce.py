"""Empirical InfoNCE (Eq. 2), its analytic gradients, and the uniformity potential at the uniform
law (Eq. 4).

The losses (one direction, symmetric, and the alignment-only control) and their gradients with
respect to the embeddings, through the normalisation layer ``u = z / ||z||``, are written once
against the array namespace of the inputs (NumPy, CuPy, array-api-strict), with a max-shifted
log-sum-exp so that small temperatures do not overflow. Population quantities of vMF laws are in
:mod:`simulator.sphere.vmf`.
"""

from __future__ import annotations

from typing import Any

from simulator.backend import array_namespace
from simulator.validation import check_int, check_real


def empirical_infonce(u: Any, v: Any, tau: float) -> float:
    """Empirical InfoNCE loss ``L_N`` of a batch of positive pairs (Eq. 2).

    ``L_N = -(1/N) sum_i log( exp(<u_i,v_i>/tau) / sum_j exp(<u_i,v_j>/tau) )``: one direction
    (u to v), the denominator includes the positive. By Wang & Isola (2020, Thm 1) and Eq. 4,
    ``L_N - log N -> -alpha E_pi[u.v] + Phi(mu)`` as ``N -> inf`` with ``alpha = 1/tau``.

    Parameters
    ----------
    u, v : arrays of shape (N, d)
        Normalised embeddings of the two views; row ``i`` of each is a positive pair. NumPy,
        CuPy or any array-API namespace (both from the same one).
    tau : float
        Temperature, ``tau > 0``.

    Returns
    -------
    float
        ``L_N`` in nats, computed with a max-shifted log-sum-exp so that small ``tau`` does not
        overflow.
    """
    tau = check_real("tau", tau, low=0.0, low_open=True)
    xp = array_namespace(u, v)
    if u.ndim != 2 or v.ndim != 2 or u.shape != v.shape:
        raise ValueError(
            f"u and v must be (N, d) arrays of the same shape, got {u.shape}, {v.shape}"
        )
    check_int("N", u.shape[0], low=1)
    logits = (u @ v.T) / tau
    top = xp.max(logits, axis=1, keepdims=True)
    lse = xp.log(xp.sum(xp.exp(logits - top), axis=1)) + top[:, 0]
    positives = xp.sum(u * v, axis=1) / tau
    return float(xp.mean(lse - positives))


def uniformity_potential_at_uniform(d: int, alpha: float) -> float:
    """``Phi(sigma) = log Z_d(alpha) = log[Gamma(d/2) (2/alpha)^{d/2-1} I_{d/2-1}(alpha)]``.

    Eq. 4 at ``mu = sigma``: ``E_{v~sigma} exp(alpha u.v)`` does not depend on ``u`` and equals the
    projection MGF ``Z_d(alpha)`` (theory.md section 4).

    Parameters
    ----------
    d : int
        Dimension, ``d >= 2``.
    alpha : float
        Inverse temperature ``1/tau``, ``alpha >= 0``.
    """
    from simulator.sphere.vmf import log_normaliser

    d = check_int("d", d, low=2)
    alpha = check_real("alpha", alpha, low=0.0)
    return float(log_normaliser(d, alpha))


LOSSES = ("infonce", "symmetric", "alignment")


def normalise_rows(z: Any) -> tuple[Any, Any]:
    """``f_hat = f / ||f||`` row-wise (Sec. 2 normalisation layer) and the row norms.

    A zero row maps to the fixed point ``c0 = e_1`` of the sphere, as in the paper's setting
    (theory.md section 1); its gradient is zero there (see :func:`normalise_backward`).

    Returns
    -------
    u : array (N, d)
        Unit rows.
    norms : array (N, 1)
        ``||z_i||``.
    """
    xp = array_namespace(z)
    norms = xp.sqrt(xp.sum(z * z, axis=1, keepdims=True))
    zero = norms == 0
    safe = xp.where(zero, xp.ones_like(norms), norms)
    c0 = xp.eye(1, z.shape[1], dtype=z.dtype)
    return xp.where(zero, c0, z / safe), norms


def stack_rows(a: Any, b: Any) -> Any:
    """``[a; b]`` along rows: ``concat`` in the array API, ``concatenate`` in NumPy 1 / CuPy."""
    xp = array_namespace(a, b)
    join = getattr(xp, "concat", None) or xp.concatenate
    return join([a, b], axis=0)


def normalise_backward(u: Any, norms: Any, grad_u: Any) -> Any:
    """Gradient through ``u = z / ||z||``: ``dL/dz = (g - u (u.g)) / ||z||``.

    The Jacobian of the normalisation is ``(I - u u^T) / ||z||``; rows with ``z = 0`` sit at the
    constant ``c0`` and get a zero gradient.
    """
    xp = array_namespace(u, norms, grad_u)
    zero = norms == 0
    safe = xp.where(zero, xp.ones_like(norms), norms)
    radial = xp.sum(u * grad_u, axis=1, keepdims=True)
    return xp.where(zero, xp.zeros_like(grad_u), (grad_u - u * radial) / safe)


def _check_pairs(u: Any, v: Any, tau: float, min_rows: int) -> float:
    tau = check_real("tau", tau, low=0.0, low_open=True)
    if u.ndim != 2 or v.ndim != 2 or u.shape != v.shape:
        raise ValueError(
            f"u and v must be (N, d) arrays of the same shape, got {u.shape}, {v.shape}"
        )
    check_int("batch size N", u.shape[0], low=min_rows)
    return tau


def _row_softmax(logits: Any, xp: Any) -> tuple[Any, Any]:
    """Row-wise softmax and log-sum-exp with the maximum shifted out (no overflow at small tau)."""
    top = xp.max(logits, axis=1, keepdims=True)
    e = xp.exp(logits - top)
    s = xp.sum(e, axis=1, keepdims=True)
    return e / s, xp.log(s) + top


def infonce_loss_grad(
    u: Any, v: Any, tau: float, *, loss: str = "infonce"
) -> tuple[float, Any, Any]:
    """Loss of a batch of positive pairs and its analytic gradient with respect to ``u`` and ``v``.

    ``loss = 'infonce'`` is Eq. 2 (u to v, denominator with the positive):
    ``L = (1/N) sum_i [LSE_j S_ij - S_ii]``, ``S = u v^T / tau``, so with ``P`` the row softmax of
    ``S``, ``dL/dS = (P - I)/N``, ``dL/du = (dL/dS) v / tau`` and ``dL/dv = (dL/dS)^T u / tau``.
    ``'symmetric'`` averages the two directions (the v-to-u term is Eq. 2 on ``S^T``: column
    softmax ``Q``, ``dL/dS = (P + Q - 2I) / (2N)``). ``'alignment'`` is the non-contrastive
    control ``L = -(1/N) sum_i u_i.v_i`` (the alignment term of Eq. 4 alone, without ``alpha``).

    Parameters
    ----------
    u, v : arrays of shape (N, d)
        Unit-norm embeddings, row ``i`` of each a positive pair; same namespace.
    tau : float
        Temperature, ``tau > 0`` (ignored by ``'alignment'`` but still validated).
    loss : {'infonce', 'symmetric', 'alignment'}

    Returns
    -------
    (float, array, array)
        The loss in nats, ``dL/du`` and ``dL/dv`` (same dtype as the inputs).
    """
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    tau = _check_pairs(u, v, tau, 2 if loss != "alignment" else 1)
    xp = array_namespace(u, v)
    n = u.shape[0]
    if loss == "alignment":
        value = -xp.mean(xp.sum(u * v, axis=1))
        return float(value), -v / n, -u / n
    logits = (u @ v.T) / tau
    positives = xp.sum(u * v, axis=1) / tau
    eye = xp.eye(n, dtype=logits.dtype)
    p, lse = _row_softmax(logits, xp)
    if loss == "infonce":
        value = xp.mean(lse[:, 0] - positives)
        g = (p - eye) / n
    else:
        q, lse_t = _row_softmax(logits.T, xp)
        value = 0.5 * (xp.mean(lse[:, 0] - positives) + xp.mean(lse_t[:, 0] - positives))
        g = (p + q.T - 2.0 * eye) / (2 * n)
    return float(value), (g @ v) / tau, (g.T @ u) / tau


def infonce_from_embeddings(
    zx: Any, zy: Any, tau: float, *, loss: str = "infonce"
) -> tuple[float, Any, Any]:
    """Loss of unnormalised embeddings through the normalisation layer, with ``dL/dz``.

    ``u = zx/||zx||``, ``v = zy/||zy||`` (:func:`normalise_rows`), then
    :func:`infonce_loss_grad`, then :func:`normalise_backward` on both sides.

    Returns
    -------
    (float, array, array)
        The loss, ``dL/dzx`` and ``dL/dzy``.
    """
    u, nu = normalise_rows(zx)
    v, nv = normalise_rows(zy)
    value, gu, gv = infonce_loss_grad(u, v, tau, loss=loss)
    return value, normalise_backward(u, nu, gu), normalise_backward(v, nv, gv)
