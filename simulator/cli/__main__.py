"""``python -m simulator.cli``: the same as the ``infonce-sim`` console script."""

import sys

from simulator.cli import main

sys.exit(main())
