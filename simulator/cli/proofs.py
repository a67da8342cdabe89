"""``infonce-sim proofs``: run the symbolic / high-precision / Monte Carlo proof checks.

The checks run through the ``proofs`` study, so ``proofs --out D`` and ``run proofs --out D``
write the same ``proofs.json`` and ``proofs.md``; nothing is written without ``--out``.
"""

from __future__ import annotations

import argparse
from typing import Any

from simulator.cli.common import begin_command, out_path
from simulator.cli.io import result_files, to_json, write_files
from simulator.cli.run import DEFAULT_SEED, run_study
from simulator.report import markdown_table
from simulator.studies import get_study
from simulator.studies.proofs import Config as ProofsConfig


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "proofs",
        help="verify every closed form and inequality (SymPy, mpmath, Monte Carlo)",
        description="Run the proofs_check checks: each prints its id, the paper reference, the "
        "method (symbolic, high-precision, monte-carlo cross-check), pass/fail and the evidence. "
        "With --out, writes the same files as 'run proofs --out'; exits 1 if any check fails.",
    )
    p.add_argument(
        "--only",
        nargs="+",
        metavar="ID",
        default=None,
        help="run only these check ids (default: all)",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print a JSON list of {id, reference, method, status, evidence}",
    )
    p.add_argument(
        "--out", type=out_path, default=None, help="folder for proofs.json, proofs.md, CSV, LaTeX"
    )
    p.set_defaults(handler=run_proofs)


def check_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One ``{id, reference, method, status, evidence}`` per check, from the study's rows."""
    return [
        {
            "id": r["parameters"]["id"],
            "reference": r["reference"],
            "method": r["parameters"]["method"],
            "status": r["measured"],
            "evidence": r["note"],
        }
        for r in result["rows"]
    ]


def run_proofs(args: argparse.Namespace) -> int:
    source = begin_command(args.out)
    # The settings `run proofs` uses by default, so both commands give the same result.
    settings = argparse.Namespace(
        argv=args.argv, scale="quick", seed=DEFAULT_SEED, backend="numpy", rng_mode="host"
    )
    config = ProofsConfig(tuple(args.only)) if args.only else None
    result = run_study(get_study("proofs"), settings, source, config=config)
    if args.out is not None:
        write_files(args.out, result_files(result))
    rows = check_rows(result)
    failed = [r["id"] for r in rows if r["status"] != "pass"]
    if args.json:
        print(to_json(rows))
    else:
        print(
            markdown_table(
                ["id", "reference", "method", "status", "evidence"],
                [
                    [r["id"], r["reference"], r["method"], r["status"].upper(), r["evidence"]]
                    for r in rows
                ],
            )
        )
        where = f" -> {args.out / 'proofs.md'}" if args.out is not None else ""
        print(
            f"\n{len(rows) - len(failed)}/{len(rows)} checks pass"
            + (f"; FAILED: {', '.join(failed)}" if failed else "")
            + where
        )
    return 1 if failed else 0
