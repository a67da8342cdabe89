"""Checks of the sphere-marginal closed forms (theory.md section 4; Lemma 3, Eq. 48).

``U ~ sigma`` on S^{d-1}; ``U_{1..k}`` has density
``c_{d,k} (1 - ||x||^2)^{(d-k)/2 - 1}`` on the unit k-ball with
``c_{d,k} = Gamma(d/2) / (Gamma((d-k)/2) pi^{k/2})``. Symbolic checks keep ``d`` free by writing
``d = k + e`` with a positive symbol ``e`` (so every exponent is admissible).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import sympy as sp
from scipy import stats

from proofs_check._util import is_zero, residual_text
from proofs_check.core import Outcome, check, fmt_num

SymConst = Callable[[sp.Expr, sp.Expr], sp.Expr]


def paper_marginal_constant(d: sp.Expr, k: sp.Expr) -> sp.Expr:
    """``Gamma(d/2) / (Gamma((d-k)/2) pi^{k/2})`` (theory.md section 4)."""
    return sp.gamma(d / 2) / (sp.gamma((d - k) / 2) * sp.pi ** (k / 2))


def _sphere_area(k: sp.Expr) -> sp.Expr:
    """Surface area of S^{k-1}: ``2 pi^{k/2} / Gamma(k/2)``."""
    return 2 * sp.pi ** (k / 2) / sp.gamma(k / 2)


@check(
    "sphere.marginal-normalises",
    "sphere k-marginal density (classical)",
    "c_{d,k} (1-|x|^2)^{(d-k)/2-1} integrates to 1 over the unit k-ball: by direct integration "
    "for k = 1, 2, 3 with d symbolic, and for general k via the Beta integral",
    "symbolic",
)
def marginal_normalises(constant: SymConst = paper_marginal_constant) -> Outcome:
    r, e = sp.symbols("r e", positive=True)
    bad = []
    for k in (1, 2, 3):
        kk = sp.Integer(k)
        mass = _sphere_area(kk) * sp.integrate(
            r ** (k - 1) * (1 - r**2) ** (e / 2 - 1), (r, 0, 1), conds="none"
        )
        if not is_zero(constant(kk + e, kk) * mass - 1):
            bad.append(f"k={k}: {residual_text(constant(kk + e, kk) * mass - 1)}")
    kg = sp.symbols("k", positive=True)
    # Polar coordinates, s = r^2: mass = (area/2) c int s^{k/2-1} (1-s)^{e/2-1} ds = (area/2) c B.
    general = _sphere_area(kg) / 2 * constant(kg + e, kg) * sp.beta(kg / 2, e / 2) - 1
    general_ok = is_zero(sp.expand_func(general))
    if not general_ok:
        bad.append(f"general k: {residual_text(sp.expand_func(general))}")
    if bad:
        return False, "; ".join(bad)
    return True, "residual 0 for k = 1, 2, 3 (d = k + e, e > 0) and for symbolic k (Beta integral)"


@check(
    "sphere.beta-laws",
    "Beta laws of U_1 and |U_{1..k}|^2 (classical)",
    "(1+U_1)/2 ~ Beta((d-1)/2, (d-1)/2), U_1^2 ~ Beta(1/2, (d-1)/2) and "
    "|U_{1..k}|^2 ~ Beta(k/2, (d-k)/2), by change of variables from the marginal density",
    "symbolic",
)
def beta_laws(
    radial_b: Callable[[sp.Expr, sp.Expr], sp.Expr] = lambda d, k: (d - k) / 2,
) -> Outcome:
    x, e, k, s = sp.symbols("x e k s", positive=True)
    d1 = 1 + e
    c1 = paper_marginal_constant(d1, sp.Integer(1))
    f_u1 = c1 * (1 - x**2) ** ((d1 - 3) / 2)

    def beta_pdf(z: sp.Expr, a: sp.Expr, b: sp.Expr) -> sp.Expr:
        return z ** (a - 1) * (1 - z) ** (b - 1) / sp.beta(a, b)

    a1 = (d1 - 1) / 2
    # (1+U_1)/2 = t: U_1 = 2t - 1, Jacobian 2; t(1-t) = (1 - x^2)/4.
    t = (1 + x) / 2
    res1 = 2 * f_u1 / beta_pdf(t, a1, a1) - 1
    res1 = sp.expand_func(sp.powsimp(res1.subs(x, 2 * sp.Symbol("t", positive=True) - 1)))
    # U_1^2 = s: both signs of U_1 contribute, |dx/ds| = 1/(2 sqrt s).
    res2 = 2 * f_u1.subs(x, sp.sqrt(s)) / (2 * sp.sqrt(s)) / beta_pdf(s, sp.Rational(1, 2), a1) - 1
    dk = k + e
    f_rad = (
        _sphere_area(k)
        / 2
        * paper_marginal_constant(dk, k)
        * s ** (k / 2 - 1)
        * (1 - s) ** (e / 2 - 1)
    )
    res3 = f_rad / beta_pdf(s, k / 2, radial_b(dk, k)) - 1
    parts = {
        "(1+U_1)/2": res1,
        "U_1^2": res2,
        "|U_1..k|^2": sp.expand_func(res3),
    }
    bad = [f"{name}: {residual_text(res)}" for name, res in parts.items() if not is_zero(res)]
    if bad:
        return False, "density ratio - 1 not zero: " + "; ".join(bad)
    return True, "density ratio - 1 simplifies to 0 for all three laws (d, k symbolic)"


@check(
    "sphere.moments",
    "moments of U_1 (classical)",
    "E U_1^2 = 1/d, E U_1^4 = 3/(d(d+2)), excess kurtosis of sqrt(d) U_1 = -6/(d+2)",
    "symbolic",
)
def moments(
    second: SymConst = lambda d, _k: 1 / d,
    fourth: SymConst = lambda d, _k: 3 / (d * (d + 2)),
    kurtosis: SymConst = lambda d, _k: -6 / (d + 2),
) -> Outcome:
    s, e = sp.symbols("s e", positive=True)
    d = 1 + e
    # E U_1^{2j} = int_{-1}^{1} x^{2j} (1-x^2)^{(d-3)/2} dx / (same with j = 0); with s = x^2 both
    # halves give int_0^1 s^{j-1/2} (1-s)^{(d-3)/2} ds.
    w = s ** sp.Rational(-1, 2) * (1 - s) ** ((d - 3) / 2)
    norm = sp.integrate(w, (s, 0, 1), conds="none")
    m2 = sp.integrate(s * w, (s, 0, 1), conds="none") / norm
    m4 = sp.integrate(s**2 * w, (s, 0, 1), conds="none") / norm
    kurt = m4 / m2**2 - 3
    one = sp.Integer(1)
    parts = {
        "E U_1^2": m2 - second(d, one),
        "E U_1^4": m4 - fourth(d, one),
        "excess kurtosis": kurt - kurtosis(d, one),
    }
    bad = [f"{n}: {residual_text(r)}" for n, r in parts.items() if not is_zero(r)]
    if bad:
        return False, "moments from the density differ from the claim: " + "; ".join(bad)
    return True, "integrals of the U_1 density minus the claims: residual 0 (d symbolic)"


@check(
    "sphere.chi-square-sampler",
    "O(k) sampler U_1..k = G/sqrt(|G|^2+Q) (classical)",
    "for W ~ chi^2_k and Q ~ chi^2_{d-k} independent, W/(W+Q) ~ Beta(k/2, (d-k)/2) "
    "(change of variables (w, q) -> (b, t = w + q)); with G/|G| uniform and independent of |G|, "
    "this is the law of U_1..k",
    "symbolic",
)
def chi_square_sampler(b_param: SymConst = lambda d, k: (d - k) / 2) -> Outcome:
    t, b, bc, a, c = sp.symbols("t b bc a c", positive=True)

    def chi2_pdf(w: sp.Expr, shape: sp.Expr) -> sp.Expr:
        return w ** (shape - 1) * sp.exp(-w / 2) / (2**shape * sp.gamma(shape))

    # w = b t, q = (1 - b) t, Jacobian t; 1 - b is kept as the positive symbol bc until the end.
    f_b = sp.integrate(chi2_pdf(b * t, a) * chi2_pdf(bc * t, c) * t, (t, 0, sp.oo), conds="none")
    f_b = f_b.subs(bc, 1 - b)
    k, e = sp.symbols("k e", positive=True)
    # a = k/2, c = (d - k)/2 with d = k + e.
    f_b = f_b.subs({a: k / 2, c: e / 2})
    claimed_b = b_param(k + e, k)
    target = b ** (k / 2 - 1) * (1 - b) ** (claimed_b - 1) / sp.beta(k / 2, claimed_b)
    res = sp.expand_func(f_b / target) - 1
    if not is_zero(res):
        return False, f"law of W/(W+Q) vs claimed Beta: {residual_text(res)}"
    return True, "density of W/(W+Q) / Beta(k/2, (d-k)/2) pdf - 1: residual 0 (k, d symbolic)"


@check(
    "sphere.sampler-mc",
    "O(k) sampler vs Beta law (classical); simulator.sphere.sampling",
    "simulator.sphere.sampling.exact_marginal_sample draws |U_1..k|^2 ~ Beta(k/2, (d-k)/2) and "
    "E U_1^2 = 1/d; the inner product of two uniform points has the law of U_1",
    "monte-carlo cross-check",
)
def sampler_mc(n: int = 200_000, seed: int = 20260, alpha: float = 1e-3) -> Outcome:
    from simulator.sphere.sampling import exact_marginal_sample, uniform_sphere

    gen = np.random.default_rng(seed)
    streams = gen.spawn(4)
    # DKW: P(sup |F_n - F| > eps) <= 2 exp(-2 n eps^2); alpha is the per-test false-alarm rate.
    eps = math.sqrt(math.log(2 / alpha) / (2 * n))
    lines, ok = [], True
    for (d, k), g in zip([(5, 2), (50, 3), (1000, 1)], streams[:3], strict=True):
        u = exact_marginal_sample(n, d, k, rng=g)
        r2 = np.sum(u * u, axis=1)
        ks = stats.kstest(r2, stats.beta(k / 2, (d - k) / 2).cdf).statistic
        m2 = u[:, 0] ** 2
        z = (m2.mean() - 1 / d) / (m2.std(ddof=1) / math.sqrt(n))
        good = ks <= eps and abs(z) <= 4.0
        ok &= good
        lines.append(f"(d={d},k={k}) KS={fmt_num(ks)} z(E U_1^2)={fmt_num(z)}")
    d = 7
    pts = uniform_sphere(2 * 20_000, d, rng=streams[3])
    cos = np.sum(pts[::2] * pts[1::2], axis=1)
    eps_c = math.sqrt(math.log(2 / alpha) / (2 * cos.size))
    a = (d - 1) / 2
    ks_c = stats.kstest((1 + cos) / 2, stats.beta(a, a).cdf).statistic
    ok &= ks_c <= eps_c
    lines.append(f"u.v at d=7 KS={fmt_num(ks_c)} (DKW {fmt_num(eps_c)})")
    return ok, f"DKW bound {fmt_num(eps)} at level {alpha}, |z| <= 4: " + "; ".join(lines)


@check(
    "sphere.archimedes",
    "Archimedes (classical)",
    "k = d-2: the marginal density is the constant 1/vol(B_{d-2}) = Gamma(d/2)/pi^{(d-2)/2}",
    "symbolic",
)
def archimedes(constant: SymConst = paper_marginal_constant) -> Outcome:
    n = sp.symbols("n", positive=True)
    d = n + 2
    exponent = (d - n) / 2 - 1
    ball_volume = sp.pi ** (n / 2) / sp.gamma(n / 2 + 1)
    res = constant(d, n) * ball_volume - 1
    if sp.simplify(exponent) != 0:
        return False, f"exponent (d-k)/2 - 1 = {exponent} is not 0"
    if not is_zero(res):
        return False, f"c_{{d,d-2}} vol(B_{{d-2}}) - 1: {residual_text(res)}"
    return True, "exponent (d-k)/2-1 = 0 and c_{d,d-2} vol(B_{d-2}) - 1: residual 0 (d symbolic)"


@check(
    "sphere.gaussian-limit",
    "Lemma 3 (Eq. 48)",
    "the density of sqrt(d) U_1..k converges pointwise to the N(0, I_k) density as d -> oo",
    "symbolic",
)
def gaussian_limit(limit_exponent: float = -0.5) -> Outcome:
    d, s = sp.symbols("d s", positive=True)
    x, a = sp.symbols("x a", positive=True)
    # log[c_{d,k} d^{-k/2} (2 pi)^{k/2}] = logGamma(x) - logGamma(x+a) - a log x, x = d/2, a = -k/2.
    stirling = sp.series(sp.loggamma(x + a) - sp.loggamma(x) - a * sp.log(x), x, sp.oo, 2)
    const_limit = sp.limit(stirling.removeO(), x, sp.oo)
    bad = []
    if sp.simplify(const_limit) != 0:
        bad.append(f"log normalising ratio -> {const_limit}, not 0")
    for kk in (1, 2, 3, 4, 5):
        shape = sp.limit((1 - s / d) ** ((d - kk) / 2 - 1), d, sp.oo)
        if sp.simplify(shape - sp.exp(sp.nsimplify(limit_exponent) * s)) != 0:
            bad.append(f"k={kk}: (1 - s/d)^((d-k)/2-1) -> {shape}")
    if bad:
        return False, "; ".join(bad)
    return True, (
        "log[c_{d,k} d^{-k/2} (2pi)^{k/2}] = O(1/d) -> 0 (Stirling series, k symbolic) and "
        "(1 - s/d)^{(d-k)/2-1} -> exp(-s/2) (SymPy limit, k = 1..5)"
    )
