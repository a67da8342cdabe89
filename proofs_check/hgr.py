"""Checks of the HGR maximal-correlation ground truths (Sec. 3.1, App. A; theory.md section 4).

The HGR correlation of a pair is the second largest singular value of its conditional-expectation
operator (Rényi 1959). For a finite alphabet that operator is the matrix
``D_X^{-1/2} P_XY D_Y^{-1/2}``; for the Gaussian channel the Hermite polynomials diagonalise it
(Mehler's formula).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import mpmath
import numpy as np
import sympy as sp

from proofs_check.core import Outcome, check, fmt_num


def discrete_hgr(joint: np.ndarray) -> float:
    """HGR correlation of a finite joint law: second singular value of ``D_X^-1/2 P D_Y^-1/2``."""
    p = np.asarray(joint, dtype=float)
    px, py = p.sum(axis=1), p.sum(axis=0)
    q = p / np.sqrt(np.outer(px, py))
    sv = np.linalg.svd(q, compute_uv=False)
    return float(sv[1]) if sv.size > 1 else 0.0


def random_channel(gen: np.random.Generator, n_in: int, n_out: int) -> np.ndarray:
    """Row-stochastic ``n_in x n_out`` matrix with Dirichlet(1/2) rows (varied, often sparse)."""
    return gen.dirichlet(np.full(n_out, 0.5), size=n_in)


@check(
    "hgr.gaussian-mehler",
    "App. A.2 (Eq. 24), [known] Mehler/Hermite expansion",
    "for X = A X0 + sqrt(1-A^2) eps: E[He_n(X) | X0] = A^n He_n(X0) (n = 0..8, A symbolic), so "
    "the Hermite polynomials are the singular functions, rho_m = sup_{n>=1} |A|^n = |A|; Mehler's "
    "series sum A^n He_n(x) He_n(y)/n! equals the bivariate normal density ratio (30 digits)",
    "symbolic",
)
def gaussian_mehler(eigenvalue: Callable[[sp.Expr, int], sp.Expr] = lambda a, n: a**n) -> Outcome:
    a, x0, eps = sp.symbols("A x0 epsilon", real=True)
    bad = []
    for n in range(9):
        poly = sp.Poly(sp.expand(sp.hermite_prob(n, a * x0 + sp.sqrt(1 - a**2) * eps)), eps)
        # E eps^j = (j-1)!! for even j, 0 for odd j (standard normal moments).
        cond = sum(c * (sp.factorial2(j - 1) if j % 2 == 0 else 0) for (j,), c in poly.terms())
        if sp.expand(cond - eigenvalue(a, n) * sp.hermite_prob(n, x0)) != 0:
            bad.append(f"n={n}: E[He_n(X)|X0] = {sp.factor(cond)}")
    max_err = mpmath.mpf(0)
    with mpmath.workdps(30):
        for av, xv, yv in ((0.6, 0.3, -1.1), (-0.8, 1.7, 0.9), (0.2, -2.0, 2.5)):
            av, xv, yv = mpmath.mpf(av), mpmath.mpf(xv), mpmath.mpf(yv)
            series = mpmath.nsum(
                lambda n, av=av, xv=xv, yv=yv: (
                    eigenvalue(av, int(n))
                    * mpmath.hermite(n, xv / mpmath.sqrt(2))
                    * mpmath.hermite(n, yv / mpmath.sqrt(2))
                    / (2**n * mpmath.factorial(n))
                ),
                [0, mpmath.inf],
            )
            # He_n(x) = 2^{-n/2} H_n(x/sqrt 2); the ratio p(x, y) / (phi(x) phi(y)):
            ratio = mpmath.exp(
                -(av**2 * (xv**2 + yv**2) - 2 * av * xv * yv) / (2 * (1 - av**2))
            ) / mpmath.sqrt(1 - av**2)
            max_err = max(max_err, abs(series - ratio) / ratio)
    if max_err > 1e-20:
        bad.append(f"Mehler series vs density ratio: relerr {fmt_num(max_err)}")
    from simulator.hgr.channels import GaussianChannel, input_law
    from simulator.hgr.mildness import channel_hgr

    sim = channel_hgr(GaussianChannel(-0.6, input_law("gaussian")), method="numeric")
    sim_err = abs(sim["rho_m"] - abs(float(eigenvalue(sp.Float(-0.6), 1))))
    if sim_err > max(1e-8, 10 * sim["error"]):
        bad.append(f"simulator numeric rho_m(A=-0.6) = {sim['rho_m']:.12f}")
    if bad:
        return False, "; ".join(bad)
    return True, (
        "E[He_n(X)|X0] - A^n He_n(X0) = 0 for n = 0..8; Mehler series max relerr "
        f"{fmt_num(max_err)} at 3 points (30 digits); simulator.hgr.channels numeric rho_m at "
        f"A = -0.6 off by {fmt_num(sim_err)}"
    )


@check(
    "hgr.bsc-qary",
    "classical: BSC |1-2p|, q-ary |1 - q eps/(q-1)|",
    "with uniform input, D_X^-1/2 P D_Y^-1/2 has eigenvalues {1, 1-2p} (BSC) and "
    "{1, 1 - q eps/(q-1) (q-1 times)} (q-ary symmetric, q = 2..6), symbolic in p, eps",
    "symbolic",
)
def bsc_qary(
    bsc: Callable[[sp.Expr], sp.Expr] = lambda p: 1 - 2 * p,
    qary: Callable[[sp.Expr, int], sp.Expr] = lambda e, q: 1 - q * e / (q - 1),
) -> Outcome:
    p, e = sp.symbols("p epsilon", positive=True)
    bad = []
    joint = sp.Matrix([[1 - p, p], [p, 1 - p]]) / 2
    q_mat = sp.diag(*[sp.sqrt(2)] * 2) * joint * sp.diag(*[sp.sqrt(2)] * 2)
    eig = q_mat.eigenvals()
    if set(sp.simplify(v) for v in eig) != {sp.Integer(1), sp.expand(bsc(p))}:
        bad.append(f"BSC eigenvalues {list(eig)}")
    for q in range(2, 7):
        w = sp.Matrix(q, q, lambda i, j, q=q: 1 - e if i == j else e / (q - 1))
        # Uniform input and output: D^{-1/2} (W/q) D^{-1/2} = W.
        eig = w.eigenvals()
        want = {sp.Integer(1): 1, sp.simplify(qary(e, q)): q - 1}
        got = {sp.simplify(k): v for k, v in eig.items()}
        if got != want:
            bad.append(f"q={q}: eigenvalues {got}")
    from simulator.hgr.estimators import hgr_discrete

    sim_err = 0.0
    for pv in (0.05, 0.3, 0.5, 0.9):
        joint = np.array([[1 - pv, pv], [pv, 1 - pv]]) / 2
        sim_err = max(sim_err, abs(hgr_discrete(joint).value - abs(float(bsc(sp.Float(pv))))))
        for q in (3, 5):
            w = np.full((q, q), pv / (q - 1))
            np.fill_diagonal(w, 1 - pv)
            claim = abs(float(qary(sp.Float(pv), q)))
            sim_err = max(sim_err, abs(hgr_discrete(w / q).value - claim))
    if sim_err > 1e-12:
        bad.append(
            f"simulator.hgr.estimators.hgr_discrete differs from the closed forms by {sim_err:.2e}"
        )
    if bad:
        return False, "; ".join(bad)
    return True, (
        "characteristic roots match the claimed closed forms exactly (p, eps symbolic); "
        "simulator.hgr.estimators.hgr_discrete at 12 numeric channels: "
        f"max error {fmt_num(sim_err)}"
    )


@check(
    "hgr.multiplicative-dpi",
    "Eq. 23 (multiplicative DPI); Eq. 5 (two views: rho_m(X,Y) <= eta2)",
    "BSC(p1) then BSC(p2) is BSC with 1-2p = (1-2p1)(1-2p2) (symbolic; equality case); on 300 "
    "random discrete chains X-Y-Z, rho_m(X,Z) <= rho_m(X,Y) rho_m(Y,Z), and for two views "
    "X, Y of X0, rho_m(X,Y) <= rho_m(X,X0)^2 (exact SVD)",
    "symbolic",
)
def multiplicative_dpi(
    combine: Callable[[float, float], float] = lambda r1, r2: r1 * r2, seed: int = 5
) -> Outcome:
    p1, p2 = sp.symbols("p1 p2", positive=True)
    composed = sp.Matrix([[1 - p1, p1], [p1, 1 - p1]]) * sp.Matrix([[1 - p2, p2], [p2, 1 - p2]])
    p12 = composed[0, 1]
    if sp.expand((1 - 2 * p12) - (1 - 2 * p1) * (1 - 2 * p2)) != 0:
        return False, f"BSC composition flips with p = {p12}"
    gen = np.random.default_rng(seed)
    from simulator.hgr.estimators import hgr_discrete

    worst, worst_views, sim_diff = -math.inf, -math.inf, 0.0
    for _ in range(300):
        nx, ny, nz = gen.integers(2, 7, size=3)
        px = gen.dirichlet(np.ones(nx))
        w1, w2 = random_channel(gen, nx, ny), random_channel(gen, ny, nz)
        pxy = px[:, None] * w1
        pyz = pxy.sum(axis=0)[:, None] * w2
        pxz = pxy @ w2
        lhs = discrete_hgr(pxz)
        sim_diff = max(sim_diff, abs(lhs - hgr_discrete(pxz).value))
        rhs = combine(discrete_hgr(pxy), discrete_hgr(pyz))
        worst = max(worst, lhs - rhs)
        # Two views X, Y drawn independently through the same channel from X0 (Eq. 5).
        n0, nv = gen.integers(2, 7, size=2)
        p0 = gen.dirichlet(np.ones(n0))
        w = random_channel(gen, n0, nv)
        joint_views = (p0[:, None] * w).T @ w
        eta = discrete_hgr(p0[:, None] * w)
        worst_views = max(worst_views, discrete_hgr(joint_views) - combine(eta, eta))
    ok = worst <= 1e-12 and worst_views <= 1e-12 and sim_diff <= 1e-12
    return ok, (
        "BSC chain: (1-2p) multiplies exactly; max [rho(X,Z) - bound] = "
        f"{fmt_num(worst)}, max [rho(X,Y) - eta2] = {fmt_num(worst_views)} over 300 chains; "
        f"simulator.hgr.estimators.hgr_discrete agrees to {fmt_num(sim_diff)}"
    )


@check(
    "hgr.tensorisation-dks",
    "classical: tensorisation (Witsenhausen 1975), Dembo-Kagan-Shepp 2001",
    "for independent pairs rho_m((X1,X2),(Y1,Y2)) = max_i rho_m(X_i,Y_i) (Kronecker product of "
    "the normalised joints, 200 random pairs); partial sums of iid Bernoulli terms have "
    "rho_m(S_m, S_n) = sqrt(m/n) exactly (exact joint + SVD), as does simulator.hgr.channels",
    "symbolic",
)
def tensorisation_dks(
    combine: Callable[[float, float], float] = max,
    dks: Callable[[int, int], float] = lambda m, n: math.sqrt(m / n),
    seed: int = 17,
) -> Outcome:
    from scipy import stats

    from simulator.hgr.channels import PartialSums
    from simulator.hgr.mildness import channel_hgr

    gen = np.random.default_rng(seed)
    worst_t = 0.0
    for _ in range(200):
        a1, b1, a2, b2 = (int(v) for v in gen.integers(2, 5, size=4))
        p1 = gen.dirichlet(np.ones(a1 * b1)).reshape(a1, b1)
        p2 = gen.dirichlet(np.ones(a2 * b2)).reshape(a2, b2)
        joint = np.kron(p1, p2)
        worst_t = max(
            worst_t, abs(discrete_hgr(joint) - combine(discrete_hgr(p1), discrete_hgr(p2)))
        )
    worst_d = 0.0
    for m, n, p in ((1, 2, 0.3), (3, 8, 0.5), (5, 12, 0.1), (7, 9, 0.8)):
        a = stats.binom(m, p).pmf(np.arange(m + 1))
        b = stats.binom(n - m, p).pmf(np.arange(n - m + 1))
        joint = np.zeros((m + 1, n + 1))
        for i in range(m + 1):
            joint[i, i : i + n - m + 1] = a[i] * b
        worst_d = max(worst_d, abs(discrete_hgr(joint) - dks(m, n)))
        sim = channel_hgr(PartialSums(m, n, "bernoulli", p), method="exact")["rho_m"]
        worst_d = max(worst_d, abs(sim - dks(m, n)))
    ok = worst_t <= 1e-12 and worst_d <= 1e-12
    return ok, (
        f"tensorisation: max |rho - max_i rho_i| = {fmt_num(worst_t)} (200 pairs); "
        f"DKS: max |rho_m(S_m,S_n) - sqrt(m/n)| = {fmt_num(worst_d)} (4 cases, ours and simulator)"
    )


def _gegenbauer(n: int, nu: mpmath.mpf, t: mpmath.mpf) -> mpmath.mpf:
    """Gegenbauer polynomial ``C_n^nu(t)`` by its three-term recurrence (nu > 0)."""
    prev, cur = mpmath.mpf(1), 2 * nu * t
    if n == 0:
        return prev
    for j in range(2, n + 1):
        prev, cur = cur, (2 * t * (j + nu - 1) * cur - (j + 2 * nu - 2) * prev) / j
    return cur


@check(
    "hgr.vmf-funk-hecke",
    "classical: Funk-Hecke; tight case of Prop. 1 (Eq. 6)",
    "for u ~ sigma, v|u ~ vMF(u, kappa), degree-l harmonics are singular functions with "
    "eigenvalue E[C_l^nu(t)/C_l^nu(1)] = I_{l+nu}(kappa)/I_nu(kappa), nu = d/2-1 (quadrature, "
    "20 digits, l = 1..4), decreasing in l, so rho_m(u, v) = A_d(kappa) = E[u.v]",
    "high-precision",
)
def vmf_funk_hecke(
    eigenvalue: Callable[[int, int, mpmath.mpf], mpmath.mpf] = lambda d, deg, k: (
        mpmath.besseli(deg + mpmath.mpf(d) / 2 - 1, k) / mpmath.besseli(mpmath.mpf(d) / 2 - 1, k)
    ),
) -> Outcome:
    from proofs_check._util import mp_cosine_average

    worst, monotone = mpmath.mpf(0), True
    with mpmath.workdps(30):
        for d in (3, 5, 10):
            nu = mpmath.mpf(d) / 2 - 1
            for kv in (0.5, 3.0, 10.0):
                kappa = mpmath.mpf(kv)
                prev = mpmath.mpf(1)
                for deg in range(1, 5):
                    quad = mp_cosine_average(
                        d,
                        lambda t, deg=deg, nu=nu: _gegenbauer(deg, nu, t) / _gegenbauer(deg, nu, 1),
                        kappa,
                    )
                    worst = max(worst, abs(eigenvalue(d, deg, kappa) / quad - 1))
                    monotone &= bool(quad < prev)
                    prev = quad
    ok = worst < 1e-20 and monotone
    return ok, (
        f"max relerr of the Bessel-ratio eigenvalues vs quadrature {fmt_num(worst)} "
        f"(36 cases); strictly decreasing in l: {monotone}"
    )


def _laplace_tilt(c: mpmath.mpf, x: mpmath.mpf, a: mpmath.mpf, tau: mpmath.mpf) -> mpmath.mpf:
    """``2 a N_c(x)`` with ``N_c(x) = int e^{c t} e^{-|t|}/2 phi_sigma(x - a t) dt`` in closed
    form (``|c| < 1``, ``tau = sigma / a``): completing the square on each half-line.

    ``N_0`` is the density of ``X = a X0 + sigma Z`` and ``N_c / N_0 = E[e^{c X0} | X]``.
    """
    right = mpmath.exp(-(1 - c) * x / a + (1 - c) ** 2 * tau**2 / 2) * mpmath.ncdf(
        (x / a - (1 - c) * tau**2) / tau
    )
    left = mpmath.exp((1 + c) * x / a + (1 + c) ** 2 * tau**2 / 2) * mpmath.ncdf(
        (-x / a - (1 + c) * tau**2) / tau
    )
    return right + left


def laplace_exp_correlation(a: float, c: mpmath.mpf) -> mpmath.mpf:
    """``corr(e^{c X0}, E[e^{c X0} | X])`` for ``X0 ~ Laplace(0, 1)``, ``X = a X0 + sqrt(1-a^2) Z``.

    It equals ``sqrt(Var E[f | X] / Var f)`` for ``f = e^{c X0}``, the Rayleigh quotient of
    ``T* T`` at the centred ``f``, hence a lower bound on ``rho_m(X, X0)`` (Eq. 21). The moments are
    exact (``E e^{s X0} = 1/(1 - s^2)``); ``E[(E[f | X])^2] = int N_c^2 / N_0`` is one quadrature of
    a closed-form integrand, split at scales up to ``a / (1 - 2c)``, where its tail decays.
    """
    a = mpmath.mpf(a)
    tau = mpmath.sqrt(1 - a * a) / a
    var_f = 1 / (1 - 4 * c * c) - 1 / (1 - c * c) ** 2
    scale = a / (1 - 2 * c)
    cuts = [mpmath.mpf(0)]
    while cuts[-1] < 60 * scale:
        cuts.append(max(mpmath.mpf(8), 4 * cuts[-1]))
    cuts.append(mpmath.inf)

    def integrand(x: mpmath.mpf) -> mpmath.mpf:
        return _laplace_tilt(c, x, a, tau) ** 2 / _laplace_tilt(mpmath.mpf(0), x, a, tau) / (2 * a)

    # The integrand at -x is that of -c at x; both halves are written on [0, inf).
    pos = mpmath.quad(integrand, cuts)
    neg = mpmath.quad(
        lambda x: (
            _laplace_tilt(-c, x, a, tau) ** 2 / _laplace_tilt(mpmath.mpf(0), x, a, tau) / (2 * a)
        ),
        [0, 8, 64, mpmath.inf],
    )
    mean_f = 1 / (1 - c * c)
    return mpmath.sqrt((pos + neg - mean_f**2) / var_f)


@check(
    "hgr.laplace-edge",
    "Laplace input (essential-spectrum edge); Eq. 21; App. E.1 input",
    "for X0 ~ Laplace(0,1), X = A X0 + sqrt(1-A^2) Z: the closed form of E[e^{c X0} | X] matches "
    "quadrature; the correlation of e^{c X0} with E[e^{c X0} | X] (a lower bound on rho_m) tends "
    "to the edge exp(-(1-A^2)/(8A^2)) as c -> 1/2 (error O(1/2 - c), at 1/2 - c = 1e-2, 1e-3, "
    "1e-4; A = 0.3, 0.48, 0.6), so the edge is in rho_m "
    "and exp(-(1-A^2)/(4A^2)) is its square (eta2); the simulator's rho_m + error is at least "
    "every such bound",
    "high-precision",
    slow=True,
)
def laplace_edge(
    edge: Callable[[mpmath.mpf], mpmath.mpf] = lambda a: mpmath.exp(-(1 - a * a) / (8 * a * a)),
) -> Outcome:
    from simulator.hgr.channels import GaussianChannel, input_law
    from simulator.hgr.mildness import channel_hgr

    bad = []
    closed_err = mpmath.mpf(0)
    with mpmath.workdps(20):
        a = mpmath.mpf("0.6")
        sigma = mpmath.sqrt(1 - a * a)
        tau = sigma / a
        for cv, xv in ((0.3, 1.5), (-0.45, -2.0), (0.0, 0.7)):
            c, x = mpmath.mpf(cv), mpmath.mpf(xv)
            direct = mpmath.quad(
                lambda t, c=c, x=x: (
                    mpmath.exp(c * t - abs(t)) / 2 * mpmath.npdf(x - a * t, 0, sigma)
                ),
                [-mpmath.inf, *sorted((mpmath.mpf(0), x / a)), mpmath.inf],
            )
            closed = _laplace_tilt(c, x, a, tau) / (2 * a)
            closed_err = max(closed_err, abs(closed / direct - 1))
        if closed_err > 1e-15:
            bad.append(f"closed form of N_c vs quadrature: relerr {fmt_num(closed_err)}")
        gaps, below = {}, {}
        for av in (0.3, 0.48, 0.6):
            target = edge(mpmath.mpf(av))
            seq = [
                laplace_exp_correlation(av, mpmath.mpf(0.5) - mpmath.mpf(10) ** -k)
                for k in (2, 3, 4)
            ]
            gaps[av] = [abs(s - target) for s in seq]
            # O(1/2 - c) convergence: each tenfold step towards 1/2 shrinks the gap about tenfold.
            if not (
                gaps[av][-1] < 1e-3
                and all(g1 < 0.3 * g0 for g0, g1 in itertools.pairwise(gaps[av]))
            ):
                bad.append(f"A={av}: |corr - edge| = {[fmt_num(g) for g in gaps[av]]}")
            best = max(seq + [laplace_exp_correlation(av, mpmath.mpf(cv)) for cv in (0.1, 0.4)])
            sim = channel_hgr(GaussianChannel(av, input_law("laplace")), method="numeric")
            below[av] = float(best) - (sim["rho_m"] + sim["error"])
            if below[av] > 1e-12:
                bad.append(
                    f"A={av}: simulator rho_m {sim['rho_m']:.10f} + error below the bound "
                    f"{float(best):.10f}"
                )
    if bad:
        return False, "; ".join(bad)
    return True, (
        f"N_c closed form vs quadrature relerr {fmt_num(closed_err)}; |corr(e^(cX0), E[.|X]) - "
        "edge| at 1/2 - c = 1e-2..1e-4: "
        + ", ".join(f"A={av}: {fmt_num(g[0])} -> {fmt_num(g[-1])}" for av, g in gaps.items())
        + "; simulator rho_m + error - best bound >= "
        + fmt_num(-max(below.values()))
    )
