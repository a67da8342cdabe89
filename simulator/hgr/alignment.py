"""The alignment bound of Prop. 1 (Eq. 6): ``E[u.v] <= eta2 + (1 - eta2) ||m(mu)||^2``.

For conditionally independent views ``X, Y`` of ``X0`` and unit vectors ``u = f_hat(X)``,
``v = f_hat(Y)`` (theory.md section 2.2). This module draws encoders from a few families, estimates
``E[u.v]`` and ``||m||^2`` with confidence intervals (or computes them exactly for finite channels),
and returns the bound, the slack and a three-valued verdict.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import special, stats

from simulator.backend import RNGLike, normalize_rng, seed_entropy
from simulator.hgr.estimators import check_channel_matrix, check_pmf
from simulator.results import verdict_exact_upper_bound, verdict_upper_bound
from simulator.validation import check_int, check_real

ENCODERS = ("linear", "mlp-tanh", "mlp-relu", "identity")
#: Rounding allowance of the exact finite-sum check (sums of O(k^2) products of unit vectors).
EXACT_TOL = 1e-12

Encoder = Callable[[np.ndarray], np.ndarray]


def make_encoder(family: str, p: int, d: int, *, hidden: int = 128, rng: RNGLike = None) -> Encoder:
    """A random encoder ``f: R^p -> R^d``.

    Parameters
    ----------
    family : {'linear', 'mlp-tanh', 'mlp-relu', 'identity'}
        ``linear``: ``x W^T`` with ``W_ij ~ N(0, 1/p)`` (the paper's linear encoder at
        initialisation); ``mlp-*``: random-feature network ``act(x W1^T + b1) W2^T + b2`` with
        ``W1 ~ N(0, 1/p)``, ``b1 ~ N(0, 1)``, ``W2 ~ N(0, 1/hidden)``, ``b2 ~ N(0, 0.5^2)`` (the
        biases give ``m(mu) != 0``); ``identity``: ``f(x) = x`` (needs ``d == p``).
    p, d : int
        Input and output dimensions (``d >= 2``).
    hidden : int
        Width of the random-feature layer.
    rng : None, int, SeedSequence or Generator
        SPEC 7 seed for the weights.
    """
    if family not in ENCODERS:
        raise ValueError(f"encoder family must be one of {ENCODERS}, got {family!r}")
    p = check_int("p", p, low=1)
    d = check_int("d", d, low=2)
    hidden = check_int("hidden", hidden, low=1)
    gen = normalize_rng(rng)
    if family == "identity":
        if d != p:
            raise ValueError(f"the identity encoder needs d == p, got d={d}, p={p}")
        return lambda x: np.asarray(x, float).reshape(len(x), p)
    if family == "linear":
        w = gen.standard_normal((d, p)) / math.sqrt(p)
        return lambda x: np.asarray(x, float).reshape(len(x), p) @ w.T
    w1 = gen.standard_normal((hidden, p)) / math.sqrt(p)
    b1 = gen.standard_normal(hidden)
    w2 = gen.standard_normal((d, hidden)) / math.sqrt(hidden)
    b2 = 0.5 * gen.standard_normal(d)
    act = np.tanh if family == "mlp-tanh" else (lambda z: np.maximum(z, 0.0))
    return lambda x: act(np.asarray(x, float).reshape(len(x), p) @ w1.T + b1) @ w2.T + b2


def normalise(z: np.ndarray) -> np.ndarray:
    """``f_hat = f / ||f||`` row-wise, with the fixed point ``c0 = e_1`` where ``f = 0``."""
    z = np.asarray(z, float)
    norms = np.linalg.norm(z, axis=1, keepdims=True)
    out = np.divide(z, norms, out=np.zeros_like(z), where=norms > 0)
    zero = norms[:, 0] == 0
    out[zero, 0] = 1.0
    return out


def bound(eta2: float, m2: float) -> float:
    """Prop. 1 (Eq. 6): ``eta2 + (1 - eta2) ||m||^2``."""
    return eta2 + (1.0 - eta2) * m2


def prop1_exact_discrete(
    input_probs: ArrayLike, matrix: ArrayLike, embedding: ArrayLike, eta2: float
) -> dict[str, Any]:
    """Prop. 1 on a finite channel, computed exactly (no Monte Carlo).

    ``E[u.v] = sum_{b,c} P_XY(b, c) u_b.u_c`` with ``P_XY = W^T diag(p0) W`` and
    ``m = sum_b P_X(b) u_b``, where ``u_b`` is row ``b`` of ``embedding`` normalised.

    Parameters
    ----------
    input_probs : array_like (k0,)
    matrix : array_like (k0, k)
        Row-stochastic channel.
    embedding : array_like (k, d)
        ``f(b)`` for every output symbol ``b``.
    eta2 : float
        ``rho_m^2(X, X0)`` of the channel (exact).

    Returns
    -------
    dict
        ``alignment``, ``m2``, ``bound``, ``slack`` and ``verdict`` ('holds' when
        ``alignment <= bound + 1e-12``, else 'violated').
    """
    w = check_channel_matrix(matrix)
    p0 = check_pmf(input_probs, "input_probs", size=w.shape[0])
    emb = np.asarray(embedding, float)
    if emb.ndim != 2 or emb.shape[0] != w.shape[1]:
        raise ValueError(
            f"embedding must have shape ({w.shape[1]}, d) to match the channel's outputs "
            f"(mismatched shapes), got {emb.shape}"
        )
    if not np.all(np.isfinite(emb)):
        raise ValueError("embedding must be finite")
    eta2 = check_real("eta2", eta2, low=0.0, high=1.0)
    u = normalise(emb)
    pxy = w.T @ (p0[:, None] * w)
    gram = u @ u.T
    alignment = float(np.sum(pxy * gram))
    m = pxy.sum(axis=1) @ u
    m2 = float(m @ m)
    b = bound(eta2, m2)
    return {
        "alignment": alignment,
        "m2": m2,
        "bound": b,
        "slack": b - alignment,
        "verdict": verdict_exact_upper_bound(alignment, b, EXACT_TOL),
        "method": "exact",
    }


def prop1_from_pairs(
    u: np.ndarray,
    v: np.ndarray,
    eta2: float,
    *,
    eta2_error: float = 0.0,
    confidence: float = 0.95,
    seed: Any = None,
) -> dict[str, Any]:
    """Prop. 1 from ``n`` positive pairs of unit vectors, with normal-theory CIs.

    ``E[u.v]`` is the sample mean of ``u_i.v_i``. ``||m||^2`` is the unbiased U-statistic
    ``sum_{i != j} w_i.w_j / (n(n-1))`` with ``w_i = (u_i + v_i)/2`` (both views have law mu); its
    standard error comes from the Hoeffding projection ``2 w_i.m``. The slack
    ``eta2 + (1 - eta2) ||m||^2 - E[u.v]`` gets its SE from the joint influence function and its
    interval is widened by ``eta2_error (1 - ||m||^2)`` for the uncertainty of ``eta2``.

    Returns
    -------
    dict
        ``alignment`` / ``m2`` / ``slack`` as ``{value, ci}``, ``bound`` and ``verdict`` for
        ``E[u.v] <= bound``: 'holds' when the slack's CI lies above 0, 'violated' below,
        'inconclusive' when it straddles 0 (as in tight cases).
    """
    u = np.asarray(u, float)
    v = np.asarray(v, float)
    if u.ndim != 2 or u.shape[0] < 2 or v.shape != u.shape:
        raise ValueError(
            f"need n >= 2 matching pairs of shape (n, d) (mismatched shapes?), got shapes "
            f"{u.shape} and {v.shape}"
        )
    if not (np.all(np.isfinite(u)) and np.all(np.isfinite(v))):
        raise ValueError("u and v must be finite")
    eta2 = check_real("eta2", eta2, low=0.0, high=1.0)
    eta2_error = check_real("eta2_error", eta2_error, low=0.0)
    confidence = check_real(
        "confidence", confidence, low=0.0, high=1.0, low_open=True, high_open=True
    )
    n = u.shape[0]
    a_i = np.einsum("ij,ij->i", u, v)
    a = float(a_i.mean())
    w = 0.5 * (u + v)
    s = w.sum(axis=0)
    m_bar = s / n
    m2 = float((s @ s - np.einsum("ij,ij->", w, w)) / (n * (n - 1)))
    infl_m2 = 2.0 * (w @ m_bar - m2)
    infl_a = a_i - a
    infl_slack = (1.0 - eta2) * infl_m2 - infl_a
    return _prop1_result(
        n,
        a,
        m2,
        eta2,
        se_a=float(infl_a.std(ddof=1) / math.sqrt(n)),
        se_m2=float(infl_m2.std(ddof=1) / math.sqrt(n)),
        se_slack=float(infl_slack.std(ddof=1) / math.sqrt(n)),
        eta2_error=eta2_error,
        confidence=confidence,
        seed=seed,
    )


def _prop1_result(
    n: int,
    a: float,
    m2: float,
    eta2: float,
    *,
    se_a: float,
    se_m2: float,
    se_slack: float,
    eta2_error: float,
    confidence: float,
    seed: Any,
) -> dict[str, Any]:
    """Intervals and verdict of Prop. 1 from the estimates and their standard errors."""
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    b = bound(eta2, m2)
    slack = b - a
    widen = eta2_error * max(0.0, 1.0 - m2)
    slack_ci = (slack - z * se_slack - widen, slack + z * se_slack + widen)
    # Claim: E[u.v] - bound <= 0.
    verdict = verdict_upper_bound(-slack_ci[1], -slack_ci[0], 0.0)
    return {
        "alignment": {"value": a, "ci": [a - z * se_a, a + z * se_a], "stderr": se_a},
        "m2": {"value": m2, "ci": [m2 - z * se_m2, m2 + z * se_m2], "stderr": se_m2},
        "bound": b,
        "slack": {"value": slack, "ci": list(slack_ci), "stderr": se_slack},
        "verdict": verdict,
        "method": "monte-carlo",
        "n": int(n),
        "seed_entropy": seed if not isinstance(seed, int) or seed < 2**53 else str(seed),
    }


class _PairMoments:
    """Running moments of positive pairs ``(u_i, v_i)``, fed block by block, from which
    :func:`prop1_from_pairs`' estimates and standard errors follow without keeping the pairs.

    With ``a_i = u_i.v_i`` and ``w_i = (u_i + v_i)/2`` it keeps ``sum a``, ``sum a^2``,
    ``sum w``, ``sum |w|^2``, ``sum w w^T`` and ``sum a w`` (shifted by the first block's means
    against cancellation). The Hoeffding projection of the ``||m||^2`` U-statistic is
    ``2 (w_i.m_bar - m2)``, so its variance is ``4 m_bar^T Cov(w) m_bar`` and its covariance with
    ``a_i`` is ``2 m_bar^T Cov(w, a)``: the same sample variances as the two-pass formulas.
    """

    def __init__(self) -> None:
        self.n = 0
        self.shift_a = 0.0
        self.shift_w: np.ndarray | None = None
        self.sums: dict[str, Any] = {}

    def add(self, u: np.ndarray, v: np.ndarray) -> None:
        a = np.einsum("ij,ij->i", u, v)
        w = 0.5 * (u + v)
        if self.shift_w is None:
            self.shift_a, self.shift_w = float(a.mean()), w.mean(axis=0)
            d = w.shape[1]
            self.sums = {
                "a": 0.0, "aa": 0.0, "ww_trace": 0.0, "w_raw": np.zeros(d),
                "x": np.zeros(d), "xx": np.zeros((d, d)), "xy": np.zeros(d),
            }  # fmt: skip
        x = w - self.shift_w
        y = a - self.shift_a
        s = self.sums
        s["a"] += float(y.sum())
        s["aa"] += float(y @ y)
        s["ww_trace"] += float(np.einsum("ij,ij->", w, w))
        s["w_raw"] += w.sum(axis=0)
        s["x"] += x.sum(axis=0)
        s["xx"] += x.T @ x
        s["xy"] += y @ x
        self.n += len(a)

    def estimates(self, eta2: float) -> tuple[float, float, float, float, float]:
        """``(E[u.v], ||m||^2, se_a, se_m2, se_slack)`` as :func:`prop1_from_pairs` gives them."""
        n, s = self.n, self.sums
        a = self.shift_a + s["a"] / n
        m_raw = s["w_raw"]
        m2 = float((m_raw @ m_raw - s["ww_trace"]) / (n * (n - 1)))
        m_bar = m_raw / n
        mean_x, mean_y = s["x"] / n, s["a"] / n
        cov_ww = (s["xx"] - n * np.outer(mean_x, mean_x)) / (n - 1)
        var_a = (s["aa"] - n * mean_y**2) / (n - 1)
        cov_wa = (s["xy"] - n * mean_x * mean_y) / (n - 1)
        var_m2 = 4.0 * float(m_bar @ cov_ww @ m_bar)
        cov_m2_a = 2.0 * float(m_bar @ cov_wa)
        c = 1.0 - eta2
        var_slack = c * c * var_m2 + var_a - 2.0 * c * cov_m2_a
        root_n = math.sqrt(n)
        return (
            a,
            m2,
            math.sqrt(max(var_a, 0.0)) / root_n,
            math.sqrt(max(var_m2, 0.0)) / root_n,
            math.sqrt(max(var_slack, 0.0)) / root_n,
        )


#: Pairs drawn from one stream in :func:`prop1_monte_carlo`: the sample is drawn, encoded and
#: reduced this many pairs at a time, each block from its own spawned stream, so memory does not
#: grow with ``n`` and the numbers depend only on the seed and ``n``.
SAMPLE_BLOCK_ROWS = 1024


def prop1_monte_carlo(
    channel: Any,
    family: str,
    eta2: float,
    *,
    d: int = 16,
    n: int = 20_000,
    eta2_error: float = 0.0,
    confidence: float = 0.95,
    rng: RNGLike = None,
) -> dict[str, Any]:
    """Prop. 1 for a channel object of :mod:`simulator.hgr.channels` and a random encoder.

    The encoder weights and the sample use independent streams spawned from ``rng``. Symbol
    indices of discrete channels are fed to the encoder as numbers. The sample is drawn in
    blocks of :data:`SAMPLE_BLOCK_ROWS` pairs, each from its own stream spawned from the
    sample's, and reduced to running moments (:class:`_PairMoments`): memory is one block plus
    ``d x d`` sums instead of the ``n x p`` sample, and the estimates and standard errors are
    those of :func:`prop1_from_pairs` on the same pairs.
    """
    n = check_int("n", n, low=2)
    eta2 = check_real("eta2", eta2, low=0.0, high=1.0)
    eta2_error = check_real("eta2_error", eta2_error, low=0.0)
    confidence = check_real(
        "confidence", confidence, low=0.0, high=1.0, low_open=True, high_open=True
    )
    gen = normalize_rng(rng)
    g_enc, g_data = gen.spawn(2)
    sizes = [min(SAMPLE_BLOCK_ROWS, n - start) for start in range(0, n, SAMPLE_BLOCK_ROWS)]
    moments, f = _PairMoments(), None
    for size, g_block in zip(sizes, g_data.spawn(len(sizes)), strict=True):
        _, x, y = channel.sample(size, rng=g_block)
        x = np.asarray(x, float).reshape(size, -1)
        y = np.asarray(y, float).reshape(size, -1)
        if f is None:
            p = x.shape[1]
            f = make_encoder(family, p, p if family == "identity" else d, rng=g_enc)
        u, v = normalise(f(x)), normalise(f(y))
        if not (np.all(np.isfinite(u)) and np.all(np.isfinite(v))):
            raise ValueError("u and v must be finite")
        moments.add(u, v)
    a, m2, se_a, se_m2, se_slack = moments.estimates(eta2)
    out = _prop1_result(
        n,
        a,
        m2,
        eta2,
        se_a=se_a,
        se_m2=se_m2,
        se_slack=se_slack,
        eta2_error=eta2_error,
        confidence=confidence,
        seed=seed_entropy(gen),
    )
    out["encoder"] = family
    return out


def isotropic_gaussian_alignment(d: int, r: float) -> float:
    """Exact ``E[u.v]`` for ``u = g/|g|``, ``v = h/|h|`` with ``(g, h)`` standard Gaussian in R^d,
    ``Cov(g, h) = r I``.

    ``E[u.v] = r (2/d) (Gamma((d+1)/2) / Gamma(d/2))^2 2F1(1/2, 1/2; d/2 + 1; r^2)``, from the
    Gaussian-ratio expansion ``E[g_1 h_1 / (|g| |h|)]``; it tends to ``r`` as ``d -> inf``. With
    a linear encoder of orthonormal rows on the Gaussian channel with isotropic Gaussian input,
    ``r = A^2 = eta2`` and ``m = 0``: the tight case of Prop. 1 as the dimension grows.
    """
    d = check_int("d", d, low=1)
    r = check_real("r", r, low=-1.0, high=1.0)
    log_ratio = special.gammaln((d + 1) / 2) - special.gammaln(d / 2)
    return float(
        r * (2.0 / d) * math.exp(2 * log_ratio) * special.hyp2f1(0.5, 0.5, d / 2 + 1, r * r)
    )
