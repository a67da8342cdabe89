"""Studies: one function per paper claim, registered for ``infonce-sim run``.

Importing this package imports every study module so that the registry is complete.
"""

from simulator.studies import spherical_clt  # noqa: F401  (registers the study)
from simulator.studies import alignment_bound  # noqa: F401
from simulator.studies import proofs  # noqa: F401
from simulator.studies import test_calibration  # noqa: F401
from simulator.studies.registry import STUDIES, RunContext, Study, get_study, register

__all__ = ["STUDIES", "RunContext", "Study", "get_study", "register"]
