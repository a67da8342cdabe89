"""Empirical InfoNCE (Eq. 2) and the uniformity potential at the uniform law (Eq. 4).

Only the forward loss lives here; population quantities of vMF laws are in
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
