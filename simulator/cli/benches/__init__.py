"""Benchmarks for ``infonce-sim bench``: our time beside a straightforward baseline, as ratios
measured in the same run. No benchmark asserts anything; each row states its target and whether
this run met it.

Each module registers functions ``bench(cfg) -> list[BenchRow]`` under a name with
:func:`register`.
"""

# Each benchmark module registers itself on import.
from simulator.cli.benches import audit, clt, executors, hgr, proofs, route2, train  # noqa: F401
from simulator.cli.benches.harness import (
    BACKEND_BENCHES,
    BENCHES,
    BenchConfig,
    BenchRow,
    best_time,
    register,
)

__all__ = ["BACKEND_BENCHES", "BENCHES", "BenchConfig", "BenchRow", "best_time", "register"]
