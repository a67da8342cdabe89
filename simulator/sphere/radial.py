"""Radial laws for unnormalised representations ``z = r u`` (Prop. 2, Eq. 10; Assumption 2, Eq. 9).

With ``u ~ sigma`` on S^{d-1} independent of ``r``, ``sqrt(d) z_{1..k} = r * sqrt(d) U_{1..k}``.
Under thin shell (``r / r0 -> 1`` in probability) the limit is ``N(0, r0^2 I_k)``; under a radial
law that does not concentrate it is the scale mixture ``r * N(0, I_k)``, which is not Gaussian.

Each law can be sampled and integrated against (Gauss quadrature), so the exact finite-d law of
``sqrt(d) z_1`` and the predicted limit are computable without Monte Carlo.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from simulator.backend import RNGLike, normalize_rng
from simulator.sphere.laws import cdf_1d
from simulator.validation import check_int, check_real

#: Default number of quadrature nodes of each radial law.
QUAD_NODES = 96


@dataclass(frozen=True)
class RadialLaw:
    """A law of the norm ``r`` at dimension ``d``, described by a quadrature rule.

    Attributes
    ----------
    name : str
        Identifier used in reports.
    d : int
        Dimension the law belongs to (the chi law and shrinking shells depend on it).
    nodes, weights : ndarray
        Quadrature rule with ``E g(r) ~= sum(weights * g(nodes))`` (exact for the constant law).
    thin_shell : bool
        Whether the law's family satisfies Assumption 2 as ``d`` grows.
    r0 : float or None
        The thin-shell constant of Assumption 2 (None for a wide law).
    sampler : callable
        ``sampler(n, generator) -> ndarray`` of radii.
    """

    name: str
    d: int
    nodes: np.ndarray
    weights: np.ndarray
    thin_shell: bool
    r0: float | None
    sampler: Callable[[int, np.random.Generator], np.ndarray]

    def sample(self, n: int, *, rng: RNGLike = None) -> np.ndarray:
        """Draw ``n`` radii."""
        return self.sampler(check_int("n", n, low=1), normalize_rng(rng))

    def expect(self, g: Callable[[np.ndarray], np.ndarray]) -> float:
        """``E g(r)`` by the law's quadrature rule (``g`` is vectorised over radii)."""
        return float(np.sum(self.weights * g(self.nodes)))

    @property
    def second_moment(self) -> float:
        """``E r^2``: the variance of each coordinate of ``sqrt(d) z``."""
        return self.expect(np.square)


def _hermite_rule(n: int) -> tuple[np.ndarray, np.ndarray]:
    # Gauss-Hermite for E over eps ~ N(0, 1): nodes sqrt(2) x_i, weights w_i / sqrt(pi).
    x, w = special.roots_hermite(n)
    return math.sqrt(2.0) * x, w / math.sqrt(math.pi)


def constant(d: int, r0: float = 1.0, *, n_nodes: int = QUAD_NODES) -> RadialLaw:
    """The degenerate law ``r = r0`` (normalised embeddings times ``r0``); one node is exact, so
    ``n_nodes`` is accepted for a uniform interface and not used."""
    d = check_int("d", d, low=2)
    r0 = check_real("r0", r0, low=0.0, low_open=True)
    return RadialLaw(
        "constant", d, np.array([r0]), np.array([1.0]), True, r0, lambda n, g: np.full(n, r0)
    )


def chi(d: int, *, n_nodes: int = QUAD_NODES) -> RadialLaw:
    """``r = ||G|| / sqrt(d)`` for ``G ~ N(0, I_d)``: ``z`` is exactly ``N(0, I_d / d)``.

    This is the exact-Gaussian anchor: ``sqrt(d) z_{1..k} ~ N(0, I_k)`` at every ``d``, and the
    law is thin-shell with ``r0 = 1``. Quadrature: Gauss-Hermite after the Gaussian copula map
    ``r = F^{-1}(Phi(eps))``, which stays well conditioned for ``d`` up to 10^7.
    """
    d = check_int("d", d, low=2)
    x, w = _hermite_rule(check_int("n_nodes", n_nodes, low=2))
    law = stats.chi(d)
    nodes = np.where(x < 0, law.ppf(special.ndtr(x)), law.isf(special.ndtr(-x))) / math.sqrt(d)
    return RadialLaw(
        "chi", d, nodes, w, True, 1.0, lambda n, g: np.sqrt(g.chisquare(d, size=n) / d)
    )


