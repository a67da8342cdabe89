"""The GPU path, ready for a first device run (issue 9): the device probe, one device
generator per call seeded from the call's SeedSequence, ``run`` and ``bench`` with
``--backend cupy``, the CuPy-13-safe copy in the metrics and clear errors where host-only code
meets a device array. Tests marked ``gpu`` skip without CuPy and a CUDA device."""

from __future__ import annotations

import json
import types
from pathlib import Path

import numpy as np
import pytest

from simulator import backend, cli
from simulator.sphere.sampling import exact_marginal_sample, iter_uniform_sphere, uniform_sphere
from simulator.validation import row_norms


class _FakeCupyArray:
    """Stands for a CuPy array on a machine without CuPy: CuPy refuses np.asarray on it."""

    __module__ = "cupy._core.core"
    shape = (30, 4)
    ndim = 2

    def __array__(self, *args: object, **kwargs: object) -> None:
        raise TypeError("Implicit conversion to a NumPy array is not allowed")


def test_host_only_code_names_the_device_array_instead_of_cupys_raw_error() -> None:
    from simulator.gaussianity.audit import audit

    with pytest.raises(ValueError, match="embeddings must be a host"):
        audit(_FakeCupyArray())
    with pytest.raises(ValueError, match="x must be a host"):
        row_norms(_FakeCupyArray())


def _fake_cupy(total: float = 12.0, count: int = 1) -> types.ModuleType:
    fake = types.ModuleType("cupy")
    fake.float64 = np.float64
    fake.arange = lambda n, dtype: np.arange(n, dtype=dtype) * (total / 12.0)
    fake.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=lambda: count))
    return fake


def test_device_probe_runs_a_kernel_not_only_counts_devices() -> None:
    assert backend._probe_device(_fake_cupy()) is None
    assert "no CUDA device found" in backend._probe_device(_fake_cupy(count=0))
    assert "instead of 12" in backend._probe_device(_fake_cupy(total=11.0))

    broken = _fake_cupy()

    def no_runtime(n: int, dtype: object) -> None:
        raise OSError("libnvrtc.so.12: cannot open shared object file")

    broken.arange = no_runtime
    assert "libnvrtc" in backend._probe_device(broken)


def test_metrics_copy_works_without_an_asarray_copy_argument() -> None:
    # CuPy 13's asarray has no ``copy``; the metrics use ascontiguousarray for CuPy (and NumPy).
    from simulator.gaussianity import metrics

    class NoCopyNumpy(types.ModuleType):
        def __getattr__(self, name: str) -> object:
            return getattr(np, name)

        def asarray(self, x: object, dtype: object = None) -> np.ndarray:
            return np.asarray(x, dtype=dtype)

    fake = NoCopyNumpy("cupy")
    x = np.arange(12.0).reshape(3, 4)
    moved = metrics._last_axis(x, 0, fake)
    np.testing.assert_array_equal(moved, x.T)
    assert moved.flags.c_contiguous


def test_host_draws_do_not_depend_on_chunking() -> None:
    whole = uniform_sphere(50, 6, rng=3)
    chunks = np.concatenate(list(iter_uniform_sphere(50, 6, rng=3, chunk_rows=7)))
    np.testing.assert_array_equal(whole, chunks)


@pytest.mark.gpu
def test_device_draws_one_generator_per_call_and_reproducible() -> None:
    import cupy

    a = backend.Draws(np.random.default_rng(5), xp=cupy, rng_mode="device")
    b = backend.Draws(np.random.default_rng(5), xp=cupy, rng_mode="device")
    first = [backend.to_host(a.standard_normal((1000,))) for _ in range(2)]
    again = [backend.to_host(b.standard_normal((1000,))) for _ in range(2)]
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[0], first[1])  # one stream, advancing across chunks
    z = np.concatenate(first)
    assert abs(z.mean()) < 6 / np.sqrt(z.size) and abs(z.var() - 1) < 6 * np.sqrt(2 / z.size)
    # The host stream is not consumed by seeding the device generator.
    gen = np.random.default_rng(9)
    backend.Draws(gen, xp=cupy, rng_mode="device")
    assert gen.random() == np.random.default_rng(9).random()


@pytest.mark.gpu
def test_device_marginal_sampler_has_unit_second_moment() -> None:
    import cupy

    d = 40
    u = backend.to_host(exact_marginal_sample(200_000, d, 1, rng=1, xp=cupy, rng_mode="device"))
    m2 = d * float(np.mean(u[:, 0] ** 2))
    se = d * float(np.std(u[:, 0] ** 2)) / np.sqrt(u.shape[0])
    assert abs(m2 - 1.0) < 6 * se


@pytest.mark.gpu
@pytest.mark.parametrize("rng_mode", ["host", "device"])
def test_run_with_the_cupy_backend(rng_mode: str, tmp_path: Path) -> None:
    argv = ["run", "spherical-clt", "--backend", "cupy", "--rng-mode", rng_mode, "--quiet"]
    assert cli.main([*argv, "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "spherical-clt.json").read_text())
    assert result["provenance"]["backend"] == "cupy"
    assert result["provenance"]["rng_mode"] == rng_mode


@pytest.mark.gpu
def test_bench_with_the_cupy_backend_labels_where_rows_computed(tmp_path: Path) -> None:
    argv = ["bench", "clt", "hgr", "--backend", "cupy", "--rng-mode", "device", "--repeats", "1"]
    assert cli.main([*argv, "--out", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "bench.json").read_text())["data"]
    places = {r["name"]: r["computed_on"] for r in rows}
    assert any(v == "cupy, device draws" for v in places.values())
    assert "numpy" in places.values()  # the hgr bench computes on the CPU


def test_bench_labels_cpu_only_rows_numpy(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from simulator.cli.benches import harness

    def tiny(cfg: harness.BenchConfig) -> list[harness.BenchRow]:
        return [harness.BenchRow("tiny", 0.1, 0.2, "base", 2.0, "report only", None)]

    harness.BENCHES["tiny-cpu"] = tiny
    harness.BENCHES["tiny-xp"] = tiny
    harness.BACKEND_BENCHES["tiny-xp"] = harness.backend_label
    try:
        assert cli.main(["bench", "tiny-cpu", "tiny-xp", "--out", str(tmp_path)]) == 0
    finally:
        del harness.BENCHES["tiny-cpu"], harness.BENCHES["tiny-xp"]
        del harness.BACKEND_BENCHES["tiny-xp"]
    rows = json.loads((tmp_path / "bench.json").read_text())["data"]
    assert [r["computed_on"] for r in rows] == ["numpy", "numpy, host draws"]
