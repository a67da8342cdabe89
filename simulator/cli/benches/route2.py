"""Benchmark of the exact vMF uniformity potential (``infonce-sim bench route2``).

Issue 12 asks for the cost of one ``Phi(vMF)`` evaluation (Eq. 4) at d = 4096 against a Monte
Carlo estimate of the same accuracy. The quadrature's accuracy is its returned error bound; a Monte
Carlo estimator's standard error falls as ``n^{-1/2}``, so its cost at that accuracy is the
measured cost at ``n`` times ``(SE_n / error)^2``. Two baselines:

* outer Monte Carlo with the exact inner expectation (cosines ``w.u`` from Wood's sampler and
  ``log Z_d(|kappa w + alpha u|) - log Z_d(kappa)``): the cheapest unbiased estimator;
* nested Monte Carlo (``mean_i log mean_j exp(alpha u_i.v_j)`` over independent vMF samples in
  R^4096, the plain estimator without closed forms; bias O(1/n) ignored in its favour), its
  standard error from independent batches.

No target is stated, so ``met`` is empty; the ratio is the extrapolated Monte Carlo cost over ours.
"""

from __future__ import annotations

import math

import numpy as np

from simulator.cli.benches.harness import BenchConfig, BenchRow, best_time, register
from simulator.sphere.vmf import (
    _wood_cosines,
    log_normaliser,
    vmf_sample,
    vmf_uniformity_potential,
)

_D, _KAPPA, _ALPHA = 4096, 1000.0, 10.0


def _outer_mc(n: int, gen: np.random.Generator) -> tuple[float, float]:
    # Only the cosine w.u matters: Wood's cosine draw alone, O(n) instead of O(n d).
    t, _ = _wood_cosines(n, _D, _KAPPA, gen)
    r = np.sqrt(_KAPPA**2 + _ALPHA**2 + 2 * _KAPPA * _ALPHA * t)
    g = log_normaliser(_D, r) - log_normaliser(_D, _KAPPA)
    return float(g.mean()), float(g.std(ddof=1) / math.sqrt(n))


def _nested_mc(n: int, gen: np.random.Generator) -> float:
    w = np.zeros(_D)
    w[0] = 1.0
    u = vmf_sample(n, w, _KAPPA, rng=gen)
    v = vmf_sample(n, w, _KAPPA, rng=gen)
    logits = _ALPHA * (u @ v.T)
    top = logits.max(axis=1, keepdims=True)
    inner = np.log(np.exp(logits - top).mean(axis=1)) + top[:, 0]
    return float(inner.mean())


@register("route2")
def bench_route2(cfg: BenchConfig) -> list[BenchRow]:
    pot = vmf_uniformity_potential(_D, _KAPPA, _ALPHA)
    t_ours = best_time(
        lambda: vmf_uniformity_potential(_D, _KAPPA, _ALPHA), repeats=max(cfg.repeats, 3)
    )
    target_err = pot.error
    rows = []

    n_outer = 20_000
    est = {}
    t_outer = best_time(
        lambda: est.update(o=_outer_mc(n_outer, np.random.default_rng(1))), repeats=1
    )
    mean_o, se_o = est["o"]
    t_outer_eq = t_outer * (se_o / target_err) ** 2
    rows.append(
        BenchRow(
            f"Phi(vMF), d={_D}, kappa={_KAPPA:g}, alpha={_ALPHA:g}: quadrature vs outer MC "
            "(exact inner)",
            t_ours,
            t_outer_eq,
            f"outer MC at SE = {target_err:.1e} (extrapolated from n={n_outer})",
            t_outer_eq / t_ours,
            "-",
            None,
            f"Phi = {pot.value:.12g} +- {pot.error:.1e}; MC n={n_outer}: {mean_o:.6g} +- "
            f"{se_o:.1e} in {t_outer:.2g} s; at our wall time MC reaches SE "
            f"{se_o * math.sqrt(t_outer / t_ours):.1e}",
        )
    )

    n_nested, batches = 500, 4
    seeds = np.random.SeedSequence(2).spawn(batches)
    vals: list[float] = []
    t_nested = best_time(
        lambda: vals.extend(_nested_mc(n_nested, np.random.default_rng(s)) for s in seeds),
        repeats=1,
    )
    se_n = float(np.std(vals, ddof=1) / math.sqrt(batches))
    t_nested_eq = t_nested * (se_n / target_err) ** 2
    rows.append(
        BenchRow(
            f"Phi(vMF), d={_D}: quadrature vs nested MC (u, v sampled in R^{_D})",
            t_ours,
            t_nested_eq,
            f"nested MC at SE = {target_err:.1e} (extrapolated from {batches} x n={n_nested})",
            t_nested_eq / t_ours,
            "-",
            None,
            f"nested MC: {np.mean(vals):.6g} +- {se_n:.1e} in {t_nested:.2g} s (bias O(1/n) not "
            "counted)",
        )
    )
    return rows
