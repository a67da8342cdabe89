"""``infonce-sim audit``: the paper's Gaussianity metrics (Eq. 20, Table 2) on your embeddings,
with calibrated finite-(n, d) nulls, uniformity tests, Mardia's tests and negative-pair cosines.

Reads ``.npy`` (memory-mapped), ``.npz`` (``--key`` when it holds several arrays) and ``.csv`` /
``.tsv`` (numeric, optional header line). Every bad input is a ValueError, hence exit code 2;
all output files are rendered in memory first and each is written atomically, so a failure leaves
no half-written file.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from simulator.cli.common import (
    add_memory_option,
    begin_command,
    bounded_int,
    check_memory_limit,
    out_path,
    seed_type,
    verb_result,
)
from simulator.cli.io import result_files, to_json, write_files
from simulator.gaussianity.audit import (
    MIN_ROWS_AUDIT,
    AuditOptions,
    AuditResult,
    audit,
    audit_memory_bytes,
    audit_row,
)
from simulator.report import fmt, markdown_table, table_cells
from simulator.results import StudyResult
from simulator.sphere.laws import cdf_1d
from simulator.validation import sniff_array_file

SUFFIXES = (".npy", ".npz", ".csv", ".tsv")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "audit",
        help="the paper's Gaussianity metrics on an embedding file, with calibrated nulls",
        description="Audit an (n, d) embedding matrix: CV of norms (Eq. 20), per-coordinate "
        "Anderson-Darling (pass < 0.752) and D'Agostino-Pearson (pass p > 0.05) tests aggregated "
        "as in the paper's Table 2, compared with Monte Carlo nulls for exactly Gaussian "
        "coordinates and for the exact uniform-sphere marginal at the same (n, d); plus "
        "Rayleigh/Bingham/Gine uniformity tests, Mardia's tests, sliced Gaussianity and "
        f"negative-pair cosine similarities. Needs at least {MIN_ROWS_AUDIT} rows and 2 columns.",
    )
    p.add_argument("path", type=Path, metavar="PATH", help="embeddings: .npy, .npz, .csv or .tsv")
    p.add_argument("--key", help="array name inside a .npz holding several arrays")
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--normalized",
        dest="variants",
        action="store_const",
        const=("normalized",),
        help="audit z/||z|| only",
    )
    group.add_argument(
        "--unnormalized",
        dest="variants",
        action="store_const",
        const=("unnormalized",),
        help="audit z only",
    )
    group.add_argument(
        "--both",
        dest="variants",
        action="store_const",
        const=("unnormalized", "normalized"),
        help="audit both (default)",
    )
    p.add_argument(
        "--whiten",
        nargs="?",
        const="zca",
        choices=("pca", "zca"),
        default=None,
        help="whiten the embeddings first (zca when no method is given; put the bare flag "
        "after PATH)",
    )
    p.add_argument(
        "--max-rows",
        type=bounded_int("--max-rows", MIN_ROWS_AUDIT),
        default=None,
        help="audit a random subset of this many rows (drawn with --seed)",
    )
    p.add_argument(
        "--drop-nonfinite",
        action="store_true",
        help="drop rows holding NaN or infinite entries instead of failing",
    )
    p.add_argument(
        "--null-columns",
        type=bounded_int("--null-columns", 100),
        default=None,
        help="Monte Carlo coordinates per null, >= 100 (default: ~2e7 draws / n, 200..20000)",
    )
    p.add_argument(
        "--gine-rows",
        type=bounded_int("--gine-rows", 3),
        default=None,
        help="rows of Gine's uniformity test (default: all rows up to 1000)",
    )
    p.add_argument(
        "--gine-mc",
        type=bounded_int("--gine-mc", 1),
        default=None,
        help="Monte Carlo draws of Gine's test (default: 999, fewer (>= 99) for large data; "
        "p >= 1/(draws + 1))",
    )
    p.add_argument(
        "--mardia-mc",
        type=bounded_int("--mardia-mc", 1),
        default=99,
        help="Monte Carlo draws calibrating Mardia's tests of the normalized variant against "
        "uniform directions (default 99)",
    )
    add_memory_option(p)
    p.add_argument("--seed", type=seed_type, default=0, help="root seed (default 0)")
    p.add_argument(
        "--out",
        type=out_path,
        default=None,
        help="folder for audit.json (with provenance), audit.md, the table as CSV and LaTeX and "
        "the PNG plots; nothing is written without it",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object whose top-level keys are the variants",
    )
    p.set_defaults(handler=run_audit, variants=("unnormalized", "normalized"))


def load_embeddings(path: Path, key: str | None = None) -> Any:
    """Read an embedding matrix; ``.npy`` files are memory-mapped, not loaded."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"file not found: {path}")
    if not path.is_file():
        raise ValueError(f"not a file: {path}")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"unsupported file type {suffix or '(none)'!r}; use one of {SUFFIXES}")
    if key is not None and suffix != ".npz":
        raise ValueError(f"--key only applies to .npz files, got {path.name}")
    try:
        if suffix == ".npy":
            with path.open("rb") as fh:
                if sniff_array_file(fh.read(8)) != "npy":
                    raise ValueError("not a NumPy .npy file (no .npy header)")
            arr = np.load(path, mmap_mode="r", allow_pickle=False)
        elif suffix == ".npz":
            arr = _load_npz(path, key)
        else:
            arr = _load_text(path, "," if suffix == ".csv" else "\t")
    except ValueError as exc:
        if str(exc).startswith(("--key", f"{path}")):
            raise
        raise ValueError(f"cannot read {path} as {suffix}: {exc}") from exc
    except (OSError, EOFError) as exc:
        raise ValueError(f"cannot read {path} as {suffix}: {exc}") from exc
    if not isinstance(arr, np.ndarray):
        raise ValueError(f"{path} does not hold an array")
    if arr.dtype.kind not in "iuf":
        raise ValueError(f"{path} holds non-numeric data (dtype {arr.dtype}); need real numbers")
    return arr


