"""``infonce-sim bench``: timings of our hot paths beside straightforward baselines."""

from __future__ import annotations

import argparse

from simulator.backend import get_namespace
from simulator.cli.benches import BACKEND_BENCHES, BENCHES, BenchConfig
from simulator.cli.common import (
    add_backend_options,
    add_out_option,
    begin_command,
    bounded_int,
    check_backend_options,
    verb_result,
)
from simulator.cli.io import result_files, to_json, write_files
from simulator.report import markdown_table, table_cells
from simulator.results import StudyResult

COLUMNS = [
    "benchmark",
    "computed on",
    "ours [s]",
    "baseline [s]",
    "baseline",
    "ratio",
    "target",
    "this run",
    "note",
]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "bench",
        help="time hot paths against straightforward baselines (ratios from one run)",
        description="Benchmarks: " + ", ".join(sorted(BENCHES)) + ". Each row gives our time, the "
        "baseline's time, their ratio, the target and whether this run met it.",
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run (default: all)")
    add_backend_options(p)
    p.add_argument(
        "--repeats",
        type=bounded_int("--repeats", 1),
        default=3,
        help="timing repeats; the best is kept (default 3)",
    )
    p.add_argument("--json", action="store_true", help="print the rows as JSON with provenance")
    add_out_option(p, "bench.json and bench.md")
    p.set_defaults(handler=run_bench)


def run_bench(args: argparse.Namespace) -> int:
    names = args.names or sorted(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        raise ValueError(f"unknown benchmark {unknown[0]!r}; known: {', '.join(sorted(BENCHES))}")
    check_backend_options(args.backend, args.rng_mode)
    source = begin_command(args.out)
    cfg = BenchConfig(get_namespace(args.backend), args.backend, args.repeats, args.rng_mode)
    rows = []
    where = []
    for name in names:
        got = BENCHES[name](cfg)
        rows += got
        # A CPU-only bench is labelled numpy whatever --backend asked for.
        label = BACKEND_BENCHES.get(name, lambda c: "numpy")(cfg)
        where += [label] * len(got)
    page = StudyResult("bench", "Benchmarks: our hot paths beside straightforward baselines", [])
    page.add_table(
        "timings",
        "Timings (best of the repeats) and this run's ratios against the targets",
        COLUMNS,
        [
            dict(
                zip(
                    COLUMNS,
                    [
                        r.name,
                        label,
                        r.ours_s,
                        r.baseline_s,
                        r.baseline,
                        r.ratio,
                        r.target,
                        "-" if r.met is None else ("met" if r.met else "NOT met"),
                        r.note,
                    ],
                    strict=True,
                )
            )
            for r, label in zip(rows, where, strict=True)
        ],
    )
    result = verb_result(
        page,
        [{**r.to_dict(), "computed_on": label} for r, label in zip(rows, where, strict=True)],
        args.argv,
        source,
        backend=args.backend,
        rng_mode=args.rng_mode,
        benchmarks=names,
        repeats=args.repeats,
    )
    if args.out is not None:
        write_files(args.out, result_files(result))
    if args.json:
        print(to_json({"provenance": result["provenance"], "rows": result["data"]}))
        return 0
    table = result["tables"]["timings"]
    print(markdown_table(table["columns"], table_cells(table)))
    return 0
