"""Hirschfeld-Gebelein-Renyi maximal correlation rho_m (Eq. 21) and augmentation mildness eta2.

``rho_m(X, Y) = sup E[phi(X) psi(Y)]`` over zero-mean unit-variance ``phi, psi`` (Eq. 21) is the
second singular value of the conditional-expectation operator ``L2(Y) -> L2(X)``; the first is 1
(constants). Three routes are provided:

* :func:`hgr_discrete`: exact for finite alphabets, the second singular value of
  ``D_X^{-1/2} P_XY D_Y^{-1/2}`` (Hirschfeld 1935; Witsenhausen 1975);
* :func:`hgr_numeric`: continuous scalar joints given by an input density and a conditional
  density, discretised on composite Gauss-Legendre nodes (a Nystrom discretisation of the operator),
  refined by doubling until two successive values agree, then checked on a wider domain; the two
  changes make the error estimate;
* :func:`hgr_laplace_gaussian`: Laplace input through a Gaussian channel, where the operator is not
  compact and the supremum may be the essential-spectrum edge: grid and domain converged, the
  domain extrapolated, and a flag when the discrete value and the edge are not separated;
* :func:`hgr_ace`: from samples, by alternating conditional expectations (Breiman & Friedman 1985)
  with bin-mean smoothers, with a multinomial bootstrap confidence interval.

For two views drawn independently from the same channel given ``X0`` the operator of ``(X, Y)``
is ``T T*`` with ``T`` that of ``(X, X0)``, so ``rho_m(X, Y) = rho_m(X, X0)^2 = eta2``: the
multiplicative data-processing inequality (Eq. 23) ``rho_m(X, Y) <= rho_m(X, X0) rho_m(X0, Y)``
holds with equality. :func:`dpi_check` tests Eq. 23 on a general discrete Markov chain.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import linalg, special
from scipy.sparse.linalg import LinearOperator, svds

from simulator.backend import RNGLike, normalize_rng, seed_entropy
from simulator.validation import check_int, check_real

#: Matrices with both sides at most this size use a dense SVD; larger ones a Lanczos solver.
DENSE_SVD_MAX = 400
#: Fewest samples ACE accepts.
ACE_MIN_SAMPLES = 20


@dataclass(frozen=True)
class HGRResult:
    """A maximal-correlation value with its error estimate.

    Attributes
    ----------
    value : float
        ``rho_m`` in ``[0, 1]``.
    error : float
        Estimated absolute error: rounding bound (exact), 0 (closed form), grid plus domain error
        (numeric) or bootstrap standard error (ACE).
    method : str
        ``'exact'``, ``'closed-form'``, ``'numeric'`` or ``'ace'``.
    ci : tuple of float or None
        Confidence interval (ACE only).
    details : dict
        Method-specific diagnostics (refinement sequence, bins, sample size ...).
    """

    value: float
    error: float
    method: str
    ci: tuple[float, float] | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ci"] = list(self.ci) if self.ci is not None else None
        return out


# --------------------------------------------------------------------------- exact (discrete)


def _float_array(value: ArrayLike, name: str) -> np.ndarray:
    # Ragged nesting, strings or mappings (e.g. from a command line's JSON) must give a
    # ValueError naming the parameter, not NumPy's TypeError or an anonymous message.
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be a rectangular array of real numbers, got {value!r}"
        ) from None


def _nonnegative_table(value: ArrayLike, name: str) -> np.ndarray:
    """A non-empty 2-D array of finite, non-negative reals, or ValueError naming ``name``."""
    t = _float_array(value, name)
    if t.ndim != 2 or t.shape[0] < 1 or t.shape[1] < 1:
        raise ValueError(f"{name} must be a non-empty 2-D array, got shape {t.shape}")
    if not np.all(np.isfinite(t)):
        raise ValueError(f"{name} must be finite")
    if np.any(t < 0):
        raise ValueError(f"{name} must have non-negative entries (min {float(t.min())!r})")
    return t


def check_joint(joint: ArrayLike, name: str = "joint") -> np.ndarray:
    """Validate a joint probability table: 2-D, finite, non-negative, total 1 within 1e-9."""
    p = _nonnegative_table(joint, name)
    total = float(p.sum())
    if abs(total - 1.0) > 1e-9:
        raise ValueError(f"{name} must sum to 1 within 1e-9, got {total!r}")
    return p


def check_channel_matrix(matrix: ArrayLike, name: str = "matrix") -> np.ndarray:
    """Validate a row-stochastic channel matrix (rows sum to 1 within 1e-12, entries >= 0)."""
    w = _nonnegative_table(matrix, name)
    dev = np.abs(w.sum(axis=1) - 1.0)
    if np.any(dev > 1e-12):
        raise ValueError(
            f"{name} rows must sum to 1 within 1e-12 (row {int(dev.argmax())} is off by "
            f"{float(dev.max()):.3g})"
        )
    return w


def check_pmf(probs: ArrayLike, name: str = "probs", size: int | None = None) -> np.ndarray:
    """Validate a probability vector (non-negative, sums to 1 within 1e-12, optional length)."""
    p = _float_array(probs, name)
    if p.ndim != 1 or p.size < 1:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {p.shape}")
    if size is not None and p.size != size:
        raise ValueError(f"{name} must have length {size} (matching shapes), got {p.size}")
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError(f"{name} must be finite and non-negative")
    if abs(float(p.sum()) - 1.0) > 1e-12:
        raise ValueError(f"{name} must sum to 1 within 1e-12, got {float(p.sum())!r}")
    return p


def _normalised(p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``Q = D_r^{-1/2} P D_c^{-1/2}`` on the support, and the square roots of the marginals."""
    r = p.sum(axis=1)
    c = p.sum(axis=0)
    p = p[r > 0][:, c > 0]
    sr = np.sqrt(r[r > 0])
    sc = np.sqrt(c[c > 0])
    return p / sr[:, None] / sc[None, :], sr, sc


