"""The check registry and result type shared by every topic module of :mod:`proofs_check`.

A check is a function returning ``(passed, evidence)`` registered with :func:`check` under an id,
the paper reference it verifies, the statement, and its method. The claimed constant or formula a
check verifies is a keyword parameter whose default is the paper's (or the classical) value, so a
caller can feed a deliberately wrong statement and see the check fail (the mutation tests do).
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

METHODS = ("symbolic", "high-precision", "monte-carlo cross-check")
PASS = "pass"
FAIL = "fail"

Outcome = tuple[bool, str]


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one check.

    Attributes
    ----------
    id, reference, statement, method : str
        Copied from the :class:`Check`.
    status : {'pass', 'fail'}
    evidence : str
        What was computed: a simplified residual, a maximal error over a grid, an MC estimate with
        its CI. For a failure it says what failed (or the exception raised).
    seconds : float
        Wall time of the run.
    """

    id: str
    reference: str
    statement: str
    method: str
    status: str
    evidence: str
    seconds: float

    @property
    def passed(self) -> bool:
        return self.status == PASS

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Check:
    """A registered check: metadata plus ``func(**claim) -> (passed, evidence)``.

    ``slow`` marks checks that take more than a couple of seconds (the test suite runs them only
    on request); every check stays under 10 s on the reference 2-core machine.
    """

    id: str
    reference: str
    statement: str
    method: str
    func: Callable[..., Outcome]
    slow: bool = False

    def run(self, **claim: Any) -> CheckResult:
        """Run the check; keyword arguments replace the claimed constants (mutation testing).

        An exception inside the check is reported as a failure naming the exception, never
        swallowed into a pass.
        """
        start = time.perf_counter()
        try:
            passed, evidence = self.func(**claim)
        except Exception as exc:  # a crashing check must show up as a failed check
            passed, evidence = False, f"error: {type(exc).__name__}: {exc}"
        return CheckResult(
            self.id,
            self.reference,
            self.statement,
            self.method,
            PASS if passed else FAIL,
            evidence,
            time.perf_counter() - start,
        )


CHECKS: dict[str, Check] = {}

#: Topic modules, in the order their checks are listed.
TOPIC_MODULES = (
    "proofs_check.sphere",
    "proofs_check.rates",
    "proofs_check.hgr",
    "proofs_check.alignment",
    "proofs_check.potentials",
    "proofs_check.route2",
    "proofs_check.thin_shell",
)


def load_all() -> dict[str, Check]:
    """Import every topic module (which registers its checks) and return the registry.

    Callers use this rather than relying on ``import proofs_check`` so that the registry is
    complete however the package was imported.
    """
    for name in TOPIC_MODULES:
        importlib.import_module(name)
    return CHECKS


def check(
    check_id: str, reference: str, statement: str, method: str, *, slow: bool = False
) -> Callable[[Callable[..., Outcome]], Callable[..., Outcome]]:
    """Decorator registering a check function under ``check_id``."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")

    def wrap(fn: Callable[..., Outcome]) -> Callable[..., Outcome]:
        if check_id in CHECKS:
            raise ValueError(f"check {check_id!r} registered twice")
        # The registered metadata doubles as the docstring, so help() shows the claim checked.
        fn.__doc__ = fn.__doc__ or f"Check ``{check_id}`` ({reference}): {statement}."
        CHECKS[check_id] = Check(check_id, reference, statement, method, fn, slow)
        return fn

    return wrap


def get_check(check_id: str) -> Check:
    """Look a check up by id; ValueError listing the known ids otherwise."""
    load_all()
    if check_id not in CHECKS:
        raise ValueError(f"unknown check {check_id!r}; known checks: {', '.join(sorted(CHECKS))}")
    return CHECKS[check_id]


def run_checks(ids: list[str] | None = None) -> list[CheckResult]:
    """Run the given checks (default: all, in registration order) and return their results."""
    load_all()
    selected = [get_check(i) for i in ids] if ids else list(CHECKS.values())
    return [c.run() for c in selected]


def fmt_num(x: Any, digits: int = 3) -> str:
    """Compact number for evidence strings."""
    return f"{float(x):.{digits}g}"
