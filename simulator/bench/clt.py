"""Benchmarks of the spherical-CLT engine (``infonce-sim bench clt``)."""

from simulator.bench.harness import BenchConfig, BenchRow, register


@register("clt")
def bench_clt(cfg: BenchConfig) -> list[BenchRow]:
    return []
