"""Studies: one function per paper claim, registered for ``infonce-sim run``.

Importing this package imports every study module so that the registry is complete.
"""

# Each study module registers itself on import.
from simulator.studies import (  # noqa: F401
    alignment_bound,
    appendix_d,
    infonce_limit,
    proofs,
    route2,
    route2_training,
    spherical_clt,
    table1_real,
    table1_synthetic,
    test_calibration,
    violations,
)
from simulator.studies.registry import STUDIES, RunContext, Study, get_study, register

__all__ = ["STUDIES", "RunContext", "Study", "get_study", "register"]
