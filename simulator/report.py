"""Pure renderers: a study's results JSON to Markdown, CSV, LaTeX and PNG.

Nothing here computes a result or touches the file system: each function maps the saved JSON (a
``dict``) to text or bytes, so ``infonce-sim report`` can re-render without recomputing.

Figure specs (built by the studies) are dicts with keys ``id``, ``title``, ``series`` and optional
``xlabel``, ``ylabel``, ``xscale``, ``yscale`` (``linear``/``log``), ``kind`` (``xy`` default, or
``hist``), ``hlines`` and ``vlines`` (lists of ``{"at": value, "label": str}``, each drawn in
its own style), and for ``hist`` ``overflow_above`` (the last bin also counts every value beyond
it: labelled on the plot). An ``xy`` series
has ``label``, ``x``, ``y``, ``style`` (``line``, ``dashed``, ``points``, ``step``) and optional
``ci_low``/``ci_high`` and ``group`` (series of one group share a colour); a ``hist`` series
has ``label``, ``edges`` and ``counts`` (or ``density``).
"""

from __future__ import annotations

import csv
import io
import math
import re
from typing import Any

from simulator.results import CLAIM, FINDING, FINDING_VERDICTS, VERDICTS

VERDICT_MARK = {
    "holds": "holds",
    "violated": "**violated**",
    "inconclusive": "inconclusive",
    "not as predicted": "*not as predicted*",
}


def row_kind(row: dict[str, Any]) -> str:
    """``claim`` or ``finding``; results saved before rows had a kind hold claims only."""
    return row.get("kind", CLAIM)


def verdict_counts(rows: list[dict[str, Any]]) -> str:
    """Headline counts that say which rows are claims of the paper and which are findings,
    e.g. ``claims of the paper: 3 holds, 0 violated, 1 inconclusive; findings beyond the paper:
    2 holds, 1 not as predicted, 0 inconclusive``."""
    parts = []
    for kind, label, outcomes in (
        (CLAIM, "claims of the paper", VERDICTS),
        (FINDING, "findings beyond the paper", FINDING_VERDICTS),
    ):
        verdicts = [r["verdict"] for r in rows if row_kind(r) == kind]
        parts.append(f"{label}: " + ", ".join(f"{verdicts.count(v)} {v}" for v in outcomes))
    return "; ".join(parts)


