"""Checks of Route 2 (Sec. 4.2, App. B): the KL identity Eq. 13, the polar decomposition Eq. 40
(Prop. 3), Corollary 2, and the Theorem 1 inequality chain Eq. 19 with its ``beta0`` schedule.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import mpmath
import sympy as sp

from proofs_check._util import mp_log_z, mp_mean_resultant, mp_phi_vmf
from proofs_check.core import Outcome, check, fmt_num


@check(
    "route2.kl-identity-eq13",
    "Eq. 13 (B = R^d), Eq. 12",
    "gamma = c exp(-lambda|z|^2) with c = (lambda/pi)^{d/2}; KL(rho||gamma) = -H(rho) + "
    "lambda E|Z|^2 + log(1/c): symbolic in d, lambda, s for rho = N(0, s^2 I_d); 30-digit "
    "quadrature for a Laplace product law",
    "symbolic",
)
def kl_identity(
    normaliser: Callable[[sp.Expr, sp.Expr], sp.Expr] = lambda d, lam: (lam / sp.pi) ** (d / 2),
) -> Outcome:
    x = sp.symbols("x", real=True)
    d, lam, s = sp.symbols("d lambda s", positive=True)
    bad = []
    mass_1d = sp.integrate(sp.exp(-lam * x**2), (x, -sp.oo, sp.oo))
    # Product structure: the d-dimensional mass is the d-th power of the 1-D one.
    if sp.simplify(sp.powsimp(normaliser(d, lam) * mass_1d**d, force=True) - 1) != 0:
        bad.append(f"c * int exp(-lambda|z|^2) = {sp.simplify(normaliser(d, lam) * mass_1d**d)}")
    c = normaliser(d, lam)
    phi_s = sp.exp(-(x**2) / (2 * s**2)) / sp.sqrt(2 * sp.pi * s**2)
    gamma_1 = sp.sqrt(lam / sp.pi) * sp.exp(-lam * x**2)
    kl_1d = sp.integrate(
        sp.expand(phi_s * sp.expand_log(sp.log(phi_s / gamma_1), force=True)), (x, -sp.oo, sp.oo)
    )
    kl = d * kl_1d  # KL of product measures adds
    entropy = d * sp.log(2 * sp.pi * sp.E * s**2) / 2
    rhs = -entropy + lam * d * s**2 - sp.log(c)
    res = sp.simplify(sp.expand_log(sp.expand(kl - rhs), force=True))
    if res != 0:
        bad.append(f"Gaussian rho: KL - RHS = {res}")
    with mpmath.workdps(30):
        b, lm = mpmath.mpf("0.7"), mpmath.mpf("1.3")
        c1 = mpmath.sqrt(lm / mpmath.pi)

        def lap(t):
            return mpmath.exp(-abs(t) / b) / (2 * b)

        kl_num = 2 * mpmath.quad(
            lambda t: lap(t) * (mpmath.log(lap(t)) - mpmath.log(c1) + lm * t * t), [0, mpmath.inf]
        )
        c_claim = float(normaliser(sp.Integer(1), sp.Float(str(lm), 30)))
        rhs_num = -(1 + mpmath.log(2 * b)) + lm * 2 * b * b - mpmath.log(c_claim)
        lap_err = abs(kl_num - rhs_num)
    if lap_err > 1e-14:
        bad.append(f"Laplace rho (d = 1): |KL - RHS| = {fmt_num(lap_err)}")
    if bad:
        return False, "; ".join(bad)
    return True, f"symbolic residual 0 (d, lambda, s free); Laplace |KL - RHS| = {fmt_num(lap_err)}"


@check(
    "route2.polar-eq40",
    "Prop. 3 (Eq. 40)",
    "KL(rho||gamma) = KL(mu||sigma) + int KL(kappa(.|u)||xi(.|u)) mu(du) on R^2 with a von "
    "Mises angular part and an angle-dependent Gamma radial part vs N(0, (2 lambda)^{-1} I): the "
    "2-D KL of the Cartesian densities equals the decomposition (20 digits); with kappa = xi "
    "the KL reduces to KL(mu||sigma) = kappa A_2 - log Z_2",
    "high-precision",
    slow=True,
)
def polar_eq40(radial_weight: float = 1.0) -> Outcome:
    with mpmath.workdps(20):
        conc, lam = mpmath.mpf(2), mpmath.mpf("0.8")
        two_pi = 2 * mpmath.pi
        i0 = mpmath.besseli(0, conc)

        def mu(th):  # density w.r.t. sigma (= dtheta / 2pi)
            return mpmath.exp(conc * mpmath.cos(th)) / i0

        def shape(th):
            return 2 + mpmath.cos(th)

        def kap(r, th):  # Gamma(shape(th), rate 1) radial density
            a = shape(th)
            return r ** (a - 1) * mpmath.exp(-r) / mpmath.gamma(a)

        def xi(r):  # radial law of N(0, (2 lambda)^{-1} I_2): Rayleigh
            return 2 * lam * r * mpmath.exp(-lam * r * r)

        def rho_cart(r, th, kernel):
            return mu(th) / two_pi * kernel(r, th) / r

        def gamma_cart(r):
            return lam / mpmath.pi * mpmath.exp(-lam * r * r)

        def joint_integrand(th, r, kernel=kap):
            p = rho_cart(r, th, kernel)
            return p * mpmath.log(p / gamma_cart(r)) * r

        def radial_kl(th):
            return mpmath.quad(
                lambda r: kap(r, th) * mpmath.log(kap(r, th) / xi(r)), [0, 2, 8, mpmath.inf]
            )

        def angular_mean(g, nodes):
            # Periodic analytic integrand: the trapezoidal rule converges geometrically.
            return mpmath.fsum(g(two_pi * j / nodes) for j in range(nodes)) / nodes

        def lhs_at(nodes, kernel=kap):
            return two_pi * angular_mean(
                lambda th: mpmath.quad(
                    lambda r: joint_integrand(th, r, kernel), [0, 2, 8, mpmath.inf]
                ),
                nodes,
            )

        lhs, lhs_coarse = lhs_at(40), lhs_at(30)
        lhs_xi = lhs_at(30, lambda r, _th: xi(r))
        kl_mu = angular_mean(lambda th: mu(th) * mpmath.log(mu(th)), 40)
        radial = angular_mean(lambda th: mu(th) * radial_kl(th), 40)
        rhs = kl_mu + radial_weight * radial
        err = abs(lhs - rhs)
        closed = conc * mp_mean_resultant(2, conc) - mp_log_z(2, conc)
        err_mu = abs(kl_mu - closed)
    err_xi = abs(lhs_xi - kl_mu)
    ok = (
        err < 1e-15
        and err_mu < 1e-15
        and err_xi < 1e-15
        and radial > 0
        and abs(lhs - lhs_coarse) < 1e-15
    )
    return ok, (
        f"LHS {mpmath.nstr(lhs, 12)}, KL(mu||sigma) {mpmath.nstr(kl_mu, 12)} + radial "
        f"{mpmath.nstr(radial, 12)}: |LHS - RHS| = {fmt_num(err)}; |KL(mu||sigma) - "
        f"(kappa A_2 - log Z_2)| = {fmt_num(err_mu)}; with kappa = xi |KL - KL(mu||sigma)| = "
        f"{fmt_num(err_xi)}; angular rule 30 vs 40 nodes differ by "
        f"{fmt_num(abs(lhs - lhs_coarse))}"
    )


@check(
    "route2.corollary2",
    "Corollary 2",
    "within Gaussians N(m, diag(v_1..v_d)), -H + lambda E|Z|^2 = sum_i [-(1/2)log(2 pi e v_i) + "
    "lambda(v_i + m_i^2)] has its unique stationary point at m = 0, v_i = (2 lambda)^{-1} and is "
    "convex there (symbolic)",
    "symbolic",
)
def corollary2(
    variance: Callable[[sp.Expr], sp.Expr] = lambda lam: 1 / (2 * lam),
) -> Outcome:
    v, m, lam = sp.symbols("v m lambda", positive=True)
    mr = sp.symbols("m_r", real=True)
    # The objective separates over coordinates, so one coordinate suffices.
    f = -sp.log(2 * sp.pi * sp.E * v) / 2 + lam * (v + mr**2)
    sol = sp.solve([sp.diff(f, v), sp.diff(f, mr)], [v, mr], dict=True)
    bad = []
    if len(sol) != 1:
        bad.append(f"stationary points {sol}")
    else:
        if sp.simplify(sol[0][v] - variance(lam)) != 0:
            bad.append(f"optimal variance {sol[0][v]}, claimed {variance(lam)}")
        if sol[0][mr] != 0:
            bad.append(f"optimal mean {sol[0][mr]}")
        hess = sp.hessian(f, (v, mr)).subs(sol[0])
        if not all(sp.simplify(e) > 0 for e in hess.eigenvals()):
            bad.append(f"Hessian eigenvalues {list(hess.eigenvals())}")
        if sp.simplify(sp.diff(f, v, 2) - 1 / (2 * v**2)) != 0:
            bad.append("objective not convex in v")
    del m
    if bad:
        return False, "; ".join(bad)
    return True, "unique stationary point v = 1/(2 lambda), m = 0; Hessian positive definite"


@check(
    "route2.theorem1-chain",
    "Theorem 1 (Eqs. 17-19), beta0 schedule",
    "Phi(mu) - Phi(sigma) >= 0, -alpha(Align(mu) - Align(sigma)) >= -alpha(1-eta2)|m|^2 - "
    "alpha delta (Prop. 1), beta KL >= beta C(d-1)|m|^2 (Lemma 1) sum to Eq. 19; its coefficient "
    "is >= 0 iff beta >= beta0 = alpha(1-eta2)/(C(d-1)) -> 0 (symbolic); the chain holds on vMF "
    "laws with Align(mu) at its Prop. 1 ceiling (mpmath)",
    "symbolic",
)
def theorem1_chain(
    beta0: Callable[..., sp.Expr] = lambda alpha, eta2, c, d: alpha * (1 - eta2) / (c * (d - 1)),
) -> Outcome:
    alpha, beta, c, d, m2, delta = sp.symbols("alpha beta C d m2 delta", positive=True)
    eta2 = sp.symbols("eta2", positive=True)
    phi_gap = sp.Integer(0)  # lower bound of Phi(mu) - Phi(sigma) (Lemma 2)
    align_gap = -alpha * (eta2 + (1 - eta2) * m2) + alpha * (eta2 - delta)
    kl_gap = beta * c * (d - 1) * m2
    eq19 = (-alpha * (1 - eta2) + beta * c * (d - 1)) * m2 - alpha * delta
    bad = []
    if sp.expand(phi_gap + align_gap + kl_gap - eq19) != 0:
        bad.append(f"sum of bounds - Eq. 19 = {sp.expand(phi_gap + align_gap + kl_gap - eq19)}")
    coef = sp.expand(eq19.coeff(m2))
    root = sp.solve(sp.Eq(coef, 0), beta)
    if len(root) != 1 or sp.simplify(root[0] - beta0(alpha, eta2, c, d)) != 0:
        bad.append(f"coefficient vanishes at beta = {root}, claimed {beta0(alpha, eta2, c, d)}")
    if sp.limit(beta0(alpha, eta2, c, d), d, sp.oo) != 0:
        bad.append("beta0 does not tend to 0")
    worst = math.inf
    with mpmath.workdps(20):
        for dd in (4, 16, 64):
            for av, e2 in ((2.0, 0.3), (5.0, 0.8)):
                a_, e_ = mpmath.mpf(av), mpmath.mpf(e2)
                b_ = float(beta0(sp.Float(av), sp.Float(e2), sp.Rational(1, 2), sp.Integer(dd)))
                for kv in (0.5, 3.0, 20.0):
                    kappa = mpmath.mpf(kv)
                    big_a = mp_mean_resultant(dd, kappa)
                    phi_gap_v = mp_phi_vmf(dd, kappa, a_) - mp_log_z(dd, a_)
                    kl = kappa * big_a - mp_log_z(dd, kappa)
                    # J~(mu) - J~(sigma) with Align(mu) at its ceiling, Align(sigma) = eta2.
                    lhs = phi_gap_v - a_ * (1 - e_) * big_a**2 + b_ * kl
                    rhs = (-a_ * (1 - e_) + b_ * (dd - 1) / 2) * big_a**2
                    worst = min(worst, float(lhs - rhs))
    if worst < 0:
        bad.append(f"chain fails on a vMF law: min(LHS - RHS) = {fmt_num(worst)}")
    if bad:
        return False, "; ".join(bad)
    return True, (
        "Eq. 19 residual 0; coefficient root beta0 matches, -> 0 as d -> oo; on 54 vMF cases at "
        f"beta = beta0 (C = 1/2) min(LHS - RHS) = {fmt_num(worst)} >= 0"
    )
