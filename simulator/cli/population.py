"""``infonce-sim population``: the population limit of InfoNCE for vMF pairs (Eq. 4)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from simulator.cli.common import add_out_option, begin_command, bounded_int, verb_result
from simulator.cli.io import result_files, to_json, write_files
from simulator.contrastive.population import population_limit
from simulator.report import fmt
from simulator.results import StudyResult


def _real(name: str) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            return float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{name} must be a real number, got {text!r}"
            ) from None

    return parse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "population",
        help="population limit of L_N - log N for vMF positive pairs (Eq. 4)",
        description="Wang-Isola limit L_N - log N -> -alpha A_d(kappa) + Phi(sigma), "
        "alpha = 1/tau, for u uniform on S^{d-1} and v | u ~ vMF(u, kappa) (Eq. 4), with "
        "Phi(sigma) = log[Gamma(d/2) (2/alpha)^{d/2-1} I_{d/2-1}(alpha)] "
        "in log-space Bessel functions. "
        "Accurate range: 2 <= d <= 4096, 0 <= kappa <= 1e4, tau >= 0.01.",
    )
    p.add_argument(
        "--d", type=bounded_int("--d", 2), required=True, help="sphere dimension, 2 <= d <= 4096"
    )
    p.add_argument(
        "--kappa", type=_real("--kappa"), required=True, help="vMF concentration, 0 <= kappa <= 1e4"
    )
    p.add_argument("--tau", type=_real("--tau"), required=True, help="temperature, tau >= 0.01")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_out_option(p, "population.json and population.md")
    p.set_defaults(handler=run_population)


def run_population(args: argparse.Namespace) -> int:
    source = begin_command(args.out)
    r = population_limit(args.d, args.kappa, args.tau)
    out = {
        "d": r.d,
        "kappa": r.kappa,
        "tau": r.tau,
        "alpha": r.alpha,
        "alignment": r.alignment,
        "phi_sigma": r.phi_sigma,
        "limit": r.limit,
        "error": r.error,
    }
    page = StudyResult(
        "population",
        f"Population limit of L_N - log N for vMF pairs, d = {r.d}, kappa = {fmt(r.kappa)}, "
        f"tau = {fmt(r.tau)}",
        ["Eq. 4"],
    )
    page.add_table(
        "limit",
        "Terms of the population limit (Eq. 4) and the bound on its numerical error",
        ["quantity", "value"],
        [
            {"quantity": q, "value": out[key]}
            for q, key in (
                ("alpha = 1/tau", "alpha"),
                ("alignment E[u.v] = A_d(kappa)", "alignment"),
                ("Phi(sigma) = log Z_d(alpha)", "phi_sigma"),
                ("limit of L_N - log N", "limit"),
                ("error bound of the limit", "error"),
            )
        ],
    )
    result = verb_result(page, out, args.argv, source, backend="numpy", rng_mode=None)
    if args.out is not None:
        write_files(args.out, result_files(result))
    if args.json:
        print(to_json(out, indent=None))
        return 0
    print(f"vMF pairs on S^{r.d - 1}, kappa = {fmt(r.kappa)}, tau = {fmt(r.tau)}")
    print(f"  alpha = 1/tau                   {fmt(r.alpha, 12)}")
    print(f"  alignment E[u.v] = A_d(kappa)   {fmt(r.alignment, 12)}")
    print(f"  Phi(sigma) = log Z_d(alpha)     {fmt(r.phi_sigma, 12)}")
    print(f"  limit of L_N - log N            {fmt(r.limit, 12)}  (error <= {fmt(r.error, 2)})")
    return 0
