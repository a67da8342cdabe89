"""Benchmark of ``infonce-sim audit`` (``infonce-sim bench audit``).

Target (issue 3): auditing a 100,000 x 1,024 float32 ``.npy`` (both variants, no whitening) takes
under 60 s on 2 cores with peak memory under 3x the file size. The audit runs in a child process
(the real CLI, including start-up, memory mapping, the Monte Carlo nulls and the extra evidence),
which reports its own peak resident set size (:func:`simulator.cli.benches.harness.run_child`). The
baseline is a column-by-column loop over ``scipy.stats.anderson`` and ``scipy.stats.normaltest``
on the same data; it is timed on a subset of columns and extrapolated linearly (the cost per
column is the same for every column), which the row's note states. A third row compares the
per-coordinate tests alone, at equal scope, with our vectorised functions on the same columns.
A fourth row is the wide case of issue 9 (item 7): a 20 x 200,000 float32 file, whose audit's
peak RSS above the imports must stay within 3x the file plus ``8 n^2`` bytes.
"""

from __future__ import annotations

import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from simulator.cli.benches.harness import BenchConfig, BenchRow, register, run_child

ROWS, COLS = 100_000, 1_024
#: The wide case of issue 9 (item 7): more columns than rows, which once asked for a (d, d)
#: scatter (298 GiB); the target is 3x the file plus the (n, n) Gram matrix, above the
#: interpreter's own footprint after the imports the audit needs.
WIDE_ROWS, WIDE_COLS = 20, 200_000
BASELINE_COLUMNS = 16
TIME_TARGET_S = 60.0
MEMORY_TARGET = 3.0
#: Child prologue: restrict the audit to 2 CPUs (the target's "2 cores") before NumPy/BLAS load,
#: so that the time is not measured on however many cores the host happens to have.
PIN_TWO_CORES = (
    "import os\n"
    "if hasattr(os, 'sched_setaffinity'):\n"
    "    os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:2])\n"
    "for _v in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'):\n"
    "    os.environ[_v] = '2'\n"
)


def _write_embeddings(path: Path, seed: int = 0, shape: tuple[int, int] = (ROWS, COLS)) -> None:
    """Gaussian float32 embeddings with a thin radial spread, written in row chunks."""
    rows, cols = shape
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=shape)
    rng = np.random.default_rng(seed)
    step = 8192
    for i in range(0, rows, step):
        m = min(step, rows - i)
        out[i : i + m] = rng.standard_normal((m, cols), dtype=np.float32)
    out.flush()
    del out


def _column_seconds(path: Path) -> tuple[float, float]:
    """Per-coordinate tests only, on the same ``BASELINE_COLUMNS`` columns of both variants:
    (SciPy column loop, our vectorised single-threaded block), each extrapolated to ``COLS``
    columns and including the row norms the normalised variant needs."""
    from scipy import stats

    from simulator.gaussianity.metrics import (
        anderson_normal,
        anderson_normal_sorted,
        dagostino_pearson_pvalue,
    )

    x = np.load(path, mmap_mode="r")
    start = time.perf_counter()
    norms = np.empty(ROWS)
    for i in range(0, ROWS, 8192):
        norms[i : i + 8192] = np.linalg.norm(np.asarray(x[i : i + 8192], dtype=np.float64), axis=1)
    norm_time = time.perf_counter() - start
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for j in range(BASELINE_COLUMNS):
            col = np.asarray(x[:, j], dtype=np.float64)
            for values in (col, col / norms):
                stats.anderson(values, "norm", method="interpolate")
                stats.normaltest(values)
    loop = time.perf_counter() - start
    start = time.perf_counter()
    raw = np.ascontiguousarray(np.asarray(x[:, :BASELINE_COLUMNS]).T)
    ordered = np.sort(raw, axis=-1).astype(np.float64)
    anderson_normal_sorted(ordered)
    dagostino_pearson_pvalue(ordered, axis=-1)
    scaled = raw / norms
    anderson_normal(scaled, axis=-1)
    dagostino_pearson_pvalue(scaled, axis=-1)
    ours = time.perf_counter() - start
    scale = COLS / BASELINE_COLUMNS
    return norm_time + loop * scale, norm_time + ours * scale