def _load_npz(path: Path, key: str | None) -> np.ndarray:
    import zipfile

    try:
        archive = np.load(path, allow_pickle=False)
    except zipfile.BadZipFile as exc:
        raise ValueError(f"not a valid .npz archive ({exc})") from exc
    with archive:
        names = list(archive.files)
        if not names:
            raise ValueError(f"{path} holds no arrays")
        if key is None:
            if len(names) > 1:
                raise ValueError(f"--key is required: {path} holds arrays {', '.join(names)}")
            key = names[0]
        elif key not in names:
            raise ValueError(f"--key {key!r} not found in {path}; it holds {', '.join(names)}")
        return archive[key]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _load_text(path: Path, delimiter: str) -> np.ndarray:
    with open(path, encoding="utf-8", errors="strict") as fh:
        first = fh.readline()
    if not first.strip():
        raise ValueError("the file is empty")
    fields = [f.strip() for f in first.rstrip("\r\n").split(delimiter)]
    header = not all(_is_number(f) for f in fields)
    try:
        return np.loadtxt(
            path,
            delimiter=delimiter,
            skiprows=1 if header else 0,
            dtype=np.float64,
            ndmin=2,
            encoding="utf-8",
        )
    except ValueError as exc:
        raise ValueError(f"non-numeric or ragged content ({exc})") from exc


def run_audit(args: argparse.Namespace) -> int:
    source = begin_command(args.out)
    x = load_embeddings(args.path, args.key)
    options = AuditOptions(
        variants=args.variants,
        whiten=args.whiten,
        max_rows=args.max_rows,
        drop_nonfinite=args.drop_nonfinite,
        null_columns=args.null_columns,
        gine_rows=args.gine_rows,
        gine_mc=args.gine_mc,
        mardia_mc=args.mardia_mc,
    )
    n, d = x.shape if x.ndim == 2 else (1, 1)
    check_memory_limit(
        audit_memory_bytes(n, max(d, 1), x.dtype.itemsize, options),
        f"the audit of a {n} x {d} matrix",
        args.max_memory,
    )
    start = time.perf_counter()
    try:
        result = audit(x, options, rng=args.seed)
    except ValueError as exc:
        # The library names its parameter; on the command line the user sets the flag.
        raise ValueError(str(exc).replace("drop_nonfinite=True", "--drop-nonfinite")) from None
    wall = time.perf_counter() - start
    document = audit_document(result, args, source, wall)
    if args.out is not None:
        write_files(args.out, result_files(document))
    if args.json:
        print(to_json(document["data"], indent=None))
        return 0
    print(header_line(result, args))
    print()
    table = document["tables"]["metrics"]
    print(markdown_table(table["columns"], table_cells(table)))
    print()
    print("\n".join(summary_lines(result)))
    if args.out is not None:
        print(f"\nwrote {args.out / 'audit.md'} (+ JSON, CSV, LaTeX, plots)")
    return 0


