"""Benchmark of the cell executors (``infonce-sim bench executors``).

Targets (issue 10): on 2 cores a two-process pool runs a cell-dominated sweep at least 1.7x
faster than the serial executor; a two-worker Dask ``LocalCluster`` is within 15% of the process
pool; and the parent holds only finished cells' results, not the workers' arrays.

Each (study, executor) run is a fresh child interpreter pinned to 2 CPUs that runs the study with
that executor; its wall time includes starting the pool or cluster (what a user waits for), and
:func:`~simulator.cli.benches.harness.run_child` reads its peak resident memory (VmHWM of the
parent only: workers are other processes). Executors take turns within each repeat, so a change
of load on a shared machine hits all of them alike; the best of ``--repeats`` is kept. The child
also prints a digest of the study's JSON, so the bench checks that every executor gave the same
numbers.
"""

from __future__ import annotations

import json
from typing import Any

from simulator.cli.benches.audit import PIN_TWO_CORES
from simulator.cli.benches.harness import BenchConfig, BenchRow, register, run_child

#: Studies swept (name, scale): test-calibration is cell-dominated (48 independent cells);
#: spherical-clt mixes mapped cells with serial single cells and exact quadrature.
SWEEPS = (("test-calibration", "quick"), ("spherical-clt", "quick"))
WORKERS = 2
SEED = 20260
SPEEDUP_TARGET = 1.7
DASK_SLACK = 1.15

_CHILD = PIN_TWO_CORES + (
    "import hashlib, json, sys, time\n"
    "from simulator.studies import RunContext, get_study\n"
    "from simulator.studies.executors import make_executor\n"
    "study, scale, seed, executor, workers = sys.argv[1:6]\n"
    "start = time.perf_counter()\n"
    "with make_executor(executor, None if executor == 'serial' else int(workers)) as ex:\n"
    "    ctx = RunContext(scale=scale, seed=int(seed), executor=ex)\n"
    "    result = get_study(study).run(ctx).to_dict()\n"
    "wall = time.perf_counter() - start\n"
    "import resource\n"
    "cpu = sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF), "
    "resource.getrusage(resource.RUSAGE_CHILDREN)))\n"
    "digest = hashlib.sha256(json.dumps(result, sort_keys=True).encode()).hexdigest()\n"
    "print(json.dumps({'wall_s': wall, 'cpu_s': cpu, 'digest': digest}))\n"
)


def _measure(study: str, scale: str, executor: str) -> dict[str, Any]:
    """Wall time of the run inside the child, CPU time of the child and its (reaped) workers
    including start-up, the child's peak RSS in bytes and the digest of the study's JSON."""
    child = run_child(_CHILD, study, scale, str(SEED), executor, str(WORKERS))
    out = json.loads(child.stdout.strip().splitlines()[-1])
    return {**out, "peak_bytes": child.peak_bytes}


@register("executors")
def bench_executors(cfg: BenchConfig) -> list[BenchRow]:
    rows = []
    names = ("serial", "processes", "dask")
    for study, scale in SWEEPS:
        best = dict.fromkeys(names, float("inf"))
        cpu = dict.fromkeys(names, float("inf"))
        peak = dict.fromkeys(names, 0)
        digests: dict[str, set[str]] = {n: set() for n in names}
        for _ in range(cfg.repeats):
            for name in names:
                m = _measure(study, scale, name)
                best[name] = min(best[name], m["wall_s"])
                cpu[name] = min(cpu[name], m["cpu_s"])
                peak[name] = max(peak[name], m["peak_bytes"])
                digests[name].add(m["digest"])
        same = len(set().union(*digests.values())) == 1
        label = f"{study} ({scale})"
        identity = "identical results" if same else "RESULTS DIFFER between executors"
        speedup = best["serial"] / best["processes"]
        rows.append(
            BenchRow(
                name=f"{label}: processes({WORKERS}) vs serial",
                ours_s=best["processes"],
                baseline_s=best["serial"],
                baseline="serial executor",
                ratio=speedup,
                target=f">= {SPEEDUP_TARGET:g}x on 2 cores",
                met=speedup >= SPEEDUP_TARGET,
                note=f"best of {cfg.repeats}, child pinned to 2 CPUs, pool start-up included; "
                f"{identity}; CPU s (parent + workers) serial {cpu['serial']:.1f}, processes "
                f"{cpu['processes']:.1f}, dask {cpu['dask']:.1f}; ratio = serial / processes",
            )
        )
        dask_ratio = best["dask"] / best["processes"]
        rows.append(
            BenchRow(
                name=f"{label}: dask LocalCluster({WORKERS}) vs processes({WORKERS})",
                ours_s=best["dask"],
                baseline_s=best["processes"],
                baseline="process pool",
                ratio=dask_ratio,
                target=f"<= {DASK_SLACK:g} (within 15%)",
                met=dask_ratio <= DASK_SLACK,
                note="cluster start-up included; ratio = dask time / process-pool time",
            )
        )
        for name in ("processes", "dask"):
            mem_ratio = peak[name] / peak["serial"]
            rows.append(
                BenchRow(
                    name=f"{label}: parent peak memory, {name} vs serial",
                    ours_s=None,
                    baseline_s=None,
                    baseline="serial parent's peak RSS",
                    ratio=mem_ratio,
                    target="< 1 (parent holds results, not cell arrays)",
                    met=mem_ratio < 1.0,
                    note=f"peak RSS (VmHWM) of the parent: {name} {peak[name] / 2**20:.0f} MiB, "
                    f"serial {peak['serial'] / 2**20:.0f} MiB"
                    + (
                        "; the dask parent also hosts the LocalCluster scheduler"
                        if name == "dask"
                        else ""
                    )
                    + "; ratio = ours / serial",
                )
            )
    return rows
