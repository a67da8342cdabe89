"""Study ``proofs``: every proofs_check check as a verdict row (pass -> holds, fail -> violated).

The checks are deterministic (fixed seeds inside the Monte Carlo cross-checks), so the study
ignores ``ctx.seed``; ``ctx.scale`` does not change them either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from simulator.results import HOLDS, VIOLATED, StudyResult
from simulator.studies.registry import Cell, RunContext, register

NAME = "proofs"
#: See :meth:`Config.memory_bytes`.
PROOFS_MEMORY_BYTES = 256 * 2**20


@dataclass(frozen=True)
class Config:
    """Which checks run.

    Attributes
    ----------
    checks : tuple of str or None
        Ids of :func:`proofs_check.core.load_all` to run, in this order; None runs every check.
    """

    checks: tuple[str, ...] | None = None

    def memory_bytes(self) -> int:
        """Upper bound of one check's memory, measured rather than derived: every check has
        fixed sizes (the config only selects checks). The largest traced peak over all 34
        checks is 117 MiB (``hgr.laplace-edge``, the Laplace quadrature; then
        ``potentials.infonce-limit``, 96 MiB); doubled, and rounded up."""
        return PROOFS_MEMORY_BYTES


CONFIGS: dict[str, Config] = {"quick": Config(), "full": Config()}
#: Two fast checks (one symbolic, one high-precision), for tests.
TINY = Config(checks=("sphere.archimedes", "sphere.beta-laws"))


def _check_cell(cell: Cell) -> dict[str, Any]:
    from proofs_check.core import load_all

    return load_all()[cell.key[1]].run().to_dict()


@register(
    NAME,
    "Symbolic, high-precision and Monte Carlo verification of the paper's closed forms",
    (
        "classical closed forms used by the paper",
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
    configs=CONFIGS,
    tiny=TINY,
)
def run(ctx: RunContext) -> StudyResult:
    """Run the checks of ``ctx.config`` (default: every check)."""
    from proofs_check.core import load_all

    cfg = ctx.config or CONFIGS[ctx.scale]
    known = load_all()
    ids = list(known) if cfg.checks is None else list(cfg.checks)
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise ValueError(f"unknown check {unknown[0]!r}; known checks: {', '.join(sorted(known))}")
    result = StudyResult(NAME)
    rows = []
    for r in ctx.map(_check_cell, [("proofs", i) for i in ids], desc="proofs"):
        result.add_verdict(
            r["statement"],
            r["reference"],
            HOLDS if r["status"] == "pass" else VIOLATED,
            measured=r["status"],
            parameters={"id": r["id"], "method": r["method"]},
            note=r["evidence"],
        )
        rows.append(
            {
                "id": r["id"],
                "method": r["method"],
                "status": r["status"],
                "seconds": round(r["seconds"], 3),
            }
        )
    result.add_table(
        "timings", "Checks, methods and run times", ["id", "method", "status", "seconds"], rows
    )
    result.notes.append(
        "A check passes when its evidence meets the stated tolerance; Monte Carlo cross-checks use "
        "fixed seeds and |z| <= 4 (or a DKW bound at level 1e-3), so a false alarm has probability "
        "below about 1e-3 per check."
    )
    return result
