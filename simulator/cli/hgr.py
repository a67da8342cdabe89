"""``infonce-sim hgr``: rho_m(X, X0), eta2 (Eq. 5) and the views' rho_m(X, Y) of a channel."""

from __future__ import annotations

import argparse
import json
import time

from simulator.cli.common import (
    add_memory_option,
    add_out_option,
    begin_command,
    bounded_int,
    check_memory_limit,
    seed_type,
    verb_result,
)
from simulator.cli.io import result_files, to_json, write_files
from simulator.hgr.channels import (
    INPUT_LAWS,
    NO_JITTER,
    SUMMANDS,
    GaussianChannel,
    Jitter,
    PartialSums,
    VMFChannel,
    bsc,
    discrete_channel,
    input_law,
    qary_symmetric,
    sparse_binary_flip,
)
from simulator.hgr.mildness import METHODS, channel_hgr
from simulator.report import fmt
from simulator.results import StudyResult

CHANNELS = ("gaussian", "eq53", "bsc", "qary", "discrete", "sparse-binary", "partial-sums", "vmf")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "hgr",
        help="HGR maximal correlation rho_m(X, X0), eta2 and the views' rho_m of a channel",
        description="Maximal correlation of an augmentation channel (Eq. 21), its mildness "
        "eta2 = rho_m^2(X, X0) (Eq. 5) and rho_m(X, Y) of two conditionally independent views "
        "(Eq. 23 gives rho_m(X, Y) <= eta2). Methods: exact (closed form or discrete SVD), "
        "numeric (discretisation with refinement; Gaussian-channel coordinates) and ace "
        "(alternating conditional expectations on simulated pairs, bootstrap CI).",
    )
    p.add_argument("--channel", choices=CHANNELS, required=True)
    p.add_argument("--A", type=float, default=0.6, help="Gaussian/eq53 coefficient in [-1, 1]")
    p.add_argument(
        "--input",
        choices=INPUT_LAWS,
        default="gaussian",
        help="input law of the Gaussian channel (laplace is the paper's App. E.1)",
    )
    p.add_argument("--no-jitter", action="store_true", help="eq53: turn all jitter off")
    p.add_argument("--noise-std", type=float, default=0.2, help="eq53 additive noise std")
    p.add_argument("--dropout", type=float, default=0.1, help="eq53 feature dropout probability")
    p.add_argument("--scale-std", type=float, default=0.1, help="eq53 log-normal scale std")
    p.add_argument(
        "--p",
        type=float,
        default=0.1,
        help="bsc crossover / qary symbol error / sparse-binary flip probability",
    )
    p.add_argument("--q", type=int, default=4, help="qary alphabet size, q >= 2")
    p.add_argument(
        "--matrix", help="discrete: row-stochastic matrix as JSON, e.g. [[0.9,0.1],[0.2,0.8]]"
    )
    p.add_argument("--input-probs", help="discrete: input probabilities as JSON (default uniform)")
    p.add_argument("--density", type=float, default=0.05, help="sparse-binary density of ones")
    p.add_argument("--m", type=int, default=1, help="partial-sums: terms in a view, 1 <= m <= n")
    p.add_argument("--n", type=int, default=4, help="partial-sums: terms in the item")
    p.add_argument("--summand", choices=SUMMANDS, default="bernoulli", help="partial-sums summand")
    p.add_argument("--kappa", type=float, default=5.0, help="vmf concentration, kappa >= 0")
    p.add_argument("--d", type=int, default=8, help="vmf sphere dimension, d >= 2")
    p.add_argument(
        "--method",
        choices=METHODS,
        default=None,
        help="exact | numeric | ace (default: the first that applies)",
    )
    p.add_argument(
        "--samples",
        type=bounded_int("--samples", 1),
        default=100_000,
        help="ace: simulated pairs (default 1e5)",
    )
    p.add_argument("--seed", type=seed_type, default=0, help="ace: root seed")
    p.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object (keys rho_m, eta2, rho_m_views, method, error, ...)",
    )
    add_memory_option(p)
    add_out_option(p, "hgr.json and hgr.md")
    p.set_defaults(handler=run_hgr)


def hgr_memory_bytes(args: argparse.Namespace) -> float:
    """Upper estimate of the memory of ``hgr`` from the size arguments alone (before the
    channel is built, which for ``qary`` already allocates its ``q x q`` matrix): the discrete
    joints and their SVD (``q^2``, ``(n + 1)(m + 1)``, ``rows x columns``), and for ACE the
    simulated items (three arrays of ``--samples`` items) and the bootstrap tables."""
    f8 = 8.0
    if args.channel == "qary":
        table = float(args.q) ** 2
    elif args.channel == "partial-sums":
        table = (float(args.n) + 1) * (float(args.m) + 1) + (float(args.m) + 1) ** 2
    elif args.channel == "discrete" and args.matrix is not None:
        table = float(len(args.matrix)) ** 2  # cannot hold more entries than characters
    else:
        table = 0.0
    total = 12 * f8 * table
    if args.method == "ace" or (args.method is None and args.channel in ("gaussian", "eq53")):
        # ACE draws one coordinate of each item, whatever the channel's width.
        total += 3 * f8 * args.samples + 16 * f8 * args.samples
    return total


