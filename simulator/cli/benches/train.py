"""Benchmark of one training step (``infonce-sim bench train``).

Target (issue 11): one InfoNCE training step of the linear encoder (batch 128, input 1024, output
256, float32: forward of both views, Eq. 2 with its analytic gradient through the normalisation
layer, backward, Adam) costs at most 2x the matrix products it must perform, timed alone in the
same run: ``[x; y] W^T`` (forward), ``u v^T`` (logits), ``G v`` and ``G^T u`` (gradient w.r.t. the
embeddings) and ``dZ^T [x; y]`` (gradient w.r.t. W). Beside it, a naive baseline: the loss and the
embedding gradient with a Python loop over the batch.
"""

from __future__ import annotations

import math

import numpy as np

from simulator.backend import to_host
from simulator.cli.benches.harness import (
    BenchConfig,
    BenchRow,
    best_time,
    host_draws_label,
    register,
)
from simulator.contrastive.encoders import Encoder
from simulator.contrastive.infonce import infonce_from_embeddings, normalise_rows, stack_rows
from simulator.contrastive.optim import Adam

BATCH, P, D, TAU = 128, 1024, 256, 0.1
#: Steps per timed call, so one timing is well above the clock's resolution.
STEPS = 10


def _naive_loss_grad(u: np.ndarray, v: np.ndarray, tau: float) -> tuple[float, np.ndarray]:
    """Eq. 2 and dL/du with a Python loop over anchors (the straightforward implementation)."""
    n = u.shape[0]
    loss = 0.0
    gu = np.zeros_like(u)
    for i in range(n):
        logits = np.array([float(u[i] @ v[j]) / tau for j in range(n)])
        top = logits.max()
        w = np.exp(logits - top)
        p = w / w.sum()
        loss += math.log(w.sum()) + top - logits[i]
        for j in range(n):
            gu[i] += (p[j] - (1.0 if j == i else 0.0)) * v[j] / (tau * n)
    return loss / n, gu


@register("train", label=host_draws_label)
def bench(cfg: BenchConfig) -> list[BenchRow]:
    """One training step against its matrix products and a Python-loop baseline."""
    xp = cfg.xp
    gen = np.random.default_rng(0)
    enc = Encoder("linear", P, D)
    params = enc.init(rng=gen, xp=xp, dtype="float32")
    x = xp.asarray(gen.standard_normal((BATCH, P)), dtype=xp.float32)
    y = xp.asarray(gen.standard_normal((BATCH, P)), dtype=xp.float32)
    opt = Adam()
    state = {"params": params}

    def step() -> None:
        for _ in range(STEPS):
            p = state["params"]
            z, cache = enc.forward(p, stack_rows(x, y))
            _, gx, gy = infonce_from_embeddings(z[:BATCH], z[BATCH:], TAU)
            grads = enc.backward(p, cache, stack_rows(gx, gy))
            state["params"] = opt.step(p, grads)

    xy = stack_rows(x, y)
    w = params["W"]
    z0, _ = enc.forward(params, xy)
    u, _ = normalise_rows(z0[:BATCH])
    v, _ = normalise_rows(z0[BATCH:])
    g = xp.asarray(gen.standard_normal((BATCH, BATCH)), dtype=xp.float32)
    dz = xp.asarray(gen.standard_normal((2 * BATCH, D)), dtype=xp.float32)

    def products() -> None:
        for _ in range(STEPS):
            xy @ w.T
            u @ v.T
            g @ v
            g.T @ u
            dz.T @ xy

    step()  # warm-up (allocator, BLAS threads, CuPy kernels)
    products()
    # Interleaved, best of each: on a shared machine the load drifts between two timing blocks,
    # and alternating puts both under the same conditions.
    t_step = t_prod = float("inf")
    for _ in range(cfg.repeats):
        t_step = min(t_step, best_time(step, repeats=1, xp=xp) / STEPS)
        t_prod = min(t_prod, best_time(products, repeats=1, xp=xp) / STEPS)
    u_h = to_host(u).astype(np.float64)
    v_h = to_host(v).astype(np.float64)
    t_naive = best_time(lambda: _naive_loss_grad(u_h, v_h, TAU), repeats=1)
    ratio = t_step / t_prod
    return [
        BenchRow(
            f"training step, linear {P}->{D}, batch {BATCH}, float32 ({cfg.backend})",
            t_step,
            t_prod,
            "its 5 matrix products alone (same run)",
            ratio,
            "step / products <= 2",
            ratio <= 2.0,
            "ratio is step time over product time (lower is better)",
        ),
        BenchRow(
            f"InfoNCE loss + gradient, batch {BATCH}, d {D}",
            t_step,
            t_naive,
            "Python loop over the batch (loss and dL/du only, float64 host)",
            t_naive / t_step,
            "-",
            None,
            "speed-up of a whole vectorised step over the naive loss/gradient alone",
        ),
    ]