def fmt(value: Any, digits: int = 4) -> str:
    """Human formatting of a table cell: floats to ``digits`` significant digits."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value == 0:
            return "0"
        return f"{value:.{digits}g}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(fmt(v, digits) for v in value) + "]"
    if isinstance(value, dict):
        return ", ".join(f"{k}={fmt(v, digits)}" for k, v in value.items())
    return str(value)


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(columns: list[str], rows: list[list[Any]]) -> str:
    head = "| " + " | ".join(_md_escape(c) for c in columns) + " |"
    rule = "|" + "|".join("---" for _ in columns) + "|"
    body = ["| " + " | ".join(_md_escape(fmt(v)) for v in row) + " |" for row in rows]
    return "\n".join([head, rule, *body])


def verdict_rows_table(rows: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    columns = [
        "claim",
        "reference",
        "parameters",
        "measured",
        "CI",
        "prediction",
        "verdict",
        "note",
    ]
    out = [
        [
            r["claim"],
            r["reference"],
            r["parameters"],
            r["measured"],
            r["ci"],
            r["prediction"],
            VERDICT_MARK[r["verdict"]],
            r.get("note", ""),
        ]
        for r in rows
    ]
    return columns, out


def provenance_line(prov: dict[str, Any]) -> str:
    """One sentence of provenance; settings a command does not have (no seed for a
    deterministic verb) are left out rather than shown as missing."""
    commit = prov.get("commit")
    dirty = {True: " (dirty tree)", False: "", None: " (dirty flag unknown)"}[prov.get("dirty")]
    parts = [f"Command `{prov.get('command', '?')}`"]
    if prov.get("seed") is not None:
        parts.append(f"seed {prov['seed']}")
    if prov.get("scale") is not None:
        parts.append(f"scale {prov['scale']}")
    if prov.get("backend") is not None:
        rng = f" (RNG {prov['rng_mode']})" if prov.get("rng_mode") is not None else ""
        parts.append(f"backend {prov['backend']}{rng}")
    parts.append(f"commit `{commit[:12]}`{dirty}" if commit else "commit unknown")
    parts.append(
        f"infonce-sim {prov.get('version')}, NumPy {prov.get('numpy')}, SciPy {prov.get('scipy')}"
    )
    if prov.get("wall_time_s") is not None:
        parts.append(f"wall time {fmt(prov['wall_time_s'])} s")
    if prov.get("resumed_cells"):
        parts.append(
            f"resumed {prov['resumed_cells']} saved cells; compute time including them "
            f"{fmt(prov.get('compute_time_s'))} s"
        )
    return ", ".join(parts) + "."


def study_markdown(result: dict[str, Any]) -> str:
    """Markdown page of one result: verdicts, tables, figures, notes and provenance (the
    sections a result does not have, such as verdicts for an audit, are left out)."""
    name = result["study"]
    parts = [f"# {result['title']} (`{name}`)", ""]
    if result["claims"]:
        parts += ["Claims tested: " + "; ".join(result["claims"]) + ".", ""]
    parts.append(provenance_line(result.get("provenance", {})))
    if result["rows"]:
        parts += ["", verdict_counts(result["rows"]).capitalize() + "."]
    for kind, heading in (
        (CLAIM, "Claims of the paper"),
        (FINDING, "Findings beyond the paper (against the project's own prediction)"),
    ):
        rows = [r for r in result["rows"] if row_kind(r) == kind]
        if rows:
            parts += ["", f"## {heading}", ""]
            parts.append(markdown_table(*verdict_rows_table(rows)))
    for table_id, table in result["tables"].items():
        parts += ["", f"## {table['title']}", ""]
        parts.append(markdown_table(table["columns"], table_cells(table)))
        if table.get("symbols"):
            parts += ["", symbols_line(table["symbols"])]
        parts += ["", f"CSV: `{name}-{table_id}.csv`, LaTeX: `{name}-{table_id}.tex`"]
    if result["figures"]:
        parts += ["", "## Figures", ""]
        for fig in result["figures"]:
            parts += [f"![{fig['title']}]({figure_filename(name, fig)})", ""]
    if result["notes"]:
        parts += ["", "## Notes", ""]
        parts += [f"- {note}" for note in result["notes"]]
    return "\n".join(parts).rstrip() + "\n"


#: Symbols that a table must define under it when its columns use them (item 13 of issue 9).
TABLE_SYMBOLS = (
    "eta2",
    "rho_m",
    "tau",
    "kappa",
    "alpha",
    "beta",
    "||m||^2",
    "Phi",
    "A_d",
    "L_N",
    "E[u.v]",
    "TV",
    "KL",
    "CV",
    "AD",
    "DP",
)


def undefined_symbols(table: dict[str, Any]) -> list[str]:
    """Symbols of :data:`TABLE_SYMBOLS` that the table's column names use but its ``symbols``
    note does not define (a key containing the symbol defines it)."""
    import re

    keys = " ".join(table.get("symbols", {}))
    used = []
    for sym in TABLE_SYMBOLS:
        # Alphanumeric symbols match as whole words ("TV" not inside "TVD"); others verbatim.
        pattern = rf"(?<![A-Za-z]){re.escape(sym)}(?![A-Za-z])"
        if any(re.search(pattern, c) for c in table["columns"]) and not re.search(pattern, keys):
            used.append(sym)
    return used


def symbols_line(symbols: dict[str, str]) -> str:
    """The definitions printed under a table: ``Symbols: tau: temperature; ...``."""
    return "Symbols: " + "; ".join(f"{k}: {v}" for k, v in symbols.items()) + "."


def table_cells(table: dict[str, Any]) -> list[list[Any]]:
    """The cells of a study table (rows keyed by column name) in column order."""
    columns = table["columns"]
    return [[row[c] for c in columns] for row in table["rows"]]


def table_csv(table: dict[str, Any]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(table["columns"])
    for row in table_cells(table):
        writer.writerow(
            ["" if v is None else (repr(v) if isinstance(v, float) else v) for v in row]
        )
    return buf.getvalue()


_LATEX_SPECIAL = {
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "\\": r"\textbackslash{}",
}


def _latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


_LATEX_SYMBOL = re.compile(
    r"(?<![A-Za-z])("
    r"eta2|\|\|m\|\|\^2|\|m\|\^2|E\[u\.v\]|sqrt\(\w+\)|<=|>="
    r"|(?:rho|tau|kappa|alpha|beta|sigma|mu|Phi|Sigma|eta)(?:_\w+|\d+)?(?:\^\d+)?"
    r"|[A-Z]_[A-Za-z0-9]+|[A-Za-z]\^\d+"
    r")(?![A-Za-z])"
)
_GREEK = ("rho", "tau", "kappa", "alpha", "beta", "sigma", "mu", "Phi", "Sigma", "eta")


def _latex_symbol(sym: str) -> str:
    """Math-mode form of one symbol matched by :data:`_LATEX_SYMBOL`."""
    if sym == "eta2":
        return r"$\eta^2$"
    if sym in ("<=", ">="):
        return r"$\le$" if sym == "<=" else r"$\ge$"
    if sym == "||m||^2":
        return r"$\|m\|^2$"
    if sym == "|m|^2":
        return r"$|m|^2$"
    if sym == "E[u.v]":
        return r"$E[u \cdot v]$"
    if sym.startswith("sqrt("):
        return r"$\sqrt{" + sym[5:-1] + "}$"
    base, _, power = sym.partition("^")
    base, _, sub = base.partition("_")
    digits = base.lstrip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    if digits and not sub:
        base, sub = base[: -len(digits)], digits
    out = "\\" + base if base in _GREEK else base
    if sub:
        out += "_{" + sub + "}"
    if power:
        out += "^{" + power + "}"
    return f"${out}$"


def latex_text(text: str) -> str:
    """Escape ``text`` for LaTeX and set the paper's symbols (eta2, rho_m, tau, ||m||^2, ...) in
    math mode."""
    out, last = [], 0
    for m in _LATEX_SYMBOL.finditer(text):
        out.append(_latex_escape(text[last : m.start()]))
        out.append(_latex_symbol(m.group(1)))
        last = m.end()
    out.append(_latex_escape(text[last:]))
    return "".join(out)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def table_latex(table: dict[str, Any]) -> str:
    """LaTeX table: symbols in math mode, numeric columns right-aligned, the symbols defined
    under the tabular."""
    cols = table["columns"]
    cells = table_cells(table)
    align = "".join(
        "r"
        if any(_is_number(row[i]) for row in cells)
        and all(v is None or _is_number(v) for v in (row[i] for row in cells))
        else "l"
        for i in range(len(cols))
    )
    lines = [
        r"\begin{table}[ht]",
        r"\centering",
        r"\begin{tabular}{" + align + "}",
        r"\hline",
        " & ".join(latex_text(str(c)) for c in cols) + r" \\",
        r"\hline",
    ]
    lines += [" & ".join(_latex_escape(fmt(v)) for v in row) + r" \\" for row in cells]
    lines += [r"\hline", r"\end{tabular}"]
    if table.get("symbols"):
        lines.append(
            r"\par\smallskip{\footnotesize "
            + "; ".join(f"{latex_text(k)}: {latex_text(v)}" for k, v in table["symbols"].items())
            + ".}"
        )
    lines += [r"\caption{" + latex_text(table["title"]) + "}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def figure_filename(study: str, fig: dict[str, Any]) -> str:
    return f"{study}-{fig['id']}.png"


_STYLE = {
    "line": {"linestyle": "-", "marker": "o", "markersize": 3},
    "dashed": {"linestyle": "--"},
    "points": {"linestyle": "none", "marker": "o", "markersize": 4},
    "step": {"drawstyle": "steps-mid"},
}


#: Styles of reference lines (hlines, vlines), in order of appearance.
_REFERENCE_STYLES = (
    {"color": "black", "linestyle": ":"},
    {"color": "tab:red", "linestyle": "--"},
    {"color": "tab:purple", "linestyle": "-."},
    {"color": "tab:brown", "linestyle": (0, (5, 1, 1, 1, 1, 1))},
)


def figure_png(fig: dict[str, Any]) -> bytes:
    """Draw one figure spec with matplotlib's non-interactive Agg canvas and return PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 4.4), dpi=110)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    if fig.get("kind", "xy") == "hist":
        for s in fig["series"]:
            heights = s.get("density", s.get("counts"))
            edges = s["edges"]
            ax.stairs(heights, edges, label=s["label"], fill=s.get("fill", False))
        if fig.get("overflow_above") is not None:
            # The last bin also holds every value beyond the range shown: say so on the plot.
            ax.annotate(
                f"last bin also counts every value above {fmt(fig['overflow_above'], 3)}",
                xy=(1.0, 1.0),
                xycoords="axes fraction",
                xytext=(-4, -4),
                textcoords="offset points",
                ha="right",
                va="top",
                fontsize=7,
            )
    else:
        groups: dict[str, str] = {}
        for s in fig["series"]:
            x = [float("nan") if v is None else v for v in s["x"]]
            y = [float("nan") if v is None else v for v in s["y"]]
            kw = dict(_STYLE.get(s.get("style", "line"), {}))
            if "group" in s:
                kw["color"] = groups.setdefault(s["group"], f"C{len(groups) % 10}")
            if "ci_low" in s:
                low = [
                    yi - lo if lo is not None else 0 for yi, lo in zip(y, s["ci_low"], strict=True)
                ]
                high = [
                    hi - yi if hi is not None else 0 for yi, hi in zip(y, s["ci_high"], strict=True)
                ]
                err = [[max(v, 0) for v in low], [max(v, 0) for v in high]]
                lines = ax.errorbar(x, y, yerr=err, label=s["label"], capsize=2, **kw)
                if len(x) > 1:
                    # Bars narrower than a marker vanish: a shaded band keeps the CI visible.
                    lo_band = [float("nan") if v is None else v for v in s["ci_low"]]
                    hi_band = [float("nan") if v is None else v for v in s["ci_high"]]
                    ax.fill_between(
                        x, lo_band, hi_band, color=lines[0].get_color(), alpha=0.2, linewidth=0
                    )
            else:
                ax.plot(x, y, label=s["label"], **kw)
    # Each reference line gets its own style, so that two of them are told apart in print.
    refs = [("h", h) for h in fig.get("hlines", [])] + [("v", v) for v in fig.get("vlines", [])]
    for i, (axis, ref) in enumerate(refs):
        style = _REFERENCE_STYLES[i % len(_REFERENCE_STYLES)]
        draw = ax.axhline if axis == "h" else ax.axvline
        draw(ref["at"], label=ref.get("label"), linewidth=1.2, **style)
    ax.set_xscale(fig.get("xscale", "linear"))
    ax.set_yscale(fig.get("yscale", "linear"))
    ax.set_xlabel(fig.get("xlabel", ""))
    ax.set_ylabel(fig.get("ylabel", ""))
    ax.set_title(fig["title"], fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    if any(s.get("label") for s in fig["series"]):
        ax.legend(fontsize=7)
    figure.tight_layout()
    buf = io.BytesIO()
    figure.savefig(buf, format="png")
    return buf.getvalue()


def study_files(result: dict[str, Any]) -> dict[str, bytes]:
    """Every rendered file of one study (file name to bytes), the JSON itself excluded."""
    name = result["study"]
    files = {f"{name}.md": study_markdown(result).encode()}
    for table_id, table in result["tables"].items():
        files[f"{name}-{table_id}.csv"] = table_csv(table).encode()
        files[f"{name}-{table_id}.tex"] = table_latex(table).encode()
    for fig in result["figures"]:
        files[figure_filename(name, fig)] = figure_png(fig)
    return files


def index_markdown(results: list[dict[str, Any]]) -> str:
    """``reports/index.md``: every verdict row of every saved study, claims of the paper and the
    project's own findings in separate sections, with headline counts for each."""
    parts = ["# infonce-sim report index", ""]
    parts.append(
        "Paper: Betser, Gofer, Levi, Gilboa, *InfoNCE Induces Gaussian Distribution*, ICLR 2026 "
        "(arXiv:2602.24012). Each row is one check made by one study; follow the study link "
        "for tables, figures and provenance. Claims of the paper get `holds`, `violated` or "
        "`inconclusive`; findings beyond the paper are measured against the project's own stated "
        "prediction and get `holds`, `not as predicted` or `inconclusive`, never `violated`."
    )
    ordered = sorted(results, key=lambda r: r["study"])
    all_rows = [r for result in ordered for r in result["rows"]]
    parts += ["", verdict_counts(all_rows).capitalize() + "."]
    for kind, heading, extra in (
        (CLAIM, "Claims of the paper", []),
        (FINDING, "Findings beyond the paper", ["prediction"]),
    ):
        rows = [
            [
                f"[{result['study']}]({result['study']}.md)",
                r["claim"],
                r["reference"],
                *([fmt(r["prediction"])] if extra else []),
                VERDICT_MARK[r["verdict"]],
                r.get("note", ""),
            ]
            for result in ordered
            for r in result["rows"]
            if row_kind(r) == kind
        ]
        parts += ["", f"## {heading}", ""]
        if rows:
            parts.append(
                markdown_table(["study", "claim", "reference", *extra, "verdict", "note"], rows)
            )
        else:
            parts.append("None in these results.")
    parts += ["", "## Provenance", ""]
    for result in ordered:
        parts.append(f"- `{result['study']}`: " + provenance_line(result.get("provenance", {})))
    return "\n".join(parts) + "\n"