def _numeric_applies(channel: object) -> bool:
    """Whether ``--method numeric`` applies: a Gaussian channel with a known input density."""
    return isinstance(channel, GaussianChannel) and channel.law.sampler is None


def _json_array(text: str, name: str) -> list:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{name} must be a JSON array: {exc}") from None


def build_channel(args: argparse.Namespace):
    """The channel object described by the command-line options."""
    if args.channel in ("gaussian", "eq53"):
        jitter = NO_JITTER
        if args.channel == "eq53" and not args.no_jitter:
            jitter = Jitter(args.noise_std, args.dropout, args.scale_std)
        return GaussianChannel(args.A, input_law(args.input), 1, jitter)
    if args.channel == "bsc":
        return bsc(args.p)
    if args.channel == "qary":
        return qary_symmetric(args.q, args.p)
    if args.channel == "discrete":
        if args.matrix is None:
            raise ValueError("--matrix is required for --channel discrete")
        probs = None if args.input_probs is None else _json_array(args.input_probs, "--input-probs")
        return discrete_channel(_json_array(args.matrix, "--matrix"), probs)
    if args.channel == "sparse-binary":
        return sparse_binary_flip(args.density, args.p)
    if args.channel == "partial-sums":
        return PartialSums(args.m, args.n, args.summand)
    return VMFChannel(args.d, args.kappa)


def run_hgr(args: argparse.Namespace) -> int:
    source = begin_command(args.out)
    check_memory_limit(hgr_memory_bytes(args), f"hgr --channel {args.channel}", args.max_memory)
    channel = build_channel(args)
    if args.method == "numeric" and not _numeric_applies(channel):
        raise ValueError(
            "--method numeric applies to Gaussian-channel coordinates (--channel gaussian or "
            f"eq53) whose input law has a density, not to {channel.name}; use --method exact "
            "or ace"
        )
    start = time.perf_counter()
    out = channel_hgr(channel, args.method, n_samples=args.samples, rng=args.seed)
    wall = time.perf_counter() - start
    page = StudyResult(
        "hgr", f"HGR maximal correlation of the channel {out['channel']}", ["Eq. 5", "Eq. 23"]
    )
    page.add_table(
        "hgr",
        f"rho_m(X, X0), eta2 and the views' rho_m (method {out['method']})",
        ["quantity", "value", "error"],
        [
            {"quantity": q, "value": v, "error": e}
            for q, v, e in (
                ("rho_m(X, X0)", out["rho_m"], out["error"]),
                ("eta2 = rho_m^2", out["eta2"], out["eta2_error"]),
                ("rho_m(X, Y) of the views", out["rho_m_views"], out["views_error"]),
                ("closed form of rho_m(X, X0)", out["closed_form"], None),
            )
        ],
    )
    page.notes.append(out["note"])
    result = verb_result(
        page,
        out,
        args.argv,
        source,
        # Only ACE draws random numbers; the exact and numeric methods are deterministic.
        seed=args.seed if out["method"] == "ace" else None,
        backend="numpy",
        rng_mode="host" if out["method"] == "ace" else None,
        wall_time_s=round(wall, 3),
    )
    if args.out is not None:
        write_files(args.out, result_files(result))
    if args.json:
        print(to_json(out, indent=None))
        return 0
    print(f"channel {out['channel']}  (method: {out['method']})")
    print(f"  rho_m(X, X0)          {fmt(out['rho_m'], 10)}  +- {fmt(out['error'], 2)}")
    if out["ci"] is not None:
        print(f"  bootstrap CI          [{fmt(out['ci'][0], 6)}, {fmt(out['ci'][1], 6)}]")
    if out["closed_form"] is not None:
        print(f"  closed form           {fmt(out['closed_form'], 10)}")
    print(f"  eta2 = rho_m^2        {fmt(out['eta2'], 10)}  +- {fmt(out['eta2_error'], 2)}")
    print(f"  rho_m(X, Y) views     {fmt(out['rho_m_views'], 10)}  +- {fmt(out['views_error'], 2)}")
    if out["dpi"]["verdict"] is None:
        print(f"  DPI rho_m(X,Y)<=eta2  no verdict: views value {out['views_method']}")
    else:
        dpi = out["dpi"]
        print(f"  DPI rho_m(X,Y)<=eta2  {dpi['verdict']} (slack {fmt(dpi['slack'], 3)})")
    print(f"  note: {out['note']}")
    return 0
