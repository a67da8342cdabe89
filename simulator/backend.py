"""Array-namespace selection, host/device transfers and the RNG dispatcher.

NumPy is the default backend. CuPy is imported lazily, only when a caller asks for it, so that
``import simulator`` works on machines without CuPy or without a CUDA driver.

Randomness follows SPEC 7: every stochastic public function takes ``rng`` (``None``, an ``int``, a
:class:`numpy.random.SeedSequence` or a :class:`numpy.random.Generator`) and normalises it once with
:func:`numpy.random.default_rng`. Independent streams come from ``SeedSequence.spawn``.

Two RNG modes exist for device arrays:

``host``
    draw with the NumPy generator and copy to the device: bit-identical to the CPU results;
``device``
    seed a CuPy generator from the NumPy generator and draw on the device: faster, statistically
    equivalent only.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

import numpy as np

BACKENDS = ("numpy", "cupy")
RNG_MODES = ("host", "device")

RNGLike = None | int | np.random.SeedSequence | np.random.Generator


class BackendUnavailableError(ValueError):
    """The requested array backend cannot be used on this machine."""


def normalize_rng(rng: RNGLike) -> np.random.Generator:
    """Return a :class:`numpy.random.Generator` for any SPEC 7 seed-like input."""
    if isinstance(rng, bool):
        raise ValueError(f"rng must be None, an int, a SeedSequence or a Generator, got {rng!r}")
    if isinstance(rng, (int, np.integer)) and rng < 0:
        raise ValueError(f"rng seed must be a non-negative integer, got {rng}")
    return np.random.default_rng(rng)


def spawn_generators(rng: RNGLike, n: int) -> list[np.random.Generator]:
    """Spawn ``n`` statistically independent child generators (SPEC 7, ``SeedSequence.spawn``)."""
    return normalize_rng(rng).spawn(n)


def seed_entropy(rng: np.random.Generator) -> Any:
    """The root entropy of a generator's seed sequence, for provenance (None if unknown)."""
    seq = getattr(rng.bit_generator, "seed_seq", None)
    if isinstance(seq, np.random.SeedSequence):
        entropy = seq.entropy
        return int(entropy) if isinstance(entropy, (int, np.integer)) else entropy
    return None


def _import_cupy() -> ModuleType:
    try:
        import cupy
    except Exception as exc:  # ImportError, or a CUDA library error raised at import
        raise BackendUnavailableError(
            "backend 'cupy' requested but CuPy cannot be imported "
            f"({type(exc).__name__}: {exc}); install the 'gpu' extra or use backend 'numpy'"
        ) from exc
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # no driver: CUDARuntimeError
        raise BackendUnavailableError(
            f"backend 'cupy' requested but no CUDA device is usable ({exc}); use backend 'numpy'"
        ) from exc
    if count < 1:
        raise BackendUnavailableError(
            "backend 'cupy' requested but no CUDA device found; use backend 'numpy'"
        )
    return cupy


def cupy_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device."""
    try:
        _import_cupy()
    except BackendUnavailableError:
        return False
    return True


def get_namespace(name: str = "numpy") -> ModuleType:
    """Array namespace for a backend name (``'numpy'`` or ``'cupy'``)."""
    if name == "numpy":
        return np
    if name == "cupy":
        return _import_cupy()
    raise ValueError(f"backend must be one of {BACKENDS}, got {name!r}")


def array_namespace(*arrays: Any) -> ModuleType:
    """Namespace of the given arrays: CuPy for CuPy arrays, the array's own for array-API objects.

    Python scalars and NumPy arrays map to NumPy. Mixing namespaces is an error.
    """
    found: ModuleType | None = None
    for a in arrays:
        if a is None or isinstance(a, (int, float, complex, np.ndarray, np.generic)):
            ns: ModuleType = np
        elif type(a).__module__.startswith("cupy"):
            ns = sys.modules["cupy"]
        elif hasattr(a, "__array_namespace__"):
            ns = a.__array_namespace__()
        else:
            ns = np
        if found is not None and ns is not found:
            raise ValueError(
                f"arrays from different namespaces: {found.__name__} and {ns.__name__}"
            )
        found = ns
    return found if found is not None else np


def to_host(x: Any) -> np.ndarray:
    """Copy an array to a host NumPy array (the explicit CPU boundary)."""
    if isinstance(x, np.ndarray):
        return x
    if type(x).__module__.startswith("cupy"):
        return x.get()
    return np.asarray(x)


def standard_normal(
    rng: np.random.Generator,
    shape: tuple[int, ...],
    *,
    xp: ModuleType = np,
    dtype: str = "float64",
    rng_mode: str = "host",
) -> Any:
    """Draw standard normals of ``shape`` in namespace ``xp`` (see module docstring for modes)."""
    if rng_mode not in RNG_MODES:
        raise ValueError(f"rng_mode must be one of {RNG_MODES}, got {rng_mode!r}")
    if xp is np:
        return rng.standard_normal(shape, dtype=dtype)
    if rng_mode == "device" and xp.__name__ == "cupy":
        device_rng = xp.random.default_rng(int(rng.integers(2**63)))
        return device_rng.standard_normal(shape, dtype=dtype)
    return xp.asarray(rng.standard_normal(shape, dtype=dtype))


def synchronize(xp: ModuleType) -> None:
    """Block until queued device work is done (no-op on the host); use before stopping a clock."""
    if xp.__name__ == "cupy":
        xp.cuda.get_current_stream().synchronize()
