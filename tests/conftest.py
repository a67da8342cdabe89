"""Shared test configuration: the opt-in ``slow`` marker, the ``gpu`` marker, the ``xp`` fixture
and the Monte Carlo assertion budget of ``harness.py``.

Slow tests run with ``INFONCE_SIM_SLOW=1`` or when ``-m`` selects them explicitly; GPU tests run
only when CuPy imports and sees a CUDA device.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest


@pytest.fixture(params=["numpy", "array_api_strict", pytest.param("cupy", marks=pytest.mark.gpu)])
def xp(request: pytest.FixtureRequest) -> ModuleType:
    """Array namespace of a backend-neutral test: NumPy, array-api-strict (which refuses the
    hidden NumPy conversions that would break on CuPy) and CuPy when a device is present."""
    return importlib.import_module(request.param)


def _cupy_usable() -> bool:
    from simulator.backend import cupy_available

    return cupy_available()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    run_slow = os.environ.get("INFONCE_SIM_SLOW") == "1" or "slow" in (config.option.markexpr or "")
    skip_slow = pytest.mark.skip(reason="slow test: set INFONCE_SIM_SLOW=1 or use -m slow")
    gpu_items = [item for item in items if "gpu" in item.keywords]
    skip_gpu = None
    if gpu_items and not _cupy_usable():
        skip_gpu = pytest.mark.skip(reason="gpu test: CuPy with a CUDA device is not available")
    for item in items:
        if "slow" in item.keywords and not run_slow:
            item.add_marker(skip_slow)
        if skip_gpu is not None and "gpu" in item.keywords:
            item.add_marker(skip_gpu)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail a session whose Monte Carlo assertions exceed the budget of ``harness.py``: the
    suite's family-wise error rate is computed for that many comparisons."""
    import harness

    made = harness.assertions_made()
    if made > harness.MC_ASSERTION_BUDGET:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                f"{made} Monte Carlo assertions exceed the budget of "
                f"{harness.MC_ASSERTION_BUDGET} in tests/harness.py (raise it and its level)",
                red=True,
            )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    import harness

    terminalreporter.write_line(
        f"Monte Carlo assertions: {harness.assertions_made()} of a budget of "
        f"{harness.MC_ASSERTION_BUDGET} (each at level {harness.LEVEL:.2g})"
    )