#: Columns of the Table-2-style metrics table: (key of :func:`audit_row`, column label).
_COLUMNS = [
    ("variant", "variant"),
    ("n", "n"),
    ("d", "d"),
    ("cv", "CV"),
    ("ad_mean", "AD avg"),
    ("ad_pass", "AD pass %"),
    ("dp_mean", "DP avg p"),
    ("dp_pass", "DP pass %"),
    ("gaussian_null_ad_pass", "AD pass %, Gaussian null"),
    ("gaussian_null_dp_pass", "DP pass %, Gaussian null"),
    ("sphere_null_ad_pass", "AD pass %, sphere null"),
    ("sphere_null_dp_pass", "DP pass %, sphere null"),
    ("rayleigh_p", "Rayleigh p"),
    ("bingham_p", "Bingham p"),
    ("gine_p", "Gine p"),
    ("mardia_skew_p", "Mardia skew p"),
    ("mardia_kurt_p", "Mardia kurt p"),
    ("n_constant", "constant coords"),
]


def _cell(key: str, value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return 100 * value if "%" in dict(_COLUMNS)[key] else value


def metrics_rows(result: AuditResult) -> list[dict[str, Any]]:
    """One Table-2-style row per variant, keyed by the labels of :data:`_COLUMNS`."""
    rows = [audit_row(result, v) for v in result.variants]
    return [{label: _cell(k, r[k]) for k, label in _COLUMNS} for r in rows]


def header_line(result: AuditResult, args: argparse.Namespace) -> str:
    return f"audit of {args.path}: n = {result.n} rows (of {result.n_input}), d = {result.d}"


def summary_lines(result: AuditResult) -> list[str]:
    """The audit's findings beyond the table: input handling, verdict lines per variant,
    sliced and Mardia evidence, uniformity tests and negative-pair cosines."""
    lines = []
    if result.dropped_nonfinite:
        lines.append(f"dropped {result.dropped_nonfinite} row(s) with non-finite entries")
    if result.whitening:
        w = result.whitening
        lines.append(f"whitened ({w['method']}), rank {w['rank']} of {w['d_input']}")
    for name, v in result.variants.items():
        lines.append(f"{name}: {v.verdict}")
        if v.metrics.n_constant:
            shown = ", ".join(str(c) for c in v.constant_columns[:10])
            more = "..." if len(v.constant_columns) > 10 else ""
            lines.append(
                f"{name}: {v.metrics.n_constant} constant coordinate(s) left out: {shown}{more}"
            )
        lines.append(f"{name}: CV {fmt(v.metrics.cv)} ({v.cv_note})")
        sl = v.sliced
        lines.append(
            f"{name}: sliced ({sl.d} random directions): AD pass "
            f"{100 * sl.ad_pass.fraction:.1f}%, DP pass {100 * sl.dp_pass.fraction:.1f}%"
        )
        if v.mardia is not None:
            lines.append(
                f"{name}: Mardia ({v.mardia_note}): skewness p = "
                f"{fmt(v.mardia.skewness.p_value)}, kurtosis p = {fmt(v.mardia.kurtosis.p_value)}"
            )
        else:
            lines.append(f"{name}: Mardia: {v.mardia_note}")
    for t in result.uniformity:
        lines.append(
            f"uniformity of directions, {t.name}: statistic {fmt(t.statistic)}, "
            f"p = {fmt(t.p_value)} ({t.method})"
        )
    if result.uniformity_note:
        lines.append(result.uniformity_note)
    for label, c in (("raw", result.cosines), ("whitened", result.cosines_whitened)):
        if c is not None:
            lines.append(
                f"negative-pair cosines ({label}, {c.n_pairs} disjoint pairs): mean {fmt(c.mean)}, "
                f"sqrt(d) sd {fmt(c.scaled_sd)} (null 1), KS vs exact null p = {fmt(c.ks.p_value)} "
                f"(with {c.n_pairs} pairs, Kolmogorov distances below {fmt(c.ks_resolution)} "
                "are not detected at the 5% level)"
            )
    return lines


def _density(values: np.ndarray, edges: np.ndarray) -> list[float]:
    """Histogram heights as a density; every value lies inside ``edges`` by construction."""
    return np.histogram(values, bins=edges, density=True)[0].tolist()


def figures(result: AuditResult) -> list[dict[str, Any]]:
    """Figure specs (see :mod:`simulator.report`): norms, AD per variant, cosines."""
    figs = []
    norms = result.norms
    lo, hi = float(norms.min()), float(norms.max())
    if hi - lo > 1e-9 * max(abs(hi), 1.0):
        edges = np.histogram_bin_edges(norms, bins=60)
    else:  # equal norms (whitened wide data, or unit rows): one bin around the common value
        pad = 1e-3 * max(abs(hi), 1.0)
        edges = np.array([lo - pad, hi + pad])
    figs.append(
        {
            "id": "norms",
            "kind": "hist",
            "title": "Row norms ||z_i|| (CV, Eq. 20)",
            "xlabel": "norm",
            "ylabel": "density",
            "series": [
                {
                    "label": f"n = {result.n}",
                    "edges": edges.tolist(),
                    "density": _density(norms, edges),
                }
            ],
        }
    )
    for name, v in result.variants.items():
        ad = v.ad[np.isfinite(v.ad)]
        pool = [ad] + [null.ad_values for null in result.nulls.values()]
        hi = max(float(np.quantile(np.concatenate(pool), 0.995)), 1.0)
        edges = np.linspace(0.0, hi, 50)
        series = [
            {
                "label": f"{name} coordinates",
                "edges": edges.tolist(),
                "density": _density(np.clip(ad, 0, hi), edges),
                "fill": True,
            }
        ]
        vlines = [{"at": 0.752, "label": "pass threshold 0.752"}]
        for law, null in result.nulls.items():
            series.append(
                {
                    "label": f"{law} null ({null.columns} MC coordinates)",
                    "edges": edges.tolist(),
                    "density": _density(np.clip(null.ad_values, 0, hi), edges),
                }
            )
        g = result.nulls["gaussian"].ad_quantiles
        vlines.append({"at": g["0.975"], "label": "Gaussian null 97.5% point"})
        figs.append(
            {
                "id": f"ad-{name}",
                "kind": "hist",
                "title": f"Per-coordinate AD statistic ({name}) with the null laws",
                "xlabel": "A^2",
                "ylabel": "density",
                "series": series,
                "vlines": vlines,
                "overflow_above": hi,
            }
        )
    if result.cosines is not None:
        scaled = math.sqrt(result.d)
        cos = [("raw", result.cosines), ("whitened", result.cosines_whitened)]
        allv = np.concatenate([c.cosines for _, c in cos if c is not None])
        lim = max(float(np.max(np.abs(allv))), 3.5 / scaled)
        edges = np.linspace(-lim, lim, 61)
        series = [
            {
                "label": f"{label} embeddings",
                "edges": edges.tolist(),
                "density": _density(c.cosines, edges),
            }
            for label, c in cos
            if c is not None
        ]
        null_mass = np.diff(cdf_1d(edges * scaled, result.d))
        series.append(
            {
                "label": "exact null (independent uniform u, v)",
                "edges": edges.tolist(),
                "density": (null_mass / np.diff(edges)).tolist(),
            }
        )
        figs.append(
            {
                "id": "cosines",
                "kind": "hist",
                "title": "Negative-pair cosine similarity (before/after whitening)",
                "xlabel": "u.v",
                "ylabel": "density",
                "series": series,
            }
        )
    return figs


def audit_document(
    result: AuditResult, args: argparse.Namespace, source: dict[str, Any], wall_s: float
) -> dict[str, Any]:
    """The audit's result JSON: the metrics table, figure specs and findings that
    :mod:`simulator.report` renders, the audit itself under ``data`` (what ``--json`` prints)
    and provenance."""
    page = StudyResult("audit", f"Gaussianity audit of {args.path}", [])
    page.add_table(
        "metrics",
        "Table-2 metrics (Eq. 20) beside the calibrated nulls",
        [label for _, label in _COLUMNS],
        metrics_rows(result),
    )
    for fig in figures(result):
        page.add_figure(fig)
    page.notes.append(
        "Metrics of Betser et al. (ICLR 2026), Sec. 5, Eq. 20 and Table 2; nulls by Monte Carlo "
        "with exact samplers (independent N(0, 1) coordinates; sqrt(d) U_1 of a uniform point "
        "on S^{d-1}) at the same (n, d)."
    )
    page.notes.append(header_line(result, args))
    page.notes.extend(summary_lines(result))
    return verb_result(
        page,
        result.to_dict(),
        args.argv,
        source,
        input=str(args.path),
        seed=args.seed,
        backend="numpy",
        rng_mode="host",
        wall_time_s=round(wall_s, 3),
    )
