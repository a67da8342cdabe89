"""Symbolic (SymPy) and high-precision (mpmath) verification of the paper's closed forms and
inequalities, plus Monte Carlo cross-checks of statements about distributions.

Every check has an id, the paper reference (``Prop. 1, Eq. 6``, ``[known] Diaconis-Freedman
1987``, ...), the statement, a method in :data:`METHODS` and returns a :class:`CheckResult` with
status ``pass``/``fail`` and the evidence. Topic modules:

========================  ==============================================================
:mod:`.sphere`            sphere marginals, Beta laws, the O(k) sampler, Archimedes, Lemma 3
:mod:`.rates`             Theorem 2 (Diaconis-Freedman), leading-order TV/KL/KS asymptotics
:mod:`.hgr`               HGR ground truths (Mehler, BSC, q-ary, DKS, Funk-Hecke), DPI
:mod:`.alignment`         Prop. 1 (Eq. 6): centring identity, Cauchy-Schwarz chain, exact sums
:mod:`.potentials`        projection MGF, Lemma 1, vMF, Phi(sigma), Wang-Isola, InfoNCE limit
:mod:`.route2`            Eq. 13, Prop. 3 (Eq. 40), Corollary 2, Theorem 1 (Eq. 19)
:mod:`.thin_shell`        CV of chi_d, Gaussian scale mixtures (Prop. 2)
========================  ==============================================================

mpmath precision is only ever raised locally with ``mpmath.workdps``.
"""

from proofs_check import (  # noqa: F401  (each module registers its checks)
    alignment,
    hgr,
    potentials,
    rates,
    route2,
    sphere,
    thin_shell,
)
from proofs_check.core import (
    CHECKS,
    FAIL,
    METHODS,
    PASS,
    Check,
    CheckResult,
    check,
    get_check,
    run_checks,
)

__all__ = [
    "CHECKS",
    "FAIL",
    "METHODS",
    "PASS",
    "Check",
    "CheckResult",
    "check",
    "get_check",
    "run_checks",
]
