"""Array-namespace selection, host/device transfers and the RNG dispatcher.

NumPy is the default backend. CuPy is imported lazily, only when a caller asks for it, so that
``import simulator`` works on machines without CuPy or without a CUDA driver.

Randomness follows SPEC 7: every stochastic public function takes ``rng`` (``None``, an ``int``, a
:class:`numpy.random.SeedSequence` or a :class:`numpy.random.Generator`) and normalises it once with
:func:`numpy.random.default_rng`. Independent streams come from ``SeedSequence.spawn``.

Two RNG modes exist for device arrays:

``host``
    draw with the NumPy generator and copy to the device: the random numbers are bit-identical
    to the CPU run's; results computed from them agree with NumPy's up to the rounding of the
    device's arithmetic (reductions, ``sqrt``, matrix products), not bit for bit;
``device``
    draw on the device with one CuPy generator per top-level call (:class:`Draws`), seeded with
    64 bits from a child of the call's SeedSequence: faster, statistically equivalent only.
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


_CUPY_PROBE: dict[str, str | None] = {}


def _import_cupy() -> ModuleType:
    """CuPy, once a tiny kernel has run on the device.

    Counting devices is not enough: without the CUDA runtime libraries (the ``nvidia-*`` wheels
    of the ``gpu`` extra, or a system toolkit) ``getDeviceCount`` succeeds and the first real
    kernel fails to compile or load. The probe's outcome is cached per process.
    """
    try:
        import cupy
    except Exception as exc:  # ImportError, or a CUDA library error raised at import
        raise BackendUnavailableError(
            "backend 'cupy' requested but CuPy cannot be imported "
            f"({type(exc).__name__}: {exc}); install the 'gpu' extra or use backend 'numpy'"
        ) from exc
    if "error" not in _CUPY_PROBE:
        _CUPY_PROBE["error"] = _probe_device(cupy)
    if _CUPY_PROBE["error"] is not None:
        raise BackendUnavailableError(
            f"backend 'cupy' requested but {_CUPY_PROBE['error']}; use backend 'numpy'"
        )
    return cupy


def _probe_device(cupy: ModuleType) -> str | None:
    """None when a device runs an elementwise kernel and a reduction correctly, else why not."""
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return "no CUDA device found"
        total = float((cupy.arange(4, dtype=cupy.float64) * 2.0).sum())
    except Exception as exc:  # no driver, no runtime libraries, no kernel compiler
        return f"no CUDA device is usable ({type(exc).__name__}: {exc})"
    if total != 12.0:
        return f"the device probe computed {total} instead of 12"
    return None


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


def host_only(name: str, x: Any) -> Any:
    """Refuse a device array where only host code follows, with a message naming ``name``,
    instead of CuPy's raw ``Implicit conversion to a NumPy array is not allowed``."""
    if type(x).__module__.startswith("cupy"):
        raise ValueError(
            f"{name} must be a host (NumPy) array here: this computation runs on the CPU; "
            "move it with simulator.backend.to_host first"
        )
    return x


class Draws:
    """The random draws of one top-level call in namespace ``xp`` (the RNG dispatcher).

    ``host`` mode draws with the NumPy generator and copies to ``xp``. ``device`` mode (CuPy
    only) builds one device generator for the whole call, however many chunks it draws: CuPy's
    legacy :class:`cupy.random.RandomState` on cuRAND's Philox4x32-10, whose host API gives the
    same stream on every GPU model for a seed, seeded with 64 bits (the width cuRAND takes) from a
    child of the host generator's SeedSequence; the host stream itself is not advanced.
    """

    def __init__(self, rng: RNGLike, *, xp: ModuleType = np, rng_mode: str = "host") -> None:
        if rng_mode not in RNG_MODES:
            raise ValueError(f"rng_mode must be one of {RNG_MODES}, got {rng_mode!r}")
        self.host = normalize_rng(rng)
        self.xp = xp
        self.device: Any = None
        if rng_mode == "device" and xp.__name__ == "cupy":
            child = self.host.spawn(1)[0].bit_generator.seed_seq
            seed = int(child.generate_state(1, np.uint64)[0])
            method = xp.cuda.curand.CURAND_RNG_PSEUDO_PHILOX4_32_10
            self.device = xp.random.RandomState(seed, method=method)

    def standard_normal(self, shape: tuple[int, ...], dtype: str = "float64") -> Any:
        if self.device is not None:
            return self.device.standard_normal(shape, dtype=dtype)
        z = self.host.standard_normal(shape, dtype=dtype)
        return z if self.xp is np else self.xp.asarray(z)

    def chisquare(self, df: float, size: int, dtype: str = "float64") -> Any:
        if self.device is not None:
            return self.device.chisquare(df, size=size, dtype=dtype)
        q = self.host.chisquare(df, size=size).astype(dtype, copy=False)
        return q if self.xp is np else self.xp.asarray(q)


def synchronize(xp: ModuleType) -> None:
    """Block until queued device work is done (no-op on the host); use before stopping a clock."""
    if xp.__name__ == "cupy":
        xp.cuda.get_current_stream().synchronize()
