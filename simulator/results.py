"""Result objects that carry uncertainty, three-valued verdicts, and the study-result container.

Everything here is plain data: studies build these objects, the CLI serialises them to JSON, and
the renderers in :mod:`simulator.report` read the JSON back.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, field
from typing import Any

HOLDS = "holds"
VIOLATED = "violated"
INCONCLUSIVE = "inconclusive"
VERDICTS = (HOLDS, VIOLATED, INCONCLUSIVE)
#: Outcome of a finding whose measurement contradicts the project's own stated prediction; a
#: finding is never ``violated``, which is reserved for claims of the paper.
NOT_AS_PREDICTED = "not as predicted"
FINDING_VERDICTS = (HOLDS, NOT_AS_PREDICTED, INCONCLUSIVE)
#: Kinds of verdict row: a claim of the paper, or a finding of this project measured against the
#: project's own stated prediction.
CLAIM = "claim"
FINDING = "finding"
KINDS = (CLAIM, FINDING)


@dataclass(frozen=True)
class Estimate:
    """A Monte Carlo estimate with its uncertainty.

    Attributes
    ----------
    value : float
        Point estimate.
    stderr : float or None
        Standard error, when the interval comes from a normal approximation.
    ci_low, ci_high : float
        Confidence interval at level ``confidence``.
    n : int
        Sample size the estimate is based on.
    confidence : float
        Nominal coverage of ``[ci_low, ci_high]``.
    method : str
        How the interval was obtained (``"normal"``, ``"DKW"``, ...).
    seed_entropy : object
        Root entropy of the generator that drew the sample, for provenance.
    """

    value: float
    stderr: float | None
    ci_low: float
    ci_high: float
    n: int
    confidence: float = 0.95
    method: str = "normal"
    seed_entropy: Any = None

    def covers(self, x: float) -> bool:
        """True when ``x`` lies inside the confidence interval."""
        return self.ci_low <= x <= self.ci_high

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if isinstance(out["seed_entropy"], int) and out["seed_entropy"] > 2**53:
            out["seed_entropy"] = str(out["seed_entropy"])
        return out


def normal_estimate(
    values: Any, *, confidence: float = 0.95, seed_entropy: Any = None, method: str = "normal"
) -> Estimate:
    """Mean of iid per-sample values with a CLT confidence interval."""
    import numpy as np
    from scipy import stats

    v = np.asarray(values, dtype=float).ravel()
    n = v.size
    if n < 2:
        raise ValueError(f"need at least 2 values for a standard error, got {n}")
    mean = float(v.mean())
    se = float(v.std(ddof=1) / math.sqrt(n))
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    return Estimate(mean, se, mean - z * se, mean + z * se, n, confidence, method, seed_entropy)


def verdict_upper_bound(ci_low: float, ci_high: float, bound: float) -> str:
    """Verdict for the claim ``measured <= bound`` given an interval of the measured quantity.

    ``holds`` when the whole interval lies at or below ``bound``, ``violated`` when it lies
    strictly above, ``inconclusive`` when it straddles ``bound``. For an exact value known up to a
    stated numerical error ``e``, pass ``(value - e, value + e)``.
    """
    if ci_high <= bound:
        return HOLDS
    if ci_low > bound:
        return VIOLATED
    return INCONCLUSIVE


def verdict_lower_bound(ci_low: float, ci_high: float, bound: float) -> str:
    """Verdict for the claim ``measured >= bound``: the mirror image of
    :func:`verdict_upper_bound`."""
    return verdict_upper_bound(-ci_high, -ci_low, -bound)


def verdict_exact_upper_bound(value: float, bound: float, rounding: float) -> str:
    """Two-valued verdict for ``value <= bound`` when ``value`` is computed exactly up to
    floating-point ``rounding``.

    Equality is part of the claim and an exact computation of a tight case lands within rounding
    of it on either side, so anything up to ``bound + rounding`` holds; beyond, the claim fails.
    """
    return HOLDS if value <= bound + rounding else VIOLATED


def verdict_from_test(p_value: float, level: float) -> str:
    """Verdict of a claim checked by a significance test of its null hypothesis.

    ``violated`` when the test rejects at ``level``; otherwise ``holds`` (the data are consistent
    with the claim at the stated power of the test).
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie in (0, 1), got {level!r}")
    return VIOLATED if p_value < level else HOLDS


def verdict_equivalent(ci_low: float, ci_high: float, predicted: float, margin: float) -> str:
    """Equivalence verdict for ``measured == predicted`` within a stated practical ``margin``.

    ``holds`` when the whole CI lies within ``predicted +- margin``; ``violated`` when the CI
    misses that band entirely; otherwise ``inconclusive`` (the sample cannot decide).
    """
    lo, hi = predicted - margin, predicted + margin
    if lo <= ci_low and ci_high <= hi:
        return HOLDS
    if ci_high < lo or ci_low > hi:
        return VIOLATED
    return INCONCLUSIVE


def as_finding(verdict: str) -> str:
    """The outcome of a finding from a verdict helper's answer: ``violated`` (the measurement
    contradicts the stated prediction) becomes ``not as predicted``; the others are unchanged."""
    if verdict not in VERDICTS:
        raise ValueError(f"verdict must be one of {VERDICTS}, got {verdict!r}")
    return NOT_AS_PREDICTED if verdict == VIOLATED else verdict


def combine_verdicts(verdicts: list[str]) -> str:
    """``violated`` if any is violated, ``holds`` if all hold, else ``inconclusive``."""
    if any(v == VIOLATED for v in verdicts):
        return VIOLATED
    if verdicts and all(v == HOLDS for v in verdicts):
        return HOLDS
    return INCONCLUSIVE


