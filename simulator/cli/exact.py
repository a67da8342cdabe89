"""``infonce-sim exact``: exact distances of sqrt(d) U_{1..k} to N(0, I_k) (Lemma 3, Theorem 2)."""

from __future__ import annotations

import argparse

from simulator.cli.common import add_out_option, begin_command, bounded_int, verb_result
from simulator.cli.io import result_files, to_json, write_files
from simulator.report import fmt
from simulator.results import StudyResult
from simulator.sphere.laws import check_exact_range, exact_distances


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "exact",
        help="exact TV/KL/Kolmogorov distance of sqrt(d) U_1..k to N(0, I_k) and the DF bound",
        description="Exact distances of the k-dimensional projection sqrt(d) U_{1..k} of a uniform "
        "point on S^{d-1} to N(0, I_k), by one-dimensional radial quadrature, and the "
        "Diaconis-Freedman bound 2(k+3)/(d-k-3) of Theorem 2 (Eq. 49) when 1 <= k <= d-4. "
        "Accurate to 1e-10 relative for 2 <= d <= 1e100 and 1 <= k < d, k <= 1e8.",
    )
    p.add_argument(
        "--d", type=bounded_int("--d", 2), required=True, help="sphere dimension, 2 <= d <= 1e100"
    )
    p.add_argument(
        "--k",
        type=bounded_int("--k", 1),
        required=True,
        help="projection size, 1 <= k < d and k <= 1e8",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_out_option(p, "exact.json and exact.md")
    p.set_defaults(handler=run_exact)


def run_exact(args: argparse.Namespace) -> int:
    try:
        check_exact_range(args.d, args.k)
    except ValueError as exc:  # the library names d and k; on the command line they are flags
        raise ValueError(f"--{exc}") from None
    source = begin_command(args.out)
    try:
        e = exact_distances(args.d, args.k)
    except ArithmeticError as exc:
        raise ValueError(f"no exact distances at d={args.d}, k={args.k}: {exc}") from None
    out = {"d": e.d, "k": e.k, "tv": e.tv, "kl": e.kl, "ks": e.ks, "df_bound": e.df_bound}
    page = StudyResult(
        "exact",
        f"Exact distances of sqrt(d) U_1..k to N(0, I_k), d = {e.d}, k = {e.k}",
        ["Lemma 3 (Eq. 48)", "Theorem 2 (Eq. 49)"],
    )
    page.add_table(
        "distances",
        "Exact distances (radial quadrature) and the Diaconis-Freedman bound",
        ["d", "k", "TV", "KL [nats]", "Kolmogorov", "DF bound"],
        [
            {
                "d": e.d,
                "k": e.k,
                "TV": e.tv,
                "KL [nats]": e.kl,
                "Kolmogorov": e.ks,
                "DF bound": e.df_bound,
            }
        ],
    )
    result = verb_result(page, out, args.argv, source, backend="numpy", rng_mode=None)
    if args.out is not None:
        write_files(args.out, result_files(result))
    if args.json:
        print(to_json(out, indent=None))
        return 0
    print(f"sqrt(d) U_1..k vs N(0, I_k) at d = {_exact_integer(e.d)}, k = {_exact_integer(e.k)}")
    print(f"  total variation        {fmt(e.tv, 10)}")
    print(f"  KL(Y || Z) [nats]      {fmt(e.kl, 10)}")
    if e.ks is not None:
        print(f"  Kolmogorov distance    {fmt(e.ks, 10)}")
    if e.df_bound is None:
        print("  Diaconis-Freedman      - (needs k <= d - 4)")
    else:
        print(
            f"  Diaconis-Freedman      {fmt(e.df_bound, 10)}"
            f"  (bound / TV = {fmt(e.df_bound / e.tv)})"
        )
    return 0


def _exact_integer(n: int) -> str:
    """``n`` without losing a digit, its trailing zeros as a power of ten (``10**30`` -> ``1e30``,
    ``1234 * 10**20`` -> ``1234e20``; below a million as is)."""
    digits = str(n)
    significant = digits.rstrip("0")
    zeros = len(digits) - len(significant)
    return f"{significant}e{zeros}" if zeros >= 6 else digits