def second_singular_value(p: np.ndarray) -> tuple[float, float]:
    """``(sigma_2, error)`` of the normalised joint ``p`` (entries >= 0, any positive total).

    The top singular pair ``(1, sqrt(p_X), sqrt(p_Y))`` is known in closed form, so large tables
    are deflated by it and the largest remaining singular value is found by Lanczos (ARPACK);
    small ones use a dense SVD. The error is a backward-error bound: the residual norm of the
    computed pair plus a rounding term.
    """
    total = float(p.sum())
    q, sr, sc = _normalised(p / total)
    sr = sr / np.linalg.norm(sr)
    sc = sc / np.linalg.norm(sc)
    m, n = q.shape
    rounding = 8.0 * np.finfo(float).eps * math.sqrt(max(m, n))
    if min(m, n) < 2:
        return 0.0, rounding
    if max(m, n) <= DENSE_SVD_MAX or min(m, n) <= 8:
        s = np.linalg.svd(q, compute_uv=False)
        return float(min(1.0, s[1])), rounding

    def matvec(x: np.ndarray) -> np.ndarray:
        x = np.ravel(x)
        return q @ x - sr * (sc @ x)

    def rmatvec(y: np.ndarray) -> np.ndarray:
        y = np.ravel(y)
        return q.T @ y - sc * (sr @ y)

    op = LinearOperator((m, n), matvec=matvec, rmatvec=rmatvec, dtype=float)
    # A fixed, generic start vector keeps the result deterministic.
    v0 = np.cos(np.arange(1, min(m, n) + 1) * 0.7548776662466927) + 0.1
    u, s, vt = svds(op, k=1, tol=0.0, v0=v0 if m <= n else None, solver="arpack")
    sigma = float(s[0])
    resid = float(np.linalg.norm(matvec(vt[0]) - sigma * u[:, 0]))
    resid += float(np.linalg.norm(rmatvec(u[:, 0]) - sigma * vt[0]))
    return min(1.0, sigma), resid + rounding


def hgr_discrete(joint: ArrayLike) -> HGRResult:
    """Exact ``rho_m(X, Y)`` of a finite joint: sigma_2 of ``D_X^{-1/2} P D_Y^{-1/2}``.

    theory.md section 4 (Hirschfeld 1935; Witsenhausen 1975).

    Parameters
    ----------
    joint : array_like of shape (k_x, k_y)
        Joint probabilities ``P(X = i, Y = j)``: non-negative, total 1 within 1e-9. Zero rows and
        columns (symbols of probability 0) are ignored.

    Returns
    -------
    HGRResult
        ``method='exact'``; ``error`` bounds the numerical error.
    """
    p = check_joint(joint)
    value, err = second_singular_value(p)
    return HGRResult(value, err, "exact", details={"shape": list(p.shape)})


def joint_from_channel(input_probs: ArrayLike, matrix: ArrayLike) -> np.ndarray:
    """``P(X0 = a, X = b) = p0(a) W(a, b)`` for a row-stochastic ``W``."""
    w = check_channel_matrix(matrix)
    p0 = check_pmf(input_probs, "input_probs", size=w.shape[0])
    return p0[:, None] * w


