"""Tests of simulator.contrastive.infonce: Eq. 2 against a direct evaluation, backend neutrality,
inputs."""

from __future__ import annotations

import math
from types import ModuleType

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.contrastive.infonce import empirical_infonce, uniformity_potential_at_uniform


def _direct(u: np.ndarray, v: np.ndarray, tau: float) -> float:
    total = 0.0
    for i in range(u.shape[0]):
        num = math.exp(float(u[i] @ v[i]) / tau)
        den = sum(math.exp(float(u[i] @ v[j]) / tau) for j in range(v.shape[0]))
        total -= math.log(num / den)
    return total / u.shape[0]


def _unit_rows(gen: np.random.Generator, n: int, d: int) -> np.ndarray:
    x = gen.standard_normal((n, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**63 - 1),
    n=st.integers(1, 12),
    d=st.integers(2, 6),
    tau=st.floats(0.2, 5.0),
)
def test_matches_direct_sum(seed: int, n: int, d: int, tau: float) -> None:
    gen = np.random.default_rng(seed)
    u, v = _unit_rows(gen, n, d), _unit_rows(gen, n, d)
    assert empirical_infonce(u, v, tau) == pytest.approx(_direct(u, v, tau), rel=1e-12, abs=1e-12)


def test_small_temperature_does_not_overflow() -> None:
    u = np.eye(3)
    # Positives dominate: the loss tends to 0 as tau -> 0; logits of 1e4 would overflow exp.
    assert empirical_infonce(u, u, 1e-4) == pytest.approx(0.0, abs=1e-12)


def test_every_namespace(xp: ModuleType) -> None:
    gen = np.random.default_rng(3)
    u, v = _unit_rows(gen, 5, 4), _unit_rows(gen, 5, 4)
    got = empirical_infonce(xp.asarray(u), xp.asarray(v), 0.5)
    assert got == pytest.approx(_direct(u, v, 0.5), rel=1e-12)


def test_bad_inputs() -> None:
    u = np.eye(3)
    with pytest.raises(ValueError, match="tau"):
        empirical_infonce(u, u, 0.0)
    with pytest.raises(ValueError, match="same shape"):
        empirical_infonce(u, u[:2], 1.0)
    with pytest.raises(ValueError, match="alpha"):
        uniformity_potential_at_uniform(3, -1.0)
    with pytest.raises(ValueError, match="d"):
        uniformity_potential_at_uniform(1, 1.0)


def test_phi_uniform_d3_closed_form() -> None:
    # d = 3: Z_3(a) = sinh(a)/a (Archimedes: u.v is uniform on [-1, 1]).
    for a in (0.5, 2.0, 7.0):
        assert uniformity_potential_at_uniform(3, a) == pytest.approx(math.log(math.sinh(a) / a))
