"""``infonce-sim run``, ``list`` and ``report``: run registered studies and render their files."""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from simulator.backend import get_namespace
from simulator.cli.checkpoints import FileCheckpointStore
from simulator.cli.common import (
    add_backend_options,
    add_memory_option,
    add_quiet_option,
    check_backend_options,
    check_memory_limit,
    command_line,
    out_path,
    positive_int,
    progress_factory,
    seed_type,
    warning_count,
    warning_lines,
)
from simulator.cli.io import (
    atomic_write_text,
    check_out_folder,
    remove_if_empty,
    result_files,
    write_files,
)
from simulator.cli.provenance import provenance, source_state
from simulator.report import index_markdown, study_files, verdict_counts
from simulator.studies import STUDIES, RunContext, Study, get_study
from simulator.studies.executors import EXECUTORS, CellFailedError, Executor, make_executor
from simulator.studies.registry import SCALES, MemoryStore
from simulator.validation import format_bytes

#: Default output folder of ``run``: ignored by git, so a quick run never touches the committed
#: full-scale report in ``reports/`` (written only when named with ``--out reports``).
DEFAULT_OUT = Path("results")
DEFAULT_SEED = 20260
#: Resident memory of one process of a run before its first cell: Python with every study,
#: SymPy (the proofs study) and Dask's distributed imported. Measured once (Python 3.11,
#: NumPy 2.4, SciPy 1.17, Linux x86-64): 165 MiB for a Dask worker, 136 MiB for a pool
#: process, 157 MiB for the calling process; rounded up.
PROCESS_BASE_BYTES = 192 * 2**20


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "run",
        help="run registered studies and write reports (default: all, quick scale)",
        description="Run studies and write one file set per study (JSON with provenance, Markdown, "
        "CSV, LaTeX, PNG) plus index.md. An interrupted run resumes from the cells it saved. "
        "Before any work, the run's peak memory is estimated as the imports of (1 + workers) "
        "processes plus one largest cell of the studies to run per worker (serial: the calling "
        "process and one cell; with --scheduler the workers are elsewhere and not counted), and "
        "a run above --max-memory is refused.",
    )
    p.add_argument("studies", nargs="*", metavar="STUDY", help="studies to run (default: all)")
    p.add_argument("--scale", choices=SCALES, default="quick", help="grid and sample sizes")
    add_backend_options(p)
    p.add_argument(
        "--seed", type=seed_type, default=DEFAULT_SEED, help=f"root seed (default {DEFAULT_SEED})"
    )
    p.add_argument(
        "--out", type=out_path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT}/)"
    )
    p.add_argument("--fresh", action="store_true", help="ignore saved cells of an interrupted run")
    p.add_argument(
        "--executor",
        choices=EXECUTORS,
        default="serial",
        help="where cells run: this process, a local process pool, or a Dask cluster (a new "
        "LocalCluster, or the one at --scheduler); results do not depend on it (default: serial)",
    )
    p.add_argument(
        "--workers",
        type=positive_int("--workers"),
        default=None,
        help="processes or LocalCluster workers (default: number of CPUs)",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="address of a running Dask scheduler, e.g. tcp://HOST:8786 (with --executor dask)",
    )
    add_memory_option(p)
    add_quiet_option(p)
    p.set_defaults(handler=run_studies)

    p = subparsers.add_parser("list", help="list studies and the paper claims they test")
    p.set_defaults(handler=list_studies)

    p = subparsers.add_parser("report", help="re-render reports from saved JSON, no recomputation")
    p.add_argument(
        "--out", type=out_path, default=DEFAULT_OUT, help="folder holding the study JSON"
    )
    p.set_defaults(handler=rerender)


def _checkpoint_path(out: Path, study: str, args: argparse.Namespace, backend: str) -> Path:
    return out / ".partial" / f"{study}-{args.scale}-{args.seed}-{backend}-{args.rng_mode}.jsonl"


def effective_backend(study: Study, backend: str, rng_mode: str) -> tuple[str, str]:
    """The backend and RNG mode a study really computes with: a study whose cells use only
    NumPy runs on NumPy with host draws whatever was asked for."""
    if backend in study.backends:
        return backend, rng_mode
    return "numpy", "host"


def run_study(
    study: Study,
    args: argparse.Namespace,
    source: dict[str, Any],
    *,
    store: MemoryStore | None = None,
    config: Any = None,
    executor: Executor | None = None,
) -> dict[str, Any]:
    """Run one study and return its result JSON with provenance.

    ``source`` is the commit and dirty flag read once at the start of the command. The recorded
    ``compute_time_s`` is this run's wall time plus the compute time the resumed cells took
    when they were computed (not the time of reading them back).
    """
    backend, rng_mode = effective_backend(study, args.backend, args.rng_mode)
    store = MemoryStore() if store is None else store
    resumed = len(store)
    resumed_s = store.compute_seconds()
    ctx = RunContext(
        study=study.name,
        scale=args.scale,
        seed=args.seed,
        backend=backend,
        rng_mode=rng_mode,
        progress=progress_factory(getattr(args, "quiet", True)),
        store=store,
        config=config,
        **({} if executor is None else {"executor": executor}),
    )
    start = time.perf_counter()
    caught_before = warning_count()
    result = study.run(ctx).to_dict()
    wall = time.perf_counter() - start
    result["notes"] = result.get("notes", []) + [
        f"warning caught during the computation: {line}" for line in warning_lines(caught_before)
    ]
    result["provenance"] = provenance(
        source,
        command=command_line(args.argv),
        study=study.name,
        seed=args.seed,
        scale=args.scale,
        backend=backend,
        rng_mode=rng_mode,
        backend_requested=args.backend,
        executor=ctx.executor.name,
        workers=ctx.executor.workers,
        wall_time_s=round(wall, 3),
        resumed_cells=resumed,
        resumed_compute_s=round(resumed_s, 3),
        compute_time_s=round(wall + resumed_s, 3),
    )
    return result