def views_joint(input_probs: ArrayLike, matrix: ArrayLike) -> np.ndarray:
    """``P(X = b, Y = c) = sum_a p0(a) W(a, b) W(a, c)`` for two conditionally independent views."""
    w = check_channel_matrix(matrix)
    p0 = check_pmf(input_probs, "input_probs", size=w.shape[0])
    return w.T @ (p0[:, None] * w)


def pearson_discrete(joint: ArrayLike, x_values: ArrayLike, y_values: ArrayLike) -> float:
    """|Pearson correlation| of ``(x_values[X], y_values[Y])`` under a finite joint."""
    p = check_joint(joint)
    xv = np.asarray(x_values, float)
    yv = np.asarray(y_values, float)
    px, py = p.sum(1), p.sum(0)
    mx, my = px @ xv, py @ yv
    cov = (xv - mx) @ p @ (yv - my)
    vx, vy = px @ (xv - mx) ** 2, py @ (yv - my) ** 2
    if vx <= 0 or vy <= 0:
        return 0.0
    return float(abs(cov) / math.sqrt(vx * vy))


def dpi_check(
    input_probs: ArrayLike, first: ArrayLike, second: ArrayLike, *, tol: float = 1e-10
) -> dict[str, Any]:
    """Multiplicative DPI (Eq. 23) on the discrete Markov chain ``X0 -> X -> Z``.

    ``X | X0 ~ first``, ``Z | X ~ second``; checks ``rho_m(X0, Z) <= rho_m(X0, X) rho_m(X, Z)``.

    Returns
    -------
    dict
        ``rho_x0_x``, ``rho_x_z``, ``rho_x0_z``, ``product``, ``slack`` and ``verdict`` (exact
        arithmetic up to ``tol``: 'holds' or 'violated').
    """
    w1 = check_channel_matrix(first, "first")
    w2 = check_channel_matrix(second, "second")
    if w1.shape[1] != w2.shape[0]:
        raise ValueError(
            f"first has {w1.shape[1]} output symbols but second has {w2.shape[0]} input rows "
            "(mismatched shapes)"
        )
    p0 = check_pmf(input_probs, "input_probs", size=w1.shape[0])
    p_x0_x = p0[:, None] * w1
    px = p_x0_x.sum(0)
    r01 = hgr_discrete(p_x0_x).value
    r12 = hgr_discrete(px[:, None] * w2).value
    r02 = hgr_discrete(p_x0_x @ w2).value
    prod = r01 * r12
    return {
        "rho_x0_x": r01,
        "rho_x_z": r12,
        "rho_x0_z": r02,
        "product": prod,
        "slack": prod - r02,
        "verdict": "holds" if r02 <= prod + tol else "violated",
    }


# --------------------------------------------------------------------------- numeric (continuous)


def gauss_legendre_panels(
    lo: float, hi: float, panels: int, breaks: Sequence[float] = (), order: int = 16
) -> tuple[np.ndarray, np.ndarray]:
    """Composite Gauss-Legendre nodes and weights on ``[lo, hi]``, with panel edges at ``breaks``.

    Panels are spread over the segments between breaks in proportion to their lengths, so a kink
    of the integrand (the Laplace density at 0) always sits on a panel edge.
    """
    edges = sorted({lo, hi, *[b for b in breaks if lo < b < hi]})
    lengths = np.diff(edges)
    counts = np.maximum(1, np.round(panels * lengths / lengths.sum()).astype(int))
    x_ref, w_ref = np.polynomial.legendre.leggauss(order)
    nodes, weights = [], []
    for a, b, m in zip(edges[:-1], edges[1:], counts, strict=True):
        cuts = np.linspace(a, b, m + 1)
        half = 0.5 * np.diff(cuts)
        mid = 0.5 * (cuts[1:] + cuts[:-1])
        nodes.append((mid[:, None] + half[:, None] * x_ref[None, :]).ravel())
        weights.append((half[:, None] * w_ref[None, :]).ravel())
    return np.concatenate(nodes), np.concatenate(weights)


