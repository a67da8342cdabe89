"""Study ``spherical-clt``: Lemma 3, Theorem 2 and Prop. 2 at finite d (work in progress)."""

from __future__ import annotations

from simulator.results import StudyResult
from simulator.studies.registry import RunContext, register


@register(
    "spherical-clt",
    "Spherical CLT at finite d: exact distances, Diaconis-Freedman bound, thin shell",
    ("Lemma 3 (Eq. 48)", "Theorem 2 (Eq. 49)", "Prop. 2 (Eq. 10)"),
)
def run(ctx: RunContext) -> StudyResult:
    return StudyResult("spherical-clt", "Spherical CLT", ["Lemma 3"])
