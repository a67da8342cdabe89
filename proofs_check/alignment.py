"""Checks of Prop. 1 (the alignment bound, Eq. 6): ``E[u.v] <= eta2 + (1 - eta2) ||m||^2``.

Proof steps (theory.md section 2.2): centring ``E[u.v] = ||m||^2 + E[(u-m).(v-m)]``; each
coordinate covariance is at most ``rho_m(X,Y) sqrt(Var u_k Var v_k) <= eta2 Var u_k`` (DPI, equal
marginals); Cauchy-Schwarz over coordinates; ``sum_k Var u_k = 1 - ||m||^2`` for unit vectors.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import sympy as sp

from proofs_check.core import Outcome, check, fmt_num
from proofs_check.hgr import discrete_hgr, random_channel


def paper_bound(eta2: float, m2: float) -> float:
    """Prop. 1 (Eq. 6): ``eta2 + (1 - eta2) ||m||^2``."""
    return eta2 + (1 - eta2) * m2


@check(
    "alignment.centring-identity",
    "Prop. 1 proof (App. A)",
    "E[u.v] = |m|^2 + E[(u-m).(v-m)] when E u = E v = m: symbolic for a generic exchangeable "
    "joint law on 3 points of R^2",
    "symbolic",
)
def centring_identity(extra: sp.Expr = sp.S.Zero) -> Outcome:
    pts = [sp.Matrix(sp.symbols(f"a{i}_1 a{i}_2", real=True)) for i in range(3)]
    p = sp.Matrix(3, 3, lambda i, j: sp.Symbol(f"p{min(i, j)}{max(i, j)}", positive=True))
    # Exchangeable (symmetric) joint, so both views share the marginal; total mass 1 is imposed
    # by solving for p22, which keeps every expression polynomial.
    p = p.subs(sp.Symbol("p22", positive=True), 1 - (sum(p) - p[2, 2]))
    m = sum((p[i, j] * pts[i] for i in range(3) for j in range(3)), sp.zeros(2, 1))
    e_uv = sum(p[i, j] * pts[i].dot(pts[j]) for i in range(3) for j in range(3))
    e_cent = sum(p[i, j] * (pts[i] - m).dot(pts[j] - m) for i in range(3) for j in range(3))
    res = sp.expand(e_uv - (m.dot(m) + extra + e_cent))
    if res != 0:
        return False, f"E[u.v] - |m|^2 - E[(u-m).(v-m)] = {sp.sstr(res)[:160]}"
    return True, "residual 0 (symmetric joint with 5 free symbolic weights, 6 symbolic coordinates)"


@check(
    "alignment.cauchy-schwarz-chain",
    "Prop. 1 (Eq. 6) proof chain",
    "Lagrange's identity (sum a^2)(sum b^2) - (sum ab)^2 = sum_{i<j}(a_i b_j - a_j b_i)^2 >= 0 "
    "(n = 4); sum_k Var u_k = 1 - |m|^2 for |u| = 1; and |m|^2 + eta2 (1 - |m|^2) equals the "
    "bound eta2 + (1 - eta2)|m|^2",
    "symbolic",
)
def cauchy_schwarz_chain(
    bound: Callable[[sp.Expr, sp.Expr], sp.Expr] = paper_bound,
) -> Outcome:
    a = sp.symbols("a1:5", real=True)
    b = sp.symbols("b1:5", real=True)
    lagrange = (
        sum(x**2 for x in a) * sum(y**2 for y in b)
        - sum(x * y for x, y in zip(a, b, strict=True)) ** 2
        - sum((a[i] * b[j] - a[j] * b[i]) ** 2 for i in range(4) for j in range(i + 1, 4))
    )
    bad = []
    if sp.expand(lagrange) != 0:
        bad.append("Lagrange identity fails")
    # Unit vectors on 3 support points of R^2 parametrised by angles: sum_k Var u_k = 1 - |m|^2.
    th = sp.symbols("t0:3", real=True)
    w = sp.symbols("w0:3", positive=True)
    tot = sum(w)
    us = [sp.Matrix([sp.cos(t), sp.sin(t)]) for t in th]
    m = sum((wi * u for wi, u in zip(w, us, strict=True)), sp.zeros(2, 1)) / tot
    var_sum = sum(wi * (u - m).dot(u - m) for wi, u in zip(w, us, strict=True)) / tot
    if sp.simplify(sp.trigsimp(sp.expand(var_sum - (1 - m.dot(m))))) != 0:
        bad.append("sum Var u_k != 1 - |m|^2")
    eta2, m2 = sp.symbols("eta2 m2", nonnegative=True)
    chain = m2 + eta2 * (1 - m2)
    if sp.expand(chain - bound(eta2, m2)) != 0:
        bad.append(f"|m|^2 + eta2(1-|m|^2) - bound = {sp.expand(chain - bound(eta2, m2))}")
    if bad:
        return False, "; ".join(bad)
    return True, "all three steps: residual 0"


@check(
    "alignment.prop1-exact-sums",
    "Prop. 1 (Eq. 6)",
    "on 400 random discrete channels X0 -> X, Y and random encoders to S^{d-1}, the exact finite "
    "sum E[u.v] is <= eta2 + (1-eta2)|m|^2 with eta2 = rho_m(X, X0)^2 from the SVD",
    "symbolic",
)
def prop1_exact_sums(
    bound: Callable[[float, float], float] = paper_bound, seed: int = 11
) -> Outcome:
    from simulator.hgr.alignment import prop1_exact_discrete

    gen = np.random.default_rng(seed)
    worst, tightest, sim_diff = -np.inf, np.inf, 0.0
    for _ in range(400):
        n0, nx = gen.integers(2, 8, size=2)
        d = int(gen.integers(2, 6))
        p0 = gen.dirichlet(np.ones(n0))
        w = random_channel(gen, n0, nx)
        eta2 = discrete_hgr(p0[:, None] * w) ** 2
        joint = (p0[:, None] * w).T @ w
        # Encoder: random unit vectors, offset by a random shift so that m(mu) != 0.
        f = gen.standard_normal((nx, d)) + gen.uniform(0, 3) * gen.standard_normal(d)
        f /= np.linalg.norm(f, axis=1, keepdims=True)
        px = joint.sum(axis=1)
        m = px @ f
        e_uv = float(np.sum(joint * (f @ f.T)))
        gap = e_uv - bound(eta2, float(m @ m))
        sim = prop1_exact_discrete(p0, w, f, eta2)
        sim_diff = max(sim_diff, abs(sim["alignment"] - e_uv), abs(sim["m2"] - float(m @ m)))
        worst = max(worst, gap)
        tightest = min(tightest, -gap)
    return worst <= 1e-12 and sim_diff <= 1e-12, (
        f"max [E u.v - bound] = {fmt_num(worst)} over 400 instances (<= 1e-12 needed; "
        f"tightest instance has slack {fmt_num(tightest)}, e.g. binary X where the bound is "
        f"attained); simulator.hgr.alignment.prop1_exact_discrete agrees to {fmt_num(sim_diff)}"
    )