@dataclass(frozen=True)
class ScalarKernel:
    """A continuous scalar channel ``X0 -> X`` for :func:`hgr_numeric`.

    Attributes
    ----------
    input_pdf : callable or None
        Density of ``X0`` (vectorised). None when ``input_atoms`` is given.
    input_range : (float, float)
        Interval holding all but a negligible (< 1e-15) mass of ``X0``.
    cond_pdf : callable
        ``cond_pdf(x, x0)`` with ``x`` of shape (1, n_x) and ``x0`` of shape (n_0, 1): the density
        of the continuous part of ``X`` given ``X0``; it integrates to ``1 - atom_prob``.
    output_range : (float, float)
        Interval holding all but a negligible mass of ``X``.
    input_breaks, output_breaks : sequence of float
        Points where the densities are not smooth (panel edges are placed there).
    atom_prob : float
        Probability of an atom of ``X`` (at a point outside the continuous part) that does not
        depend on ``X0`` (feature dropout).
    input_atoms : (values, probs) or None
        A discrete input law instead of ``input_pdf``.
    """

    input_pdf: Callable[[np.ndarray], np.ndarray] | None
    input_range: tuple[float, float]
    cond_pdf: Callable[[np.ndarray, np.ndarray], np.ndarray]
    output_range: tuple[float, float]
    input_breaks: tuple[float, ...] = ()
    output_breaks: tuple[float, ...] = ()
    atom_prob: float = 0.0
    input_atoms: tuple[np.ndarray, np.ndarray] | None = None


def _discretised_joint(kernel: ScalarKernel, panels: int) -> np.ndarray:
    if kernel.input_atoms is not None:
        t, w0 = kernel.input_atoms
    else:
        t, w = gauss_legendre_panels(*kernel.input_range, panels, kernel.input_breaks)
        w0 = w * kernel.input_pdf(t)
    s, v = gauss_legendre_panels(*kernel.output_range, panels, kernel.output_breaks)
    p = w0[:, None] * kernel.cond_pdf(s[None, :], t[:, None]) * v[None, :]
    if kernel.atom_prob > 0:
        p = np.concatenate([p, (w0 * kernel.atom_prob)[:, None]], axis=1)
    return p


def _widened(kernel: ScalarKernel, factor: float) -> ScalarKernel:
    """The same kernel on input and output ranges widened ``factor`` times about their centres."""

    def widen(lo: float, hi: float) -> tuple[float, float]:
        mid, half = 0.5 * (lo + hi), 0.5 * (hi - lo) * factor
        return mid - half, mid + half

    return replace(
        kernel,
        input_range=widen(*kernel.input_range),
        output_range=widen(*kernel.output_range),
    )


def hgr_numeric(
    kernel: ScalarKernel,
    *,
    tol: float = 1e-9,
    start_panels: int = 16,
    max_panels: int = 256,
    domain_factor: float = 1.5,
) -> HGRResult:
    """``rho_m(X, X0)`` of a continuous scalar channel by discretisation with refinement.

    The joint is discretised on composite Gauss-Legendre nodes (16 per panel) in both variables;
    the discrete table's second singular value converges spectrally to ``rho_m`` for smooth
    densities (theory.md section 4, "SVD of a binned joint", with quadrature nodes in place of
    bins). The panel count doubles until two successive values differ by less than ``tol``
    or ``max_panels`` is reached. The domain is then checked: the same computation on input and
    output ranges widened ``domain_factor`` times (at the same panel density) must agree, and
    its change is part of the error (a truncated domain only approaches a value carried by the
    tails, theory.md section 4).

    Parameters
    ----------
    kernel : ScalarKernel
    tol : float
        Absolute tolerance on successive values.
    start_panels, max_panels : int
        Panel counts of the first and the finest level.
    domain_factor : float
        Widening of the ranges for the domain check (``> 1``).

    Returns
    -------
    HGRResult
        ``method='numeric'``, the value on the widened domain; ``error`` is the last change in
        the refinement sequence (an estimate of the error of the coarser level, hence
        conservative for the finer one when convergence is at least geometric) plus the change
        under the domain widening (likewise) plus the SVD rounding bound;
        ``details['converged']`` says whether both are below ``tol``.
    """
    tol = check_real("tol", tol, low=0.0, low_open=True)
    start_panels = check_int("start_panels", start_panels, low=1)
    max_panels = check_int("max_panels", max_panels, low=start_panels)
    domain_factor = check_real("domain_factor", domain_factor, low=1.0, low_open=True)
    panels = start_panels
    seq: list[tuple[int, float]] = []
    while True:
        value, rounding = second_singular_value(_discretised_joint(kernel, panels))
        seq.append((panels, value))
        if len(seq) >= 2 and abs(seq[-1][1] - seq[-2][1]) < tol:
            break
        if panels * 2 > max_panels:
            break
        panels *= 2
    grid_error = abs(seq[-1][1] - seq[-2][1]) if len(seq) >= 2 else math.inf
    wide_panels = math.ceil(panels * domain_factor)
    wide, _ = second_singular_value(
        _discretised_joint(_widened(kernel, domain_factor), wide_panels)
    )
    domain_change = abs(wide - seq[-1][1])
    error = grid_error + domain_change + rounding
    # As for the grid, the change estimates the error of the narrower domain, so the wider
    # value is reported with it.
    return HGRResult(
        wide,
        error,
        "numeric",
        details={
            "refinement": [{"panels": p, "rho_m": r} for p, r in seq],
            "grid_error": grid_error,
            "domain_check": {"factor": domain_factor, "panels": wide_panels, "rho_m": wide},
            "converged": bool(grid_error < tol and domain_change < tol),
        },
    )


