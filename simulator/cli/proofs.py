"""``infonce-sim proofs``: run the symbolic / high-precision / Monte Carlo proof checks."""

from __future__ import annotations

import argparse
from pathlib import Path

from simulator.cli.common import command_line
from simulator.cli.io import atomic_write_text, provenance, to_json
from simulator.report import markdown_table

DEFAULT_OUT = Path("reports")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "proofs",
        help="verify every closed form and inequality (SymPy, mpmath, Monte Carlo)",
        description="Run the proofs_check checks: each prints its id, the paper reference, the "
        "method (symbolic, high-precision, monte-carlo cross-check), pass/fail and the evidence. "
        "Writes OUT/proofs.md; exits 1 if any check fails.",
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
        "--out", type=Path, default=DEFAULT_OUT, help="folder for proofs.md (default reports/)"
    )
    p.set_defaults(handler=run_proofs)


def proofs_markdown(results: list, prov: dict) -> str:
    """The ``proofs.md`` page: a summary line, the table of checks and the statements."""
    n_pass = sum(r.passed for r in results)
    commit = (prov.get("commit") or "unknown")[:12]
    dirty = " (dirty tree)" if prov.get("dirty") else ""
    lines = [
        "# Proof checks (`infonce-sim proofs`)",
        "",
        f"{n_pass} of {len(results)} checks pass. Command `{prov.get('command')}`, commit "
        f"`{commit}`{dirty}, "
        f"infonce-sim {prov.get('version')}.",
        "",
        markdown_table(
            ["id", "reference", "method", "status", "seconds", "evidence"],
            [
                [
                    r.id,
                    r.reference,
                    r.method,
                    r.status if r.passed else "**FAIL**",
                    round(r.seconds, 2),
                    r.evidence,
                ]
                for r in results
            ],
        ),
        "",
        "## Statements",
        "",
    ]
    lines += [f"- `{r.id}` ({r.reference}): {r.statement}" for r in results]
    return "\n".join(lines) + "\n"


def run_proofs(args: argparse.Namespace) -> int:
    from proofs_check.core import get_check, load_all

    load_all()
    checks = [get_check(i) for i in args.only] if args.only else list(load_all().values())
    results = [c.run() for c in checks]
    prov = provenance(command=command_line())
    atomic_write_text(args.out / "proofs.md", proofs_markdown(results, prov))
    if args.json:
        keys = ("id", "reference", "method", "status", "evidence")
        print(to_json([{k: getattr(r, k) for k in keys} for r in results]))
    else:
        print(
            markdown_table(
                ["id", "reference", "method", "status", "evidence"],
                [[r.id, r.reference, r.method, r.status.upper(), r.evidence] for r in results],
            )
        )
        failed = [r.id for r in results if not r.passed]
        print(
            f"\n{len(results) - len(failed)}/{len(results)} checks pass"
            + (f"; FAILED: {', '.join(failed)}" if failed else "")
            + f" -> {args.out / 'proofs.md'}"
        )
    return 1 if any(not r.passed for r in results) else 0
