"""Shared test configuration: the opt-in ``slow`` marker and the ``gpu`` marker.

Slow tests run with ``INFONCE_SIM_SLOW=1`` or when ``-m`` selects them explicitly; GPU tests run
only when CuPy imports and sees a CUDA device.
"""

from __future__ import annotations

import os

import pytest


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