# --------------------------------------------------------------------------- ACE (samples)


def _codes(z: np.ndarray, bins: int | None) -> tuple[np.ndarray, int]:
    """Integer codes: the distinct values when few, else equal-count (quantile) bins."""
    values, inverse = np.unique(z, return_inverse=True)
    k = bins if bins is not None else int(np.clip(round(z.size ** (1 / 3)), 4, 64))
    if values.size <= k:
        return inverse.astype(np.intp), int(values.size)
    order = np.argsort(z, kind="stable")
    codes = np.empty(z.size, dtype=np.intp)
    codes[order] = (np.arange(z.size) * k) // z.size
    # Tied values must share a bin: give each distinct value the bin of its first occurrence.
    first = np.full(values.size, -1, dtype=np.intp)
    sorted_inv = inverse[order]
    first_pos = np.unique(sorted_inv, return_index=True)[1]
    first[np.arange(values.size)] = codes[order][first_pos]
    codes = first[inverse]
    _, codes = np.unique(codes, return_inverse=True)
    return codes.astype(np.intp), int(codes.max()) + 1


def ace_table(counts: np.ndarray, *, tol: float = 1e-13, max_iter: int = 20_000) -> float:
    """ACE (Breiman & Friedman 1985) on a contingency table: alternate ``phi <- E[theta | X]``,
    ``theta <- E[phi | Y]`` with standardisation, and return ``E[phi(X) theta(Y)]``.

    With bin-mean smoothers the conditional expectations are table operations, so each sweep costs
    O(k_x k_y) whatever the sample size.
    """
    p = counts / counts.sum()
    px, py = p.sum(1), p.sum(0)
    keep_x, keep_y = px > 0, py > 0
    p, px, py = p[keep_x][:, keep_y], px[keep_x], py[keep_y]
    if px.size < 2 or py.size < 2:
        return 0.0
    # A monotone, mean-zero start has a component along every monotone dependence direction;
    # the cosine wiggle adds components along the others.
    theta = np.linspace(-1.0, 1.0, py.size) + 0.3 * np.cos(np.arange(py.size) * 2.399963)
    theta -= py @ theta
    theta /= math.sqrt(py @ theta**2)
    rho_old = -1.0
    rho = 0.0
    for _ in range(max_iter):
        phi = (p @ theta) / px
        phi -= px @ phi
        nphi = math.sqrt(px @ phi**2)
        if nphi == 0.0:
            return 0.0
        phi /= nphi
        theta = (p.T @ phi) / py
        theta -= py @ theta
        rho = math.sqrt(py @ theta**2)
        if rho == 0.0:
            return 0.0
        theta /= rho
        if abs(rho - rho_old) <= tol * max(rho, 1e-300):
            break
        rho_old = rho
    return float(min(rho, 1.0))


