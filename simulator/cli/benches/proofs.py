"""Benchmark of the proof checks (``infonce-sim bench proofs``): the slowest checks and the total.

Targets (issue 5): each check under 10 s and the whole suite under 2 minutes on 2 cores.
"""

from __future__ import annotations

from simulator.cli.benches.harness import BenchConfig, BenchRow, register

_SHOW = 8


@register("proofs")
def bench_proofs(cfg: BenchConfig) -> list[BenchRow]:
    from proofs_check.core import load_all

    # One run per check: SymPy caches make repeats unrepresentatively fast.
    results = [c.run() for c in load_all().values()]
    total = sum(r.seconds for r in results)
    rows = [
        BenchRow(
            f"proofs: {r.id}",
            r.seconds,
            None,
            "-",
            None,
            "< 10 s",
            r.seconds < 10.0,
            f"status {r.status}",
        )
        for r in sorted(results, key=lambda r: -r.seconds)[:_SHOW]
    ]
    rows.append(
        BenchRow(
            f"proofs: all {len(results)} checks",
            total,
            None,
            "-",
            None,
            "< 120 s",
            total < 120.0,
            f"{sum(r.passed for r in results)} pass",
        )
    )
    return rows