def run_memory_bytes(studies: list[Study], scale: str, executor: Executor) -> tuple[int, str]:
    """Estimated peak memory of running ``studies`` at ``scale`` on ``executor`` on this
    machine, and a one-line account of it.

    Every process of the run (the calling process and each local worker) holds
    :data:`PROCESS_BASE_BYTES`, and as many cells run at once as there are workers (one when
    serial), each at worst the largest cell of the studies (:meth:`Study.memory_bytes`). The
    calling process computes a cell only while no sweep is out on the workers, so its cells do
    not add to theirs. Workers of a remote scheduler are not on this machine.
    """
    cell, largest = max((s.memory_bytes(scale), s.name) for s in studies)
    remote = getattr(executor, "scheduler", None) is not None
    workers = 0 if executor.name == "serial" or remote else executor.workers
    cells = max(1, workers)
    total = (1 + workers) * PROCESS_BASE_BYTES + cells * cell
    where = "this process"
    if workers:
        where += f" and {workers} workers ({executor.name})"
    account = (
        f"run --scale {scale} ({where}: {format_bytes(PROCESS_BASE_BYTES)} of imports each, "
        f"and {cells} cell{'s' if cells > 1 else ''} at once of up to {format_bytes(cell)}, "
        f"the largest of {largest})"
    )
    return total, account


def run_studies(args: argparse.Namespace) -> int:
    # A study named twice runs once, in the order of its first mention.
    names = list(dict.fromkeys(args.studies)) or sorted(STUDIES)
    studies = [get_study(n) for n in names]
    check_backend_options(args.backend, args.rng_mode)
    executor = make_executor(args.executor, args.workers, args.scheduler)
    # Before any work: no worker started, no folder created.
    check_memory_limit(
        *run_memory_bytes(studies, args.scale, executor),
        args.max_memory,
        remedy="use fewer --workers or a smaller --scale",
    )
    get_namespace(args.backend)  # refuse an unavailable backend before any study starts
    check_out_folder(args.out)
    source = source_state(exclude=(args.out,))  # once, before anything is written
    # Started (or connected) before any study, so a bad executor setting costs nothing.
    with executor:
        return _run_studies(args, studies, executor, source)


def _run_studies(
    args: argparse.Namespace, studies: list[Study], executor: Executor, source: dict[str, Any]
) -> int:
    for study in studies:
        backend, _ = effective_backend(study, args.backend, args.rng_mode)
        path = _checkpoint_path(args.out, study.name, args, backend)
        if args.fresh:
            path.unlink(missing_ok=True)
        store = FileCheckpointStore(path)
        if len(store):
            print(f"[{study.name}] resuming: {len(store)} saved cells", file=sys.stderr)
        if not args.quiet:
            print(f"[{study.name}] {study.title} ({args.scale})", file=sys.stderr)
            if backend != args.backend:
                print(
                    f"[{study.name}] computes with numpy only; backend recorded as numpy",
                    file=sys.stderr,
                )
        try:
            result = run_study(study, args, source, store=store, executor=executor)
        except CellFailedError as exc:
            if exc.__cause__ is not None:
                traceback.print_exception(exc.__cause__, file=sys.stderr)
            print(f"infonce-sim run: error: {exc}", file=sys.stderr)
            return 1
        write_files(args.out, result_files(result))
        store.discard()
        remove_if_empty(path.parent)
        print(
            f"[{study.name}] {verdict_counts(result['rows'])} in "
            f"{result['provenance']['wall_time_s']:.1f} s -> {args.out / (study.name + '.md')}"
        )
    atomic_write_text(args.out / "index.md", index_markdown(load_results(args.out)))
    return 0


def load_results(out: Path) -> list[dict[str, Any]]:
    """Every study result JSON saved in ``out`` (files that are not study results are skipped)."""
    results = []
    for path in sorted(out.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"cannot read {path}: {exc}") from exc
        if isinstance(data, dict) and {"study", "rows", "tables", "figures"} <= data.keys():
            results.append(data)
    return results


def rerender(args: argparse.Namespace) -> int:
    if not args.out.is_dir():
        raise ValueError(f"--out {args.out} is not a folder; run 'infonce-sim run' first")
    results = load_results(args.out)
    if not results:
        raise ValueError(f"no study results (*.json) in {args.out}; run 'infonce-sim run' first")
    for result in results:
        write_files(args.out, study_files(result))
    atomic_write_text(args.out / "index.md", index_markdown(results))
    print(f"re-rendered {len(results)} studies in {args.out}")
    return 0


def list_studies(args: argparse.Namespace) -> int:
    for name in sorted(STUDIES):
        study = STUDIES[name]
        print(f"{name}: {study.title}")
        for claim in study.claims:
            print(f"    - {claim}")
    return 0