def hgr_ace(
    x: ArrayLike,
    y: ArrayLike,
    *,
    bins: int | None = None,
    n_boot: int = 200,
    confidence: float = 0.95,
    rng: RNGLike = None,
) -> HGRResult:
    """ACE estimate of ``rho_m(X, Y)`` from paired scalar samples, with a bootstrap CI.

    Breiman & Friedman (1985) with bin-mean smoothers. Variables with at most ``bins`` distinct
    values are used as categories (then the estimand is ``rho_m`` itself); others are cut into
    ``bins`` equal-count bins (default ``round(n^(1/3))`` clipped to [4, 64]), and the estimand is
    the HGR of the binned pair, a lower bound on ``rho_m`` (DPI) that approaches it as bins grow.

    The bootstrap redraws the table from a multinomial with the observed cell frequencies (the
    same law as resampling pairs). The interval is the basic (reverse-percentile) bootstrap
    ``[2 r - q_hi, 2 r - q_lo]``, which corrects the upward small-sample bias of the plug-in value
    to first order; it is clipped to [0, 1].

    Parameters
    ----------
    x, y : array_like of shape (n,)
        Paired samples, ``n >= 20``.
    bins : int or None
        Bins per variable (``>= 2``).
    n_boot : int
        Bootstrap replicates (``>= 20``).
    confidence : float
        Nominal coverage in (0, 1).
    rng : None, int, SeedSequence or Generator
        SPEC 7 seed for the bootstrap.

    Returns
    -------
    HGRResult
        ``method='ace'``, ``error`` = bootstrap standard error, ``ci`` the interval.
    """
    xs = np.asarray(x, dtype=float)
    ys = np.asarray(y, dtype=float)
    if xs.ndim != 1 or ys.ndim != 1:
        raise ValueError(f"x and y must be 1-D, got shapes {xs.shape} and {ys.shape}")
    if xs.shape != ys.shape:
        raise ValueError(
            f"x and y must have the same length (mismatched shapes), got {xs.size} and {ys.size}"
        )
    if xs.size < ACE_MIN_SAMPLES:
        raise ValueError(f"too few samples for ACE: need n >= {ACE_MIN_SAMPLES}, got {xs.size}")
    if not (np.all(np.isfinite(xs)) and np.all(np.isfinite(ys))):
        raise ValueError("x and y must be finite")
    if bins is not None:
        bins = check_int("bins", bins, low=2)
    n_boot = check_int("n_boot", n_boot, low=20)
    confidence = check_real(
        "confidence", confidence, low=0.0, high=1.0, low_open=True, high_open=True
    )
    gen = normalize_rng(rng)
    cx, kx = _codes(xs, bins)
    cy, ky = _codes(ys, bins)
    n = xs.size
    counts = np.bincount(cx * ky + cy, minlength=kx * ky).reshape(kx, ky).astype(float)
    value = ace_table(counts)
    freqs = (counts / n).ravel()
    boot = np.array(
        [ace_table(c.reshape(kx, ky).astype(float)) for c in gen.multinomial(n, freqs, size=n_boot)]
    )
    alpha = 1.0 - confidence
    q_lo, q_hi = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
    ci = (float(max(0.0, 2 * value - q_hi)), float(min(1.0, 2 * value - q_lo)))
    return HGRResult(
        value,
        float(boot.std(ddof=1)),
        "ace",
        ci=ci,
        details={
            "n": int(n),
            "bins": [kx, ky],
            # Whether each variable was cut into bins (then the estimand is the binned HGR, a
            # lower bound on rho_m) rather than used as categories (then it is rho_m itself).
            "binned": [bool(np.unique(xs).size > kx), bool(np.unique(ys).size > ky)],
            "n_boot": n_boot,
            "confidence": confidence,
            "seed_entropy": seed_entropy(gen),
        },
    )


# --------------------------------------------------------------------------- Laplace input


def _uniform_panels(lo: float, hi: float, width: float, order: int = 16) -> tuple[np.ndarray, ...]:
    """Gauss-Legendre nodes and weights on ``[lo, hi]`` cut into panels of at most ``width``."""
    return gauss_legendre_panels(lo, hi, max(1, math.ceil((hi - lo) / width)), order=order)


