"""infonce-sim: a theory-verification simulator for "InfoNCE Induces Gaussian Distribution"
(Betser, Gofer, Levi, Gilboa; ICLR 2026, arXiv:2602.24012).

The library never imports CuPy at import time; see :mod:`simulator.backend`.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("infonce-sim")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
