"""Studies: one function per paper claim, registered for ``infonce-sim run``.

Importing this package imports every study module so that the registry is complete.
"""

from simulator.studies import spherical_clt  # noqa: F401  (registers the study)
from simulator.studies.registry import STUDIES, RunContext, Study, get_study, register

__all__ = ["STUDIES", "RunContext", "Study", "get_study", "register"]