def _laplace_sector_values(
    a: float, sigma: float, half: float, width: float
) -> tuple[float, float]:
    """Largest odd and largest non-constant even singular values of the Laplace-Gaussian operator
    compressed to ``|X0| <= half``.

    The joint ``p(x0, x) = e^{-|x0|}/2 phi_sigma(x - a x0)`` is invariant under
    ``(x0, x) -> (-x0, -x)``, so the operator splits into odd and even functions and each sector
    lives on the half-lines ``x0, x >= 0``. The column normaliser is the exact ``p_X(x)`` (closed
    form below), so the matrix is a Nystrom discretisation of the true operator restricted to
    ``f`` supported on ``|x0| <= half``: up to quadrature error a compression, whose singular values
    do not exceed the operator's and increase with ``half``. Everything is scaled by ``e^{x/a}``
    so that no factor underflows at large ``half``.
    """
    tau = sigma / a
    t, wt = _uniform_panels(0.0, half, width)
    x, wx = _uniform_panels(0.0, a * half + 12.0 * sigma, a * width)
    log_norm = math.log(2.0 * sigma * math.sqrt(2.0 * math.pi))
    # log[p(x0, +-x) e^{x/a}] for x0 >= 0, x >= 0.
    up = x[None, :] - a * t[:, None]
    um = x[None, :] + a * t[:, None]
    base = -t[:, None] + x[None, :] / a - log_norm
    k_plus = np.exp(base - up * up / (2 * sigma * sigma))
    k_minus = np.exp(base - um * um / (2 * sigma * sigma))
    # p_X(x) e^{x/a} = e^{tau^2/2} / (2a) [Phi(x/(a tau) - tau) + e^{2x/a} Phi(-x/(a tau) - tau)]
    # (Laplace(0, 1) convolved with N(0, sigma^2) after scaling by a).
    z = x / (a * tau)
    log_px = (
        tau * tau / 2
        - math.log(2 * a)
        + np.logaddexp(special.log_ndtr(z - tau), 2 * x / a + special.log_ndtr(-z - tau))
    )
    # Q_ij = sqrt(w_i p0_i) p(x_j | x0_i) sqrt(v_j / p_X(x_j)); rows carry e^{t/2}, columns
    # e^{-x/(2a)}, which cancels the e^{x/a} scaling and the e^{-t} inside the kernels.
    row = np.sqrt(2.0 * wt) * np.exp(t / 2)
    col = np.sqrt(wx) * np.exp(-0.5 * log_px - x / (2 * a))
    odd = row[:, None] * (k_plus - k_minus) * col[None, :]
    even = row[:, None] * (k_plus + k_minus) * col[None, :]
    return _top_singular(odd, 1)[0], _top_singular(even, 2)[1]


