"""Checks of the rates of the spherical CLT: Theorem 2 (Diaconis-Freedman, Eq. 49) and the
leading-order asymptotics of TV, KL and Kolmogorov distance (theory.md section 4, [open]).

Leading order. With ``Y = sqrt(d) U_{1..k}``, ``s = ||y||^2`` and (simulator.sphere.laws docstring)
``l(s) = log(f_Y/phi_k)(s) = log C_{d,k} + m L(s/d) + (k+2) s/(2d)``, ``m = (d-k-2)/2``,
``L(x) = log(1-x) + x``, the Stirling series of ``log C_{d,k}`` and the Taylor series of ``L`` give
``l(s) = g_k(s)/d + O(d^{-2})``. Since ``TV = (1/2) E_Z|e^l - 1|`` and
``KL = E_Z[1 + (l-1) e^l] = E_Z[l^2/2 + l^3/3 + ...]`` with ``S = ||Z||^2 ~ chi^2_k``:

    d TV -> E|g_k(S)| / 2,      d^2 KL -> E[g_k(S)^2] / 2,

and for k = 1, ``d KS -> sup_x |int_{-inf}^x g_1(t^2) phi(t) dt|``. The derivation below is done
by SymPy from the formula for ``l`` alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

import mpmath
import sympy as sp

from proofs_check.core import Outcome, check, fmt_num

K_RANGE = (1, 2, 3, 4, 5)
_EPS = sp.Symbol("epsilon", positive=True)  # 1/d
_S = sp.Symbol("s", positive=True)


@lru_cache(maxsize=1)
def _stirling_ratio() -> sp.Expr:
    """``logGamma(x + a) - logGamma(x) - a log x`` to O(x^{-3}) (SymPy's asymptotic series)."""
    x, a = sp.symbols("x a")
    return (
        sp.series(sp.loggamma(x + a) - sp.loggamma(x) - a * sp.log(x), x, sp.oo, 3).removeO(),
        x,
        a,
    )


@lru_cache(maxsize=16)
def first_order_term(k: int) -> sp.Expr:
    """``g_k(s)`` with ``log(f_Y/phi_k)(s) = g_k(s)/d + O(1/d^2)``, derived by series in ``1/d``."""
    series, x, a = _stirling_ratio()
    # log C_{d,k} = logGamma(d/2) - logGamma(d/2 - k/2) - (k/2) log(d/2) = -series(x=d/2, a=-k/2).
    log_c = -series.subs(a, -sp.Rational(k, 2)).subs(x, 1 / (2 * _EPS))
    m = (1 / _EPS - k - 2) / 2
    big_l = sp.series(sp.log(1 - _S * _EPS) + _S * _EPS, _EPS, 0, 4).removeO()
    ell = log_c + m * big_l + sp.Rational(k + 2, 2) * _S * _EPS
    expansion = sp.series(ell, _EPS, 0, 2).removeO()
    if sp.simplify(expansion.coeff(_EPS, 0)) != 0:
        raise ArithmeticError(f"l(s) has a non-vanishing O(1) term {expansion.coeff(_EPS, 0)}")
    return sp.expand(expansion.coeff(_EPS, 1))


def _chi2_moment(k: int, n: int) -> sp.Expr:
    """``E S^n = 2^n Gamma(k/2 + n) / Gamma(k/2)`` for ``S ~ chi^2_k``."""
    return sp.gammasimp(2**n * sp.gamma(sp.Rational(k, 2) + n) / sp.gamma(sp.Rational(k, 2)))


def _chi2_expect(poly: sp.Expr, k: int) -> sp.Expr:
    p = sp.Poly(sp.expand(poly), _S)
    return sp.nsimplify(sum(c * _chi2_moment(k, mon[0]) for mon, c in p.terms()))


def _chi2_partial_expect(poly: sp.Expr, k: int, lo: sp.Expr, hi: sp.Expr) -> sp.Expr:
    """``E[poly(S); lo < S < hi]`` exactly, through lower incomplete Gamma functions:
    ``int_lo^hi s^n f_k(s) ds = 2^n (gamma(k/2+n, hi/2) - gamma(k/2+n, lo/2)) / Gamma(k/2)``."""
    p = sp.Poly(sp.expand(poly), _S)
    half = sp.Rational(k, 2)
    return sum(
        c
        * 2 ** mon[0]
        * (sp.lowergamma(half + mon[0], hi / 2) - sp.lowergamma(half + mon[0], lo / 2))
        / sp.gamma(half)
        for mon, c in p.terms()
    )


@lru_cache(maxsize=16)
def leading_constants(k: int) -> dict[str, object]:
    """Exact leading-order constants for ``k``: ``g_k``, its roots, ``lim d TV``, ``lim d^2 KL``.

    Returns a dict with SymPy expressions ``g``, ``roots``, ``tv`` (incomplete-Gamma form),
    ``kl`` (a rational number) and the 30-digit values ``tv_value``, ``kl_value``.
    """
    g = first_order_term(k)
    roots = sorted(sp.solve(g, _S), key=lambda r: float(r))
    # E g(S) = 0, so E|g| = 2 E[g; g > 0] and g > 0 exactly between its two roots.
    tv = _chi2_partial_expect(g, k, roots[0], roots[1])
    kl = sp.nsimplify(_chi2_expect(g**2, k) / 2)
    return {
        "g": g,
        "mean": _chi2_expect(g, k),
        "roots": roots,
        "tv": tv,
        "kl": kl,
        "tv_value": sp.N(tv, 30),
        "kl_value": sp.N(kl, 30),
    }


@check(
    "rates.leading-order-derivation",
    "Lemma 3; leading order of TV and KL (left open by the paper)",
    "l(s) = log(f_Y/phi_k) = g_k(s)/d + O(1/d^2) with g_k(s) = -((s-k-2)^2 - 2(k+2))/4, "
    "E g_k(S) = 0 (S ~ chi^2_k); hence TV ~ c_TV(k)/d and KL ~ k(k+2)/(4 d^2), k = 1..5",
    "symbolic",
)
def leading_order_derivation(
    g_claim: Callable[[sp.Expr, int], sp.Expr] = lambda s, k: -((s - k - 2) ** 2 - 2 * (k + 2)) / 4,
    kl_claim: Callable[[int], sp.Expr] = lambda k: sp.Rational(k * (k + 2), 4),
) -> Outcome:
    bad, rows = [], []
    for k in K_RANGE:
        c = leading_constants(k)
        if sp.expand(c["g"] - g_claim(_S, k)) != 0:
            bad.append(f"k={k}: derived g = {c['g']}")
        if c["mean"] != 0:
            bad.append(f"k={k}: E g(S) = {c['mean']} != 0")
        if sp.simplify(c["kl"] - kl_claim(k)) != 0:
            bad.append(f"k={k}: derived KL constant {c['kl']} vs claim {kl_claim(k)}")
        rows.append(f"k={k}: d*TV->{fmt_num(c['tv_value'], 8)}, d^2*KL->{c['kl']}")
    if bad:
        return False, "; ".join(bad)
    return True, "power d^-1 (TV), d^-2 (KL); " + "; ".join(rows)


@check(
    "rates.leading-order-vs-exact",
    "Lemma 3 (rate left open by the paper); simulator.sphere.laws.exact_distances",
    "d*TV and d^2*KL from the exact quadrature at d = 1e6, 1e7 match the derived constants "
    "to relative error <= 2(k+2)/d (the next order), and the error falls ~10x per decade of d",
    "high-precision",
)
def leading_order_vs_exact(
    tv_constants: dict[int, float] | None = None,
    kl_constants: dict[int, float] | None = None,
    ds: tuple[int, int] = (10**6, 10**7),
) -> Outcome:
    from simulator.sphere.laws import exact_distances

    bad, worst = [], 0.0
    for k in K_RANGE:
        c = leading_constants(k)
        targets = {
            "TV": (float(c["tv_value"]) if tv_constants is None else tv_constants[k], 1),
            "KL": (float(c["kl_value"]) if kl_constants is None else kl_constants[k], 2),
        }
        for name, (target, power) in targets.items():
            errs = []
            for d in ds:
                e = exact_distances(d, k)
                value = (e.tv if name == "TV" else e.kl) * float(d) ** power
                errs.append(abs(value - target) / target)
            scaled = [err * d for err, d in zip(errs, ds, strict=True)]
            worst = max(worst, *scaled)
            ratio = errs[0] / errs[1] if errs[1] > 0 else math.inf
            if max(scaled) > 2 * (k + 2) or not 5 <= ratio <= 20:
                bad.append(
                    f"k={k} {name}: d*relerr = {fmt_num(scaled[0])}, {fmt_num(scaled[1])} "
                    f"(bound {2 * (k + 2)}), decade ratio {fmt_num(ratio)}"
                )
    if bad:
        return False, "; ".join(bad)
    return True, f"max d*relerr over k=1..5, TV and KL = {fmt_num(worst)} (bound 2(k+2) >= 6)"


@check(
    "rates.kolmogorov-k1",
    "classical: Kolmogorov distance O(1/d) for k = 1",
    "F_Y(x) - Phi(x) = He_3(x) phi(x)/(4d) + O(1/d^2), so d*KS -> sup|He_3 phi|/4 "
    "(attained at x^2 = 3 - sqrt 6), checked against simulator.sphere.laws at d = 1e6",
    "symbolic",
)
def kolmogorov_k1(ks_constant: float | None = None, d: int = 10**6) -> Outcome:
    from simulator.sphere.laws import exact_distances

    t, x = sp.symbols("t x", real=True)
    g = first_order_term(1).subs(_S, t**2)
    phi = sp.exp(-(t**2) / 2) / sp.sqrt(2 * sp.pi)
    cdf_diff = sp.integrate(g * phi, (t, -sp.oo, x))
    he3 = x**3 - 3 * x
    if sp.simplify(cdf_diff - he3 * phi.subs(t, x) / 4) != 0:
        return False, f"int g phi = {cdf_diff}, not He_3 phi / 4"
    # Extrema where the derivative g(x^2) phi(x) vanishes.
    crit = [r for r in sp.solve(g.subs(t, x), x) if r.is_real]
    const = max(abs(sp.N(cdf_diff.subs(x, r), 30)) for r in crit)
    target = float(const) if ks_constant is None else ks_constant
    measured = exact_distances(d, 1).ks * d
    rel = abs(measured - target) / target
    ok = rel * d <= 6
    return ok, (
        f"d*KS -> {fmt_num(const, 10)}; exact at d={d}: {fmt_num(measured, 10)}, "
        f"relerr*d = {fmt_num(rel * d)} (bound 6)"
    )


def _mp_exact_tv(d: int, k: int) -> mpmath.mpf:
    """Exact TV of ``sqrt(d) U_{1..k}`` to ``N(0, I_k)`` from incomplete Beta/Gamma functions.

    Independent of :mod:`simulator.sphere.laws`: with ``A = {s1 < ||y||^2 < s2}`` the set where the
    density ratio exceeds 1 (``s1 < k + 2 < s2``, its unique peak), ``TV = P_Y(A) - P_Z(A)``,
    ``||Y||^2 / d ~ Beta(k/2, (d-k)/2)`` and ``||Z||^2 ~ chi^2_k``.
    """
    d_, k_ = mpmath.mpf(d), mpmath.mpf(k)
    log_c = mpmath.loggamma(d_ / 2) - mpmath.loggamma((d_ - k_) / 2) - k_ / 2 * mpmath.log(d_ / 2)
    m = (d_ - k_ - 2) / 2

    def ell(s):
        return log_c + m * mpmath.log(1 - s / d_) + s / 2

    peak = k_ + 2
    s1 = mpmath.findroot(ell, (mpmath.mpf(0), peak), solver="anderson")
    step = mpmath.mpf(1)
    while peak + step < d_ and ell(peak + step) > 0:
        step *= 2
    # ell -> -inf at the edge s = d, so a point just inside the support closes the bracket.
    hi = min(peak + step, d_ - (d_ - peak) * mpmath.mpf(10) ** -20)
    s2 = mpmath.findroot(ell, (peak, hi), solver="anderson")
    p_y = mpmath.betainc(k_ / 2, (d_ - k_) / 2, s1 / d_, s2 / d_, regularized=True)
    p_z = mpmath.gammainc(k_ / 2, s1 / 2, s2 / 2, regularized=True)
    return p_y - p_z


DF_GRID = [
    (d, k)
    for d in (5, 6, 8, 10, 15, 20, 30, 50, 100, 300, 1000, 10**4)
    for k in (1, 2, 3, 5, 10, 20)
    if k <= d - 4
]
MP_POINTS = ((5, 1), (12, 3), (30, 5), (100, 2), (1000, 10))


def df_bound(d: int, k: int) -> float:
    """Theorem 2 (Eq. 49): ``2(k+3)/(d-k-3)``."""
    return 2.0 * (k + 3) / (d - k - 3)


@check(
    "rates.diaconis-freedman",
    "Theorem 2 (Eq. 49), [known] Diaconis-Freedman 1987",
    "TV(sqrt(d) U_1..k, N(0,I_k)) <= 2(k+3)/(d-k-3) for 1 <= k <= d-4, on a grid of (d, k); "
    "the exact TV of simulator.sphere.laws agrees with an independent 30-digit evaluation",
    "high-precision",
)
def diaconis_freedman(bound: Callable[[int, int], float] = df_bound) -> Outcome:
    from simulator.sphere.laws import exact_distances

    violations, min_ratio = [], math.inf
    for d, k in DF_GRID:
        tv = exact_distances(d, k).tv
        b = bound(d, k)
        min_ratio = min(min_ratio, b / tv)
        if tv > b:
            violations.append(f"(d={d},k={k}) TV={fmt_num(tv)} > {fmt_num(b)}")
    max_rel = 0.0
    with mpmath.workdps(30):
        for d, k in MP_POINTS:
            ref = _mp_exact_tv(d, k)
            rel = abs(exact_distances(d, k).tv - float(ref)) / float(ref)
            max_rel = max(max_rel, rel)
            if float(ref) > bound(d, k):
                violations.append(f"(d={d},k={k}) mpmath TV={fmt_num(ref)} > bound")
    if max_rel > 1e-8:
        violations.append(f"simulator.sphere.laws TV differs from mpmath by rel {fmt_num(max_rel)}")
    evidence = (
        f"{len(DF_GRID)} grid points, min bound/TV = {fmt_num(min_ratio)}; "
        f"laws vs 30-digit mpmath at {len(MP_POINTS)} points: max relerr {fmt_num(max_rel)}"
    )
    if violations:
        return False, "; ".join(violations[:5]) + "; " + evidence
    return True, evidence
