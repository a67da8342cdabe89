"""Benchmarks for ``infonce-sim bench``: our time beside a straightforward baseline, as ratios
measured in the same run. No benchmark asserts anything; each row states its target and whether
this run met it.

Each module registers functions ``bench(cfg) -> list[BenchRow]`` under a name with
:func:`register`.
"""

from simulator.bench import audit  # noqa: F401
from simulator.bench import clt  # noqa: F401  (each module registers its benchmarks)
from simulator.bench import hgr  # noqa: F401
from simulator.bench import proofs  # noqa: F401
from simulator.bench.harness import BENCHES, BenchConfig, BenchRow, best_time, register

__all__ = ["BENCHES", "BenchConfig", "BenchRow", "best_time", "register"]