@dataclass
class StudyResult:
    """Tidy output of one study: verdict rows, tables and figure specifications.

    ``rows`` are the verdict rows (keys: ``claim``, ``kind``, ``reference``, ``parameters``,
    ``measured``, ``ci``, ``prediction``, ``verdict``, ``note``); ``kind`` says whether the row
    checks a claim of the paper or states a finding of this project (:meth:`add_verdict`).
    ``tables`` maps a table id to ``{"title", "columns", "rows", "symbols"}`` with every row a
    dict keyed by exactly the column names and one value per cell.
    ``figures`` are specs that :mod:`simulator.report` draws. ``title`` and ``claims`` are declared
    once, when the study is registered (:func:`simulator.studies.registry.register`), which fills
    them in the result its study returns.
    """

    study: str
    title: str = ""
    claims: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    figures: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add_verdict(
        self,
        claim: str,
        reference: str,
        verdict: str,
        *,
        measured: Any = None,
        ci: tuple[float, float] | None = None,
        prediction: Any = None,
        parameters: dict[str, Any] | None = None,
        note: str = "",
        kind: str = CLAIM,
    ) -> None:
        """Add one verdict row.

        Parameters
        ----------
        claim : str
            What is checked, in words.
        reference : str
            Where the paper states it (a claim), or what the finding builds on.
        verdict : str
            For ``kind="claim"`` one of :data:`VERDICTS`; for ``kind="finding"`` one of
            :data:`FINDING_VERDICTS`, measured against the ``prediction`` the project states
            (pass a helper's answer through :func:`as_finding`).
        kind : {'claim', 'finding'}
            ``claim``: a statement of the paper; ``finding``: the project's own result, which can
            come out ``not as predicted`` but never ``violated``.
        """
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        allowed = VERDICTS if kind == CLAIM else FINDING_VERDICTS
        if verdict not in allowed:
            raise ValueError(f"verdict must be one of {allowed} for a {kind}, got {verdict!r}")
        if kind == FINDING and prediction is None:
            raise ValueError("a finding needs the project's stated prediction (prediction=...)")
        self.rows.append(
            {
                "claim": claim,
                "kind": kind,
                "reference": reference,
                "parameters": parameters or {},
                "measured": measured,
                "ci": list(ci) if ci is not None else None,
                "prediction": prediction,
                "verdict": verdict,
                "note": note,
            }
        )

    def add_table(
        self,
        table_id: str,
        title: str,
        columns: list[str],
        rows: list[dict[str, Any]],
        *,
        symbols: dict[str, str] | None = None,
    ) -> None:
        """Add table ``table_id``; each row maps every name of ``columns`` (and nothing else) to
        its cell, so a value cannot land in the wrong column.

        Every cell holds one value (a number, a string, a bool or None): an interval goes in
        separate "CI low" / "CI high" columns, so that CSV and LaTeX readers get one number per
        cell. ``symbols`` defines every symbol the table uses (rendered under the table).
        """
        if len(set(columns)) != len(columns):
            raise ValueError(f"table {table_id!r}: column names must be distinct, got {columns}")
        if table_id in self.tables:
            raise ValueError(f"table {table_id!r} added twice")
        expected = set(columns)
        for i, row in enumerate(rows):
            if not isinstance(row, dict) or set(row) != expected:
                got = sorted(row) if isinstance(row, dict) else type(row).__name__
                raise ValueError(
                    f"table {table_id!r}: row {i} must be a dict with exactly the columns "
                    f"{columns}, got {got}"
                )
            for c in columns:
                if not isinstance(row[c], str | numbers.Real | None):
                    raise ValueError(
                        f"table {table_id!r}: row {i}, column {c!r} must hold one value (number, "
                        f"string, bool or None), got {type(row[c]).__name__}"
                    )
        self.tables[table_id] = {
            "title": title,
            "columns": list(columns),
            "rows": [{c: row[c] for c in columns} for row in rows],
            "symbols": dict(symbols or {}),
        }

    def add_figure(self, spec: dict[str, Any]) -> None:
        for key in ("id", "title", "series"):
            if key not in spec:
                raise ValueError(f"figure spec needs key {key!r}")
        self.figures.append(spec)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def keyed_rows(columns: list[str], rows: list[list[Any]]) -> list[dict[str, Any]]:
    """Table rows built as lists in column order, keyed by column name for
    :meth:`StudyResult.add_table`; a row of the wrong length is an error."""
    out = []
    for i, row in enumerate(rows):
        if len(row) != len(columns):
            raise ValueError(f"row {i} has {len(row)} cells for {len(columns)} columns {columns}")
        out.append(dict(zip(columns, row, strict=True)))
    return out


def interval_cells(name: str, interval: Any) -> dict[str, Any]:
    """Two table cells ``"{name} low"`` and ``"{name} high"`` for an interval (or two empty cells
    when there is none), so that a table holds one value per cell."""
    low, high = (None, None) if interval is None else interval
    return {f"{name} low": low, f"{name} high": high}


def series(
    label: str,
    x: list[float],
    y: list[float],
    *,
    style: str = "line",
    yerr_low: list[float] | None = None,
    yerr_high: list[float] | None = None,
    group: str | None = None,
) -> dict[str, Any]:
    """One plotted series of a figure spec; ``style`` is line, dashed, points or step."""
    out: dict[str, Any] = {"label": label, "x": list(x), "y": list(y), "style": style}
    if group is not None:
        out["group"] = group  # series of one group share a colour
    if yerr_low is not None and yerr_high is not None:
        out["ci_low"] = list(yerr_low)
        out["ci_high"] = list(yerr_high)
    return out