def thin_shell(d: int, r0: float = 1.0, s0: float = 0.5, *, n_nodes: int = QUAD_NODES) -> RadialLaw:
    """``r = r0 (1 + s eps)`` with ``s = s0 / sqrt(d)`` and ``eps ~ Uniform(-sqrt 3, sqrt 3)``.

    ``eps`` has unit variance and is bounded, so ``r > 0`` whenever ``s < 1/sqrt(3)``; that holds
    for every ``d >= 2`` when ``0 <= s0 < sqrt(2/3)``. The relative spread ``s`` shrinks like
    ``d^{-1/2}``, as for the chi law, so Assumption 2 holds with this ``r0``.
    """
    d = check_int("d", d, low=2)
    r0 = check_real("r0", r0, low=0.0, low_open=True)
    s0 = check_real("s0", s0, low=0.0, high=math.sqrt(2.0 / 3.0), high_open=True)
    s = s0 / math.sqrt(d)
    x, w = special.roots_legendre(check_int("n_nodes", n_nodes, low=2))
    nodes = r0 * (1.0 + s * math.sqrt(3.0) * x)
    return RadialLaw(
        "thin-shell",
        d,
        nodes,
        w / 2.0,
        True,
        r0,
        lambda n, g: r0 * (1.0 + s * g.uniform(-math.sqrt(3.0), math.sqrt(3.0), size=n)),
    )


def lognormal(d: int, width: float = 0.5, *, n_nodes: int = QUAD_NODES) -> RadialLaw:
    """A wide law: ``r = exp(width * eps - width^2)``, ``eps ~ N(0, 1)``, the same at every ``d``.

    The shift makes ``E r^2 = 1``. The spread does not shrink with ``d``, so Assumption 2 fails and
    Prop. 2's limit is replaced by the scale mixture ``r * N(0, I_k)``.
    """
    d = check_int("d", d, low=2)
    width = check_real("width", width, low=0.0, low_open=True)
    x, w = _hermite_rule(check_int("n_nodes", n_nodes, low=2))
    return RadialLaw(
        "log-normal",
        d,
        np.exp(width * x - width**2),
        w,
        False,
        None,
        lambda n, g: np.exp(width * g.standard_normal(n) - width**2),
    )


RADIAL_LAWS: dict[str, Callable[..., RadialLaw]] = {
    "chi": chi,
    "constant": constant,
    "thin-shell": thin_shell,
    "log-normal": lognormal,
}


def radial_law(name: str, d: int, **params: float) -> RadialLaw:
    """Build a radial law by name (one of :data:`RADIAL_LAWS`)."""
    if name not in RADIAL_LAWS:
        raise ValueError(f"radial law must be one of {sorted(RADIAL_LAWS)}, got {name!r}")
    return RADIAL_LAWS[name](d, **params)


@dataclass(frozen=True)
class RadialCDFs:
    """The three CDFs of ``sqrt(d) z_1`` compared in Prop. 2 for ``z = r u``, ``u ~ sigma``.

    Attributes
    ----------
    finite_d : callable
        Exact CDF at the law's dimension: ``F(x) = E_r[F_d(x / r)]`` with ``F_d`` the CDF of
        ``sqrt(d) U_1`` (Lemma 3, Eq. 48), integrated by the law's quadrature rule.
    best_gaussian : callable
        CDF of ``N(0, E r^2)``, the Gaussian with the same variance.
    limit : callable
        Prop. 2's limit (Eq. 10): ``N(0, r0^2)`` under thin shell (Assumption 2, Eq. 9), the scale
        mixture ``r N(0, 1)`` otherwise.
    sd : float
        ``sqrt(E r^2)``.
    """

    finite_d: Callable[[np.ndarray], np.ndarray]
    best_gaussian: Callable[[np.ndarray], np.ndarray]
    limit: Callable[[np.ndarray], np.ndarray]
    sd: float


def radial_cdfs(law: RadialLaw) -> RadialCDFs:
    """CDFs of ``sqrt(d) z_1`` (exact at ``d = law.d``), of its best Gaussian and of Prop. 2's
    limit (Eq. 10); each maps a 1-D array of points to a 1-D array of probabilities.

    The finite-d CDF inherits the error of the law's quadrature rule; compare two rules (e.g.
    ``n_nodes`` and ``2 n_nodes``) to bound it.
    """
    nodes, weights, d = law.nodes, law.weights, law.d

    def finite_d(x: np.ndarray) -> np.ndarray:
        return np.sum(weights[:, None] * cdf_1d(x[None, :] / nodes[:, None], d), axis=0)

    sd = math.sqrt(law.second_moment)

    def best_gaussian(x: np.ndarray) -> np.ndarray:
        return special.ndtr(x / sd)

    if law.thin_shell:
        r0 = law.r0

        def limit(x: np.ndarray) -> np.ndarray:
            return special.ndtr(x / r0)
    else:

        def limit(x: np.ndarray) -> np.ndarray:
            return np.sum(weights[:, None] * special.ndtr(x[None, :] / nodes[:, None]), axis=0)

    return RadialCDFs(finite_d, best_gaussian, limit, sd)
