"""Small helpers shared by the topic modules (symbolic zero test, mpmath references)."""

from __future__ import annotations

import mpmath
import sympy as sp


def reduce_gammas(expr: sp.Expr) -> sp.Expr:
    """Rewrite Gamma functions whose arguments differ by integers in terms of one of them.

    ``Gamma(b + n) = (b)_n Gamma(b)`` with the rising factorial expanded into a product, so that
    ratios like ``Gamma(e/2 + 5/2) / Gamma(e/2 + 1/2)`` become rational functions of ``e``.
    """
    expr = sp.expand_func(sp.sympify(expr).rewrite(sp.gamma))
    bases: list[sp.Expr] = []
    rep: dict[sp.Expr, sp.Expr] = {}
    for g in sorted(expr.atoms(sp.gamma), key=sp.default_sort_key):
        a = g.args[0]
        for b in bases:
            n = sp.simplify(a - b)
            if n.is_integer:
                n = int(n)
                factor = sp.rf(b, n) if n >= 0 else 1 / sp.rf(b + n, -n)
                rep[g] = sp.expand_func(factor) * sp.gamma(b)
                break
        else:
            bases.append(a)
    return expr.xreplace(rep)


def simplified(expr: sp.Expr) -> sp.Expr:
    """Simplification used for residuals: a few standard routes, the first that reaches 0 wins.

    Powers are expanded and recombined with ``force=True`` because every base in these checks is
    positive (densities on the interior of their support). Gamma recurrences are expanded with
    ``expand_func`` so that ratios such as ``Gamma(x + 1)/Gamma(x)`` cancel.
    """
    base = reduce_gammas(sp.powsimp(sp.expand_power_base(expr, force=True), force=True))
    last = base
    for route in (
        lambda e: sp.simplify(sp.expand_func(e)),
        sp.gammasimp,
        lambda e: sp.simplify(sp.expand_func(sp.gammasimp(e))),
        lambda e: sp.simplify(sp.expand_func(sp.simplify(e))),
        lambda e: sp.simplify(sp.expand_log(sp.log(e + 1), force=True)),
    ):
        last = route(base)
        if last == 0:
            return sp.Integer(0)
    return sp.simplify(sp.expand_func(base))


def is_zero(expr: sp.Expr) -> bool:
    """True when ``expr`` simplifies to exactly zero."""
    return simplified(expr) == 0


def residual_text(expr: sp.Expr) -> str:
    """Evidence text for a symbolic residual (zero, or what is left)."""
    r = simplified(expr)
    return "residual 0" if r == 0 else f"residual {sp.sstr(r)[:160]}"


def mp_log_z(d: int, kappa: mpmath.mpf) -> mpmath.mpf:
    """``log Z_d(kappa) = log[Gamma(d/2) (2/kappa)^{d/2-1} I_{d/2-1}(kappa)]`` in mpmath.

    The projection MGF of theory.md section 4; the caller sets the working precision.
    """
    kappa = mpmath.mpf(kappa)
    if kappa == 0:
        return mpmath.mpf(0)
    nu = mpmath.mpf(d) / 2 - 1
    return (
        mpmath.loggamma(nu + 1) + nu * mpmath.log(2 / kappa) + mpmath.log(mpmath.besseli(nu, kappa))
    )


def mp_mean_resultant(d: int, kappa: mpmath.mpf) -> mpmath.mpf:
    """``A_d(kappa) = I_{d/2}(kappa) / I_{d/2-1}(kappa)`` in mpmath."""
    nu = mpmath.mpf(d) / 2 - 1
    return mpmath.besseli(nu + 1, kappa) / mpmath.besseli(nu, kappa)


def mp_cosine_average(d: int, g, weight_kappa: mpmath.mpf = 0) -> mpmath.mpf:
    """``E g(t)`` for the cosine ``t = w.u``, ``u ~ vMF(w, kappa)`` (uniform when ``kappa = 0``).

    Direct quadrature against the cosine density ``∝ exp(kappa t) (1 - t^2)^{(d-3)/2}`` on
    ``[-1, 1]`` (theory.md section 4): independent of every Bessel-function formula.
    """
    e = (mpmath.mpf(d) - 3) / 2

    def w(t):
        return mpmath.exp(weight_kappa * t) * (1 - t * t) ** e

    num = mpmath.quad(lambda t: g(t) * w(t), [-1, 0, 1])
    den = mpmath.quad(w, [-1, 0, 1])
    return num / den


def mp_phi_vmf(d: int, kappa: mpmath.mpf, alpha: mpmath.mpf) -> mpmath.mpf:
    """``Phi(vMF(w, kappa))`` of Eq. 4: ``E_u log[Z_d(|kappa w + alpha u|)/Z_d(kappa)]``.

    For ``v ~ vMF(w, kappa)``, ``E_v exp(alpha u.v) = Z_d(|kappa w + alpha u|) / Z_d(kappa)``,
    a function of the cosine ``t = w.u`` only; the outer mean is a 1-D quadrature.
    """
    log_zk = mp_log_z(d, kappa)

    def inner(t):
        return mp_log_z(d, mpmath.sqrt(kappa**2 + alpha**2 + 2 * kappa * alpha * t)) - log_zk

    return mp_cosine_average(d, inner, kappa)
