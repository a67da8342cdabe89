"""``infonce-sim bench``: timings of our hot paths beside straightforward baselines."""

from __future__ import annotations

import argparse

from simulator.backend import get_namespace
from simulator.cli.benches import BENCHES, BenchConfig
from simulator.cli.common import add_backend_options, bounded_int
from simulator.cli.io import provenance, to_json
from simulator.report import fmt, markdown_table


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
    p.set_defaults(handler=run_bench)


def run_bench(args: argparse.Namespace) -> int:
    names = args.names or sorted(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        raise ValueError(f"unknown benchmark {unknown[0]!r}; known: {', '.join(sorted(BENCHES))}")
    cfg = BenchConfig(get_namespace(args.backend), args.backend, args.repeats)
    rows = []
    for name in names:
        rows += BENCHES[name](cfg)
    if args.json:
        print(
            to_json(
                {
                    "provenance": provenance(backend=args.backend),
                    "rows": [r.to_dict() for r in rows],
                }
            )
        )
        return 0
    table = [
        [
            r.name,
            fmt(r.ours_s),
            fmt(r.baseline_s),
            r.baseline,
            fmt(r.ratio),
            r.target,
            "-" if r.met is None else ("met" if r.met else "NOT met"),
            r.note,
        ]
        for r in rows
    ]
    print(
        markdown_table(
            [
                "benchmark",
                "ours [s]",
                "baseline [s]",
                "baseline",
                "ratio",
                "target",
                "this run",
                "note",
            ],
            table,
        )
    )
    return 0
