"""Independent high-precision reference for the exact sphere-projection distances.

This evaluates the same mathematical quantities as :mod:`simulator.sphere.laws` by a different
route:
the density ratio is computed directly from its definition at 40 digits (no series tricks), the
crossings with mpmath's root finder, and the integrals with mpmath's tanh-sinh quadrature in the
variable ``s = ||y||^2`` against the chi^2_k density.

The working precision grows with ``d`` (``log C_{d,k}`` is a difference of two log-Gamma values of
size ``d log d`` that cancel to ``O(k^2/d)``), and the quadrature is split at multiples of the
chi^2_k standard deviation ``sqrt(2k)`` around its mean, so that large ``k`` is resolved too.
"""

from __future__ import annotations

import itertools

import mpmath


def mp_distances(d: int, k: int, dps: int | None = None) -> dict[str, float]:
    if dps is None:
        dps = 40 + 2 * len(str(d))
    with mpmath.workdps(dps):
        d_, k_ = mpmath.mpf(d), mpmath.mpf(k)
        log_c = (
            mpmath.loggamma(d_ / 2) - mpmath.loggamma((d_ - k_) / 2) - (k_ / 2) * mpmath.log(d_ / 2)
        )

        def ell(s):
            return log_c + ((d_ - k_) / 2 - 1) * mpmath.log(1 - s / d_) + s / 2

        def q(s):  # chi^2_k density
            return mpmath.exp(
                (k_ / 2 - 1) * mpmath.log(s)
                - s / 2
                - mpmath.loggamma(k_ / 2)
                - (k_ / 2) * mpmath.log(2)
            )

        edge = d_ * (1 - mpmath.mpf(10) ** (-30))
        if d - k - 2 <= 0:  # the ratio grows up to the edge of the support
            s1 = mpmath.findroot(ell, (mpmath.mpf("1e-30"), edge), solver="anderson")
            s2 = d_
        else:
            peak = k_ + 2
            s1 = mpmath.findroot(ell, (mpmath.mpf("1e-30"), peak), solver="anderson")
            hi = peak + 1
            while hi < d_ and ell(hi) > 0:
                hi = peak + 2 * (hi - peak)
            s2 = mpmath.findroot(ell, (peak, min(hi, edge)), solver="anderson")
        sd = mpmath.sqrt(2 * k_)
        top = min(d_, s2 + 400 + 60 * sd)

        def diff(s):
            return q(s) * mpmath.expm1(ell(s)) if s < d_ else -q(s)

        def kl_term(s):
            if s >= d_:
                return q(s)
            e = ell(s)
            return q(s) * (1 + (e - 1) * mpmath.exp(e))

        pts = [mpmath.mpf(0), s1, s2] + ([top] if top > s2 else [])
        # Where the chi^2_k bulk is narrow against its position (k > 50), sub-intervals of one
        # standard deviation across it; for small k the pieces above already resolve it.
        grid = [k_ + j * sd for j in range(-60, 61)] if k > 50 else []

        def split(a, b):
            return [a, *(x for x in grid if a < x < b), b]

        signed = [mpmath.quad(diff, split(a, b)) for a, b in itertools.pairwise(pts)]
        signed += [mpmath.mpf(0)] * (3 - len(signed))
        kl = sum(mpmath.quad(kl_term, split(a, b)) for a, b in itertools.pairwise(pts))
        beyond = 0
        if top == d_ and k <= 50:
            beyond = mpmath.gammainc(k_ / 2, d_ / 2, mpmath.inf, regularized=True)
        elif top == d_:  # mpmath's incomplete Gamma series does not converge at k ~ d ~ 1e8
            beyond = mpmath.quad(q, split(d_, d_ + 60 * sd + 400))
        tv = (abs(signed[0]) + signed[1] + abs(signed[2]) + beyond) / 2
        out = {"tv": float(tv), "kl": float(kl + beyond)}
        if k == 1:
            out["ks"] = float(max(abs(signed[0]), abs(signed[2]) + beyond) / 2)
        return out
