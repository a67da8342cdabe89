"""Backend selection, RNG normalisation (SPEC 7) and the lazy CuPy import."""

from __future__ import annotations

import subprocess
import sys
from types import ModuleType

import array_api_strict
import numpy as np
import pytest

from simulator import backend


def test_normalize_rng_accepts_spec7_inputs() -> None:
    gen = np.random.default_rng(5)
    assert backend.normalize_rng(gen) is gen
    a = backend.normalize_rng(3).standard_normal(4)
    b = backend.normalize_rng(np.random.SeedSequence(3)).standard_normal(4)
    np.testing.assert_array_equal(a, b)
    assert isinstance(backend.normalize_rng(None), np.random.Generator)


@pytest.mark.parametrize("bad", [-1, True, "seed", 1.5])
def test_normalize_rng_rejects_bad_seeds(bad: object) -> None:
    with pytest.raises((ValueError, TypeError)):
        backend.normalize_rng(bad)


def test_spawn_generators_are_independent_streams() -> None:
    a, b = backend.spawn_generators(1, 2)
    assert a.random() != b.random()


def test_seed_entropy_round_trip() -> None:
    assert backend.seed_entropy(np.random.default_rng(1234)) == 1234


def test_get_namespace() -> None:
    assert backend.get_namespace("numpy") is np
    with pytest.raises(ValueError, match="backend must be one of"):
        backend.get_namespace("torch")


def test_cupy_request_without_gpu_is_a_clear_error() -> None:
    if backend.cupy_available():
        pytest.skip("a CUDA device is present; the error path cannot be exercised (gpu machine)")
    with pytest.raises(backend.BackendUnavailableError, match="backend 'cupy'"):
        backend.get_namespace("cupy")


def test_array_namespace_inference() -> None:
    assert backend.array_namespace(np.ones(2), 1.0) is np
    strict = array_api_strict.asarray([1.0])
    assert backend.array_namespace(strict) is array_api_strict
    with pytest.raises(ValueError, match="different namespaces"):
        backend.array_namespace(np.ones(2), strict)


def test_standard_normal_modes(xp: ModuleType) -> None:
    gen = np.random.default_rng(0)
    x = backend.Draws(gen, xp=xp).standard_normal((3, 2))
    assert x.shape == (3, 2)
    assert backend.array_namespace(x) is xp
    # Host mode draws on the CPU: the same numbers in every namespace.
    np.testing.assert_array_equal(
        backend.to_host(x), np.random.default_rng(0).standard_normal((3, 2))
    )
    with pytest.raises(ValueError, match="rng_mode"):
        backend.Draws(gen, rng_mode="gpu")


def test_import_does_not_import_cupy() -> None:
    code = (
        "import sys, simulator, simulator.cli, simulator.studies, simulator.cli.benches;"
        "simulator.cli.build_parser();"
        "assert 'cupy' not in sys.modules, 'cupy imported'"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.gpu
def test_cupy_namespace_and_transfer() -> None:
    cupy = backend.get_namespace("cupy")
    x = cupy.arange(4.0)
    assert backend.array_namespace(x) is cupy
    np.testing.assert_array_equal(backend.to_host(x), np.arange(4.0))
    backend.synchronize(cupy)
