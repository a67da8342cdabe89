"""Benchmarks of the spherical-CLT engine (``infonce-sim bench clt``).

Targets (issue: foundation and spherical-CLT engine):

- the exact k-marginal sampler's throughput at d = 2^20 is at least half its throughput at d = 8;
- estimating the Kolmogorov distance of ``sqrt(d) U_1`` to N(0, 1) is at least 50x faster than
  ``scipy.stats.uniform_direction`` + ``scipy.stats.kstest`` at d >= 1024, equal n;
- the full-vector sampler costs at most 1.5x drawing the same number of standard normals (the
  memory/RNG limit), and streaming n * d = 10^10 coordinates peaks under 2 GiB of memory;
- ``infonce-sim run spherical-clt --scale quick`` finishes in under 60 s.
"""

from __future__ import annotations

import math
import time

import numpy as np
from scipy import stats

from simulator.backend import to_host
from simulator.cli.benches.harness import (
    BenchConfig,
    BenchRow,
    backend_label,
    best_time,
    register,
    run_child,
)
from simulator.sphere.distances import ks_distance
from simulator.sphere.sampling import chunk_rows_for, exact_marginal_sample, iter_uniform_sphere

# The 10^10-coordinate stream runs in a child process so that its peak memory is its own.
_STREAM_SCRIPT = """
import sys
import numpy as np
from simulator.sphere.sampling import iter_uniform_sphere
n, d = int(sys.argv[1]), int(sys.argv[2])
acc = 0.0
for block in iter_uniform_sphere(n, d, rng=0, dtype="float32"):
    acc += float(np.dot(block[:, 0], block[:, 0]))
print(acc / n * d)
"""


def _marginal_throughput(cfg: BenchConfig) -> list[BenchRow]:
    n = 1_000_000

    def draw(d: int) -> None:
        exact_marginal_sample(n, d, 1, rng=0, xp=cfg.xp, rng_mode=cfg.rng_mode)

    t_small = best_time(lambda: draw(8), repeats=cfg.repeats, xp=cfg.xp)
    t_large = best_time(lambda: draw(2**20), repeats=cfg.repeats, xp=cfg.xp)
    ratio = t_small / t_large  # throughput at 2^20 relative to throughput at 8
    return [
        BenchRow(
            "exact k-marginal sampler, k=1, n=1e6: d=2^20 vs d=8",
            t_large,
            t_small,
            "same sampler at d=8",
            ratio,
            "throughput ratio >= 0.5",
            ratio >= 0.5,
            f"{n / t_large / 1e6:.1f} M samples/s at d=2^20",
        )
    ]


def _ks_vs_scipy(cfg: BenchConfig) -> list[BenchRow]:
    rows = []
    n = 10_000
    for d in (1024, 8192):

        def ours(d: int = d) -> float:
            y = (
                math.sqrt(d)
                * to_host(exact_marginal_sample(n, d, 1, rng=1, xp=cfg.xp, rng_mode=cfg.rng_mode))[
                    :, 0
                ]
            )
            return ks_distance(y).value

        def baseline(d: int = d) -> float:
            u = stats.uniform_direction(d).rvs(n, random_state=np.random.default_rng(1))
            return stats.kstest(math.sqrt(d) * u[:, 0], "norm").statistic

        t_ours = best_time(ours, repeats=cfg.repeats, xp=cfg.xp)
        t_base = best_time(baseline, repeats=1)
        ratio = t_base / t_ours
        rows.append(
            BenchRow(
                f"KS distance of sqrt(d) U_1 to N(0,1), n=1e4, d={d}",
                t_ours,
                t_base,
                "scipy uniform_direction + kstest",
                ratio,
                "speed-up >= 50",
                ratio >= 50,
            )
        )
    return rows


def _full_sampler(cfg: BenchConfig) -> list[BenchRow]:
    d = 2048
    n = 2**26 // d
    rows_per_chunk = chunk_rows_for(d)

    def ours() -> None:
        for _ in iter_uniform_sphere(n, d, rng=2, xp=cfg.xp, rng_mode=cfg.rng_mode):
            pass

    def normals() -> None:
        gen = np.random.default_rng(2)
        done = 0
        while done < n:
            m = min(rows_per_chunk, n - done)
            block = gen.standard_normal((m, d))
            if cfg.xp is not np:
                block = cfg.xp.asarray(block)
            done += m

    t_ours = best_time(ours, repeats=cfg.repeats, xp=cfg.xp)
    t_base = best_time(normals, repeats=cfg.repeats, xp=cfg.xp)
    ratio = t_ours / t_base
    return [
        BenchRow(
            f"full-vector sampler, n*d=2^26 (d={d}, float64)",
            t_ours,
            t_base,
            "drawing the same standard normals",
            ratio,
            "cost ratio <= 1.5",
            ratio <= 1.5,
            "ratio = ours / baseline",
        )
    ]


def _stream_memory(cfg: BenchConfig) -> list[BenchRow]:
    d = 10_000
    n = 10**10 // d
    child = run_child(_STREAM_SCRIPT, str(n), str(d))
    moment, peak_gib = float(child.stdout), child.peak_bytes / 2**30
    return [
        BenchRow(
            "stream n*d = 1e10 uniform coordinates (d=1e4, float32, numpy)",
            child.wall_s,
            None,
            "-",
            peak_gib,
            "peak memory < 2 GiB",
            peak_gib < 2.0,
            f"ratio column = peak RSS in GiB; d * mean(U_1^2) = {moment:.4f} (exact 1)",
        )
    ]


def _study_time(cfg: BenchConfig) -> list[BenchRow]:
    from simulator.studies import RunContext, get_study

    start = time.perf_counter()
    get_study("spherical-clt").run(
        RunContext(scale="quick", seed=20260, backend=cfg.backend, rng_mode=cfg.rng_mode)
    )
    wall = time.perf_counter() - start
    return [
        BenchRow(
            "infonce-sim run spherical-clt --scale quick (in-process)",
            wall,
            None,
            "-",
            None,
            "< 60 s on 2 CPU cores",
            wall < 60.0,
        )
    ]


@register("clt", label=backend_label)
def bench_clt(cfg: BenchConfig) -> list[BenchRow]:
    """All spherical-CLT benchmarks, in the order of the issue's performance list."""
    rows = _marginal_throughput(cfg) + _ks_vs_scipy(cfg) + _full_sampler(cfg)
    if cfg.backend == "numpy":
        rows += _stream_memory(cfg)
    return rows + _study_time(cfg)