def _top_singular(m: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` largest singular values of a banded-dominant matrix, descending.

    The smaller Gram matrix is banded up to entries below ``1e-18`` of its largest (the Gaussian
    kernel), which are dropped: by Weyl's inequality that moves an eigenvalue by at most ``n``
    times ``1e-18`` of the norm. The banded symmetric solver then costs ``O(n b^2)``.
    """
    g = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    n = g.shape[0]
    thresh = 1e-18 * float(np.abs(g).max())
    band = 0
    while band + 1 < n and float(np.abs(np.diagonal(g, band + 1)).max()) > thresh:
        band += 1
    upper = np.zeros((band + 1, n))
    for off in range(band + 1):
        upper[band - off, off:] = np.diagonal(g, off)
    lam = linalg.eig_banded(upper, eigvals_only=True, select="i", select_range=(n - k, n - 1))
    return np.sqrt(np.clip(lam[::-1], 0.0, None))


def laplace_edge(a: float, sigma: float) -> float:
    """Essential-spectrum edge ``exp(-sigma^2 / (8 a^2))`` of ``rho_m(X, X0)`` for Laplace(0, 1)
    input and ``X = a X0 + sigma Z`` (theory.md section 4; in ``eta2 = rho_m^2`` it is
    ``exp(-sigma^2 / (4 a^2))``).

    ``E[e^{c X0} | X]`` and ``E[e^{c' X} | X0]`` act on exponentials in the tail with the factor
    ``exp(tau^2 (c^2 - c))``, ``tau = sigma / a``; along ``c = 1/2 + i w`` (the edge of
    ``L2(e^{-|x0|})``) these are Weyl sequences, so ``exp(-tau^2 / 4)`` belongs to the essential
    spectrum of ``T* T`` and ``rho_m >= exp(-tau^2 / 8)``.
    """
    return math.exp(-((sigma / a) ** 2) / 8.0)


def hgr_laplace_gaussian(
    a: float,
    sigma: float,
    *,
    tol: float = 1e-9,
    start_half_width: float = 40.0,
    max_half_width: float = 640.0,
    max_nodes: int = 2560,
) -> HGRResult:
    """``rho_m(X, X0)`` for ``X0 ~ Laplace(0, 1)`` and ``X = a X0 + sigma Z``, converged in both the
    grid and the domain.

    With exponential input tails the conditional-expectation operator is not compact: ``rho_m`` is
    the larger of a discrete singular value and the essential-spectrum edge :func:`laplace_edge`
    (theory.md section 4). A discrete value just above the edge has an eigenfunction that decays
    slowly into the tails, and a truncated domain only approaches the edge from below, so both
    need the domain converged:

    1. the odd and even sectors (the joint is symmetric under ``(x0, x) -> (-x0, -x)``) are
       discretised on ``|x0| <= L`` with the exact ``p_X`` (:func:`_laplace_sector_values`), panels
       of width ``min(8, 4 tau)`` (``tau = sigma / a``, the posterior scale), halved until two
       grids agree within ``tol`` at the first ``L``;
    2. ``L`` doubles from ``start_half_width`` to ``max_half_width`` (or until ``max_nodes``
       quadrature nodes per variable) or until the largest value changes by less than ``tol``.
       The values rise with ``L`` (compressions); the remaining rise is extrapolated geometrically
       from the last two changes (``d r / (1 - r)``, ``r`` their ratio), which bounds both an
       exponentially converging eigenvalue and the ``1/L^2`` approach of the edge (``r -> 1/4``,
       remainder ``d / 3``) from above while ``r`` decreases;
    3. the supremum lies in ``[max(edge, v_L), max(edge, v_L + extrapolation)]``: the value is
       the midpoint, ``error`` the half-width plus the grid error.
       ``details['edge_ambiguous']`` is True when that interval straddles the edge, i.e. when
       the discrete value and the edge are within the error of each other and which one is the
       supremum is not decided.

    Parameters
    ----------
    a : float
        Channel gain, ``0 < |a| <= 1`` (the sign does not matter: ``X -> -X`` is a bijection).
    sigma : float
        Noise standard deviation, ``> 0``.
    tol : float
        Target on grid and domain changes.
    start_half_width, max_half_width : float
        First and largest domain half-width ``L`` (``>= 20``).
    max_nodes : int
        Most quadrature nodes per variable and sector.

    Returns
    -------
    HGRResult
        ``method='numeric'``; ``details`` holds ``edge``, the domain sequence per sector, the
        panel width, ``grid_error``, ``domain_extrapolation`` and ``edge_ambiguous``.
    """
    a = abs(check_real("a", a, low=-1.0, high=1.0))
    if a == 0.0:
        raise ValueError("a must satisfy 0 < |a| <= 1, got 0")
    sigma = check_real("sigma", sigma, low=0.0, low_open=True)
    tol = check_real("tol", tol, low=0.0, low_open=True)
    start_half_width = check_real("start_half_width", start_half_width, low=20.0)
    max_half_width = check_real("max_half_width", max_half_width, low=start_half_width)
    max_nodes = check_int("max_nodes", max_nodes, low=64)
    tau = sigma / a
    edge = laplace_edge(a, sigma)
    width = min(8.0, 10.0 * tau)
    half = start_half_width
    coarse = _laplace_sector_values(a, sigma, half, width)
    grid_error = math.inf
    for _ in range(4):
        fine = _laplace_sector_values(a, sigma, half, width / 2)
        grid_error = max(abs(f - c) for f, c in zip(fine, coarse, strict=True))
        if grid_error < tol:
            break
        width /= 2
        coarse = fine
    seq = [(half, *coarse)]

    def nodes(h: float) -> int:
        return 16 * math.ceil(h / width)

    while half * 2 <= max_half_width and nodes(half * 2) <= max_nodes:
        half *= 2
        seq.append((half, *_laplace_sector_values(a, sigma, half, width)))
        top = [max(v[1:]) for v in seq]
        if top[-1] > edge + grid_error and abs(top[-1] - top[-2]) < tol:
            break
    bounds = []
    for s in (1, 2):
        vals = [v[s] for v in seq]
        if len(vals) < 2:
            extra = math.inf
        else:
            d = max(vals[-1] - vals[-2], 0.0)
            # With two values only the ratio is unknown: 1/2 is slower than the 1/L^2 approach
            # of the edge (1/4 per doubling) and than any exponential convergence.
            prev = max(vals[-2] - vals[-3], 0.0) if len(vals) >= 3 else 2.0 * d
            r = d / prev if prev > 0 else (0.0 if d == 0 else math.inf)
            extra = d * r / (1.0 - r) if r < 1.0 else math.inf
        bounds.append((vals[-1], vals[-1] + extra))
    lo = float(max(edge, *(b[0] for b in bounds)))
    hi = float(max(edge, *(b[1] for b in bounds)))
    best = max(bounds, key=lambda b: b[1])
    ambiguous = bool(best[1] > edge and best[0] <= edge + grid_error)
    return HGRResult(
        min(1.0, 0.5 * (lo + hi)),
        0.5 * (hi - lo) + grid_error,
        "numeric",
        details={
            "edge": edge,
            "panel_width": width,
            "grid_error": float(grid_error),
            "domain": [{"half_width": h, "odd": float(o), "even": float(e)} for h, o, e in seq],
            "domain_extrapolation": [float(b[1] - b[0]) for b in bounds],
            "edge_ambiguous": ambiguous,
        },
    )
