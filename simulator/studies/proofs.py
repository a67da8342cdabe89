"""Study ``proofs``: every proofs_check check as a verdict row (pass -> holds, fail -> violated).

The checks are deterministic (fixed seeds inside the Monte Carlo cross-checks), so the study
ignores ``ctx.seed``; ``ctx.scale`` does not change them either.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.results import HOLDS, VIOLATED, StudyResult
from simulator.studies.registry import RunContext, register


@dataclass(frozen=True)
class ProofsConfig:
    """``checks``: the check ids to run, in order (None: every registered check)."""

    checks: tuple[str, ...] | None = None


CONFIGS = {"quick": ProofsConfig(), "full": ProofsConfig()}


@register(
    "proofs",
    "Symbolic, high-precision and Monte Carlo verification of the paper's closed forms",
    (
        "theory.md s.4 closed forms",
        "Lemma 3 (Eq. 48)",
        "Theorem 2 (Eq. 49)",
        "Prop. 1 (Eq. 6)",
        "Lemma 1 (Eqs. 41-46)",
        "Eq. 4",
        "Eq. 13",
        "Prop. 3 (Eq. 40)",
        "Corollary 2",
        "Theorem 1 (Eq. 19)",
        "Prop. 2 (Eq. 10)",
    ),
)
def run(ctx: RunContext) -> StudyResult:
    from proofs_check.core import get_check, load_all

    cfg = ctx.config or CONFIGS[ctx.scale]
    checks = [get_check(i) for i in cfg.checks] if cfg.checks else list(load_all().values())
    result = StudyResult(
        "proofs",
        "Proof checks: closed forms and inequalities",
        sorted({c.reference for c in checks}),
    )
    rows = []
    for c in ctx.progress(checks, total=len(checks), desc="proofs"):
        r = ctx.cell(("proofs", c.id), lambda _cell, c=c: c.run().to_dict())
        result.add_verdict(
            r["statement"],
            r["reference"],
            HOLDS if r["status"] == "pass" else VIOLATED,
            measured=r["status"],
            parameters={"id": r["id"], "method": r["method"]},
            note=r["evidence"],
        )
        rows.append([r["id"], r["method"], r["status"], round(r["seconds"], 3)])
    result.add_table(
        "timings", "Checks, methods and run times", ["id", "method", "status", "seconds"], rows
    )
    result.notes.append(
        "A check passes when its evidence meets the stated tolerance; Monte Carlo cross-checks use "
        "fixed seeds and |z| <= 4 (or a DKW bound at level 1e-3), so a false alarm has probability "
        "below about 1e-3 per check."
    )
    return result