def _wide_memory_row() -> BenchRow:
    """Peak RSS of the audit of a wide file beside the file size, net of the interpreter."""
    with tempfile.TemporaryDirectory(prefix="infonce-sim-bench-") as tmp:
        path = Path(tmp) / "wide.npy"
        _write_embeddings(path, shape=(WIDE_ROWS, WIDE_COLS))
        size = path.stat().st_size
        imports = (
            "import scipy.stats, scipy.special\n"
            "import simulator.cli, simulator.cli.audit, simulator.gaussianity.audit\n"
        )
        floor = run_child(PIN_TWO_CORES + imports).peak_bytes
        code = PIN_TWO_CORES + (
            "from simulator.cli import main\n"
            f"if main(['audit', {str(path)!r}, '--json', '--seed', '0']) != 0:\n"
            "    raise SystemExit('audit failed')\n"
        )
        peak = run_child(code).peak_bytes
    allowed = MEMORY_TARGET * size + 8 * WIDE_ROWS**2
    return BenchRow(
        name=f"audit {WIDE_ROWS}x{WIDE_COLS} float32 .npy, both variants (memory, d > n)",
        ours_s=None,
        baseline_s=None,
        baseline="file size",
        ratio=(peak - floor) / size,
        target=f"peak RSS above the imports <= {MEMORY_TARGET:g} x file + 8 n^2 bytes",
        met=peak - floor <= allowed,
        note=f"peak RSS {peak / 2**20:.0f} MiB, of which {floor / 2**20:.0f} MiB after the "
        f"imports alone, for a {size / 2**20:.1f} MiB file (allowed above the imports: "
        f"{allowed / 2**20:.1f} MiB); ratio = (peak - imports) / file size",
    )


@register("audit")
def bench_audit(cfg: BenchConfig) -> list[BenchRow]:
    with tempfile.TemporaryDirectory(prefix="infonce-sim-bench-") as tmp:
        path = Path(tmp) / "embeddings.npy"
        _write_embeddings(path)
        size = path.stat().st_size
        # No sys.exit: the child must fall through to run_child's peak-memory epilogue.
        code = PIN_TWO_CORES + (
            "from simulator.cli import main\n"
            f"if main(['audit', {str(path)!r}, '--both', '--json', '--seed', '0']) != 0:\n"
            "    raise SystemExit('audit failed')\n"
        )
        child = run_child(code)
        baseline, ours_tests = _column_seconds(path)
    peak = float(child.peak_bytes)
    mem_ratio = peak / size
    rss_note = (
        f"peak RSS (VmHWM) of the audit child: {peak / 2**20:.0f} MiB for a "
        f"{size / 2**20:.0f} MiB file"
    )
    name = f"audit {ROWS}x{COLS} float32 .npy, both variants"
    return [
        BenchRow(
            name=name + " (time)",
            ours_s=child.wall_s,
            baseline_s=baseline,
            baseline=f"scipy.stats.anderson + normaltest per column ({BASELINE_COLUMNS} of "
            f"{COLS} columns timed per variant, extrapolated linearly)",
            ratio=baseline / child.wall_s,
            target=f"< {TIME_TARGET_S:g} s on 2 cores",
            met=child.wall_s < TIME_TARGET_S,
            note="one run (not best of --repeats): the whole CLI in a child process pinned to 2 "
            "CPUs (sched_setaffinity; 2 BLAS/OpenMP threads), including "
            "start-up, the Monte Carlo nulls and the uniformity/Mardia/cosine evidence, which the "
            "baseline does not compute; ratio = baseline / ours",
        ),
        BenchRow(
            name=name + " (memory)",
            ours_s=None,
            baseline_s=None,
            baseline="file size",
            ratio=mem_ratio,
            target=f"peak RSS < {MEMORY_TARGET:g} x file size",
            met=mem_ratio < MEMORY_TARGET,
            note=rss_note + "; ratio = peak RSS / file size (memory-mapped pages count in RSS)",
        ),
        BenchRow(
            name=f"AD + DP per coordinate only, {ROWS} rows, both variants",
            ours_s=ours_tests,
            baseline_s=baseline,
            baseline="scipy.stats.anderson + normaltest per column",
            ratio=baseline / ours_tests,
            target="report only",
            met=None,
            note=f"same scope for both: {BASELINE_COLUMNS} of {COLS} columns timed, extrapolated "
            "linearly, plus the row norms; ours single-threaded on one block; ratio = baseline / "
            "ours",
        ),
        _wide_memory_row(),
    ]
