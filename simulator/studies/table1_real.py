"""Study ``table1-real``: Table 1's CIFAR-10 columns (contrastive against supervised training,
Sec. 5) asked at a small size on real images, scikit-learn's bundled handwritten digits, with a
non-contrastive self-supervised row (VICReg) and the untrained encoder (E0).

The same MLP encoder (``hidden`` units, output dimension ``d``) is trained four ways from each
seed's own stream (:func:`simulator.contrastive.trainer.train`):

* ``infonce``: Eq. 2 on two augmented views (:mod:`simulator.contrastive.image_augment`); no
  projection head, so the embedding judged is the one the loss sees;
* ``supervised``: cross-entropy through a linear head on the same representation (one
  augmented view per image);
* ``vicreg``: invariance, variance and covariance terms, no uniformity term
  (:mod:`simulator.contrastive.vicreg`);
* E0: the untrained encoder of the ``infonce`` cell (its initial weights).

Per run, on the embeddings of the clean test images (fixed stratified split, 25%): the paper's
Table 1 metrics (CV of norms, Eq. 20; AD and DP means and pass fractions, unnormalised ``z`` and
normalised ``sqrt(d) u``) beside calibrated nulls, a linear-probe accuracy
(:func:`simulator.contrastive.probe.linear_probe`: ridge, 5-fold cross-validation on the test
split), and alignment ``E[u.v]`` and uniformity from the trainer's held-out augmented pairs. eta2
of the augmentation has no closed form; an ACE lower bound is reported
(:func:`simulator.contrastive.probe.augmentation_eta2_lower`).

The same objectives run on the synthetic settings of App. E.1 (small sizes): the mixture ``gmm``,
whose component is the supervised label, with all four; ``laplace`` has no labels, so it has the
three label-free rows (its probe is not defined).

The study reports no Prop. 1 bound (eta2 of the digits augmentation is unknown), so the synthetic
runs are given the trivial eta2 interval ``[0, 1]`` instead of computing their channels' eta2.

Cells: ``("eta2", "digits")``, ``("real", loss, seed)`` and
``("synthetic", setting, loss, seed)``. CIs over seeds are Student-t intervals of seed means;
comparisons are paired over seeds (same seed index, independent streams per loss).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from simulator.contrastive.data import DataSetting, Eta2
from simulator.contrastive.images import ImageSetting, load_digits_split
from simulator.contrastive.infonce import normalise_rows
from simulator.contrastive.probe import augmentation_eta2_lower, linear_probe
from simulator.contrastive.trainer import TrainConfig, metrics_block, train, train_memory_bytes
from simulator.gaussianity.metrics import AD_CRITICAL_5, anderson_normal
from simulator.gaussianity.nulls import coordinate_null, coordinate_null_memory_bytes
from simulator.results import HOLDS, INCONCLUSIVE, VIOLATED, StudyResult, series
from simulator.studies.registry import Cell, RunContext, register
from simulator.studies.table1_synthetic import pass_ci, seed_ci

NAME = "table1-real"
LOSSES = ("infonce", "supervised", "vicreg")
SYNTHETIC = {"gmm": LOSSES, "laplace": ("infonce", "vicreg")}
#: Train and test images of the digits split (:func:`load_digits_split`), their pixels and
#: classes: the sizes of the memory bound, stated so that it is computed without loading them.
DIGITS_TRAIN, DIGITS_TEST, DIGITS_PIXELS, DIGITS_CLASSES = 1347, 450, 64, 10
ROWS = (("contrastive", "infonce"), ("supervised", "supervised"), ("VICReg", "vicreg"))
#: Table 1's CIFAR-10 ResNet-18 columns (unnormalised; paper's values, never used for tuning)
#: and, from the paper's text, the contrastive model's normalised pass rates.
PAPER_CIFAR = {
    "supervised": {"cv": 0.5, "ad_mean": 3.3, "ad_pass": 0.062, "dp_mean": 0.041, "dp_pass": 0.039},
    "contrastive": {
        "cv": 0.09,
        "ad_mean": 0.43,
        "ad_pass": 0.961,
        "dp_mean": 0.39,
        "dp_pass": 0.945,
        "u_ad_pass": 0.92,
        "u_dp_pass": 0.78,
    },
}
METRICS = (
    "cv",
    "ad_mean",
    "ad_pass",
    "dp_mean",
    "dp_pass",
    "u_ad_mean",
    "u_ad_pass",
    "u_dp_mean",
    "u_dp_pass",
)


@dataclass(frozen=True)
class Table1RealConfig:
    """Sizes of one scale (every field is a parameter of the trainings or of the evaluation).

    ``d``, ``hidden``: encoder output dimension and MLP width; ``batch``, ``tau``, ``lr``,
    ``epochs``: training; ``seeds`` per loss; ``probe_folds``; ``null_columns`` of each
    calibrated null; ``eta2_pairs`` for the ACE bound; ``synthetic_*``: the App. E.1 settings'
    input dimension, item counts and epochs (smaller than the paper's) and the gmm components
    (the paper's 25; every component needs ``probe_folds`` test items for the probe).
    """

    seeds: int = 5
    d: int = 64
    hidden: int = 256
    batch: int = 128
    tau: float = 0.1
    lr: float = 1e-3
    epochs: int = 100
    probe_folds: int = 5
    null_columns: int = 2_000
    eta2_pairs: int = 4_000
    synthetic_p: int = 256
    synthetic_n_train: int = 2_048
    synthetic_n_test: int = 1_000
    synthetic_epochs: int = 40
    synthetic_components: int = 25

    def memory_bytes(self) -> int:
        """Upper bound of one cell's memory, the largest of:

        * a training run (:func:`~simulator.contrastive.trainer.train_memory_bytes`, eta2
          given) on the digits, bounded as a binary setting of the split's sizes (the bound
          counts items and views alike and has no eta2 term for either), or on a synthetic
          setting; plus the evaluation of its embeddings, one at a time: a null
          (:func:`~simulator.gaussianity.nulls.coordinate_null_memory_bytes`) and
          ``24 n (d + classes)`` float64 (metrics copies, unit rows, the probe's one-hot
          targets and folds);
        * the eta2 cell: ``16 pairs p`` (items, two augmented views and their temporaries),
          ``4 items p`` (the digits, centred for the SVD) and ACE's bootstrap (200 tables of at
          most 64 x 64 bins, counted twice).
        """
        digits = DataSetting("binary", p=DIGITS_PIXELS, n_train=DIGITS_TRAIN, n_test=DIGITS_TEST)
        runs = [(digits, DIGITS_CLASSES)] + [
            (_synthetic_setting(self, name), self.synthetic_components) for name in SYNTHETIC
        ]
        cells = []
        for data, classes in runs:
            run = train_memory_bytes(self.train_config(data, "infonce", 1), eta2_given=True)
            evaluate = coordinate_null_memory_bytes(
                data.n_test, self.null_columns
            ) + 8 * 24 * data.n_test * (self.d + classes)
            cells.append(run + evaluate)
        items = DIGITS_TRAIN + DIGITS_TEST
        eta2 = 8 * (16 * self.eta2_pairs * DIGITS_PIXELS + 4 * items * DIGITS_PIXELS)
        return max(*cells, eta2 + 8 * 2 * 200 * 64**2)

    def train_config(self, data: Any, loss: str, epochs: int) -> TrainConfig:
        return TrainConfig(
            data=data,
            encoder="mlp",
            d=self.d,
            hidden=self.hidden,
            batch=self.batch,
            tau=self.tau,
            epochs=epochs,
            lr=self.lr,
            loss=loss,
            eval_every=epochs,
            null_columns=self.null_columns,
            uniformity_rows=min(2_000, data.n_test),
        )


CONFIGS = {
    "quick": Table1RealConfig(
        seeds=3,
        epochs=15,
        null_columns=500,
        eta2_pairs=2_000,
        synthetic_p=128,
        synthetic_n_train=1_024,
        synthetic_n_test=512,
        synthetic_epochs=8,
    ),
    "full": Table1RealConfig(),
}
#: For tests: every code path in seconds.
TINY = Table1RealConfig(
    seeds=2,
    d=8,
    hidden=16,
    batch=64,
    epochs=1,
    null_columns=50,
    eta2_pairs=200,
    synthetic_p=16,
    synthetic_n_train=128,
    synthetic_n_test=256,
    synthetic_epochs=1,
    synthetic_components=4,
    probe_folds=3,
)


#: Passed to the synthetic runs in place of their channels' eta2 (module docstring).
UNUSED_ETA2 = Eta2(0.0, 1.0, 0.0, "not computed: this study reports no Prop. 1 bound")


# --------------------------------------------------------------------------- cell functions


def eta2_cell(cell: Cell) -> dict[str, Any]:
    """``("eta2", "digits")``: ACE lower bound of the augmentation's eta2."""
    cfg: Table1RealConfig = cell.config
    split = load_digits_split()
    return augmentation_eta2_lower(split.train_images, pairs=cfg.eta2_pairs, rng=cell.rng)


def _synthetic_setting(cfg: Table1RealConfig, name: str) -> DataSetting:
    return DataSetting(
        name,
        p=cfg.synthetic_p,
        n_train=cfg.synthetic_n_train,
        n_test=cfg.synthetic_n_test,
        components=cfg.synthetic_components,
    )


def _evaluate(
    z: np.ndarray,
    labels: np.ndarray | None,
    classes: int,
    cfg: Table1RealConfig,
    gen: np.random.Generator,
) -> dict[str, Any]:
    """Table 1 metrics of ``z`` (and ``sqrt(d) u``) beside the calibrated nulls, the per-
    coordinate AD statistics and the linear probe (None without labels)."""
    n, d = z.shape
    g_z, g_u, g_probe = gen.spawn(3)
    null_z = coordinate_null(n, d, "gaussian", columns=cfg.null_columns, rng=g_z)
    null_u = coordinate_null(n, d, "sphere", columns=cfg.null_columns, rng=g_u)
    bz = metrics_block(z, null_z, with_cv=True)
    u, _ = normalise_rows(z)
    bu = metrics_block(math.sqrt(d) * u, null_u, with_cv=False)
    out = {
        "cv": bz["cv"],
        "ad_mean": bz["ad_mean"],
        "ad_counts": [bz["ad_pass"]["passed"], bz["ad_pass"]["total"]],
        "dp_mean": bz["dp_mean"],
        "dp_counts": [bz["dp_pass"]["passed"], bz["dp_pass"]["total"]],
        "u_ad_mean": bu["ad_mean"],
        "u_dp_mean": bu["dp_mean"],
        "u_ad_counts": [bu["ad_pass"]["passed"], bu["ad_pass"]["total"]],
        "u_dp_counts": [bu["dp_pass"]["passed"], bu["dp_pass"]["total"]],
        "null_ad_pass": bz["null"]["ad_pass"]["expected"],
        "u_null_ad_pass": bu["null"]["ad_pass"]["expected"],
        "ad_stats": [float(a) for a in anderson_normal(z, axis=0)],
        "null_ad_quantiles": [
            float(q) for q in np.quantile(null_z.ad_values, (np.arange(d) + 0.5) / d)
        ],
        "probe": None,
        "probe_se": None,
    }
    for key in ("ad", "dp", "u_ad", "u_dp"):
        k, total = out[f"{key}_counts"]
        out[f"{key}_pass"] = k / total
    if labels is not None:
        p = linear_probe(z, labels, folds=cfg.probe_folds, classes=classes, rng=g_probe)
        out["probe"], out["probe_se"] = p.accuracy, p.standard_error
        out["chance"] = p.chance
    return out


def _run_summary(
    run: Any,
    z: np.ndarray,
    z0: np.ndarray,
    labels: np.ndarray | None,
    classes: int,
    cfg: Table1RealConfig,
    streams: list[np.random.Generator],
) -> dict[str, Any]:
    g_trained, g_e0 = streams
    first, last = run.history[0], run.history[-1]
    return {
        "trained": {
            **_evaluate(z, labels, classes, cfg, g_trained),
            "alignment": last["alignment"]["value"],
            "uniformity": last["uniformity"],
        },
        "e0": {
            **_evaluate(z0, labels, classes, cfg, g_e0),
            "alignment": first["alignment"]["value"],
            "uniformity": first["uniformity"],
        },
        "loss_first": first["loss"],
        "loss_last": last["loss"],
        "epochs": last["epoch"],
        "diverged": run.diverged,
    }


def real_cell(cell: Cell) -> dict[str, Any]:
    """``("real", loss, seed)``: one training on the digits, evaluated on the clean test set."""
    cfg: Table1RealConfig = cell.config
    split = load_digits_split()
    g_train, *streams = cell.rng.spawn(3)
    run = train(cfg.train_config(ImageSetting(split), cell.key[1], cfg.epochs), rng=g_train)
    z = run.clean_embeddings.astype(np.float64)
    z0 = run.clean_embeddings_e0.astype(np.float64)
    return _run_summary(run, z, z0, split.test_labels, split.classes, cfg, streams)


def synthetic_cell(cell: Cell) -> dict[str, Any]:
    """``("synthetic", setting, loss, seed)``: one training on an App. E.1 setting, evaluated on
    one held-out view per test item (the trainer's embeddings); the gmm probe predicts the
    component."""
    cfg: Table1RealConfig = cell.config
    name, loss = cell.key[1], cell.key[2]
    setting = _synthetic_setting(cfg, name)
    g_train, *streams = cell.rng.spawn(3)
    run = train(
        cfg.train_config(setting, loss, cfg.synthetic_epochs), rng=g_train, eta2=UNUSED_ETA2
    )
    labels = np.asarray(run.test_items, dtype=np.int64) if setting.has_labels else None
    z, z0 = run.embeddings.astype(np.float64), run.embeddings_e0.astype(np.float64)
    return _run_summary(run, z, z0, labels, setting.components, cfg, streams)


# --------------------------------------------------------------------------- the study

TITLE = "Table 1 CIFAR-10 columns at small size: contrastive, supervised, VICReg, E0 on digits"
CLAIMS = (
    "Table 1 (Sec. 5): contrastive embeddings are more Gaussian than supervised ones "
    "(CIFAR-10 ResNet-18: AD pass 96.1% against 6.2%)",
)
#: Paired comparisons: (label, row a, row b, data blocks where both rows exist).
COMPARISONS = (
    ("contrastive - supervised", "contrastive", "supervised"),
    ("contrastive - VICReg", "contrastive", "VICReg"),
    ("contrastive - E0", "contrastive", "E0"),
    ("VICReg - E0", "VICReg", "E0"),
    ("supervised - E0", "supervised", "E0"),
)


@register(NAME, TITLE, CLAIMS, configs=CONFIGS, tiny=TINY, backends=("numpy",))
def run(ctx: RunContext) -> StudyResult:
    cfg: Table1RealConfig = ctx.config or CONFIGS[ctx.scale]
    res = StudyResult(NAME, TITLE, list(CLAIMS))
    (eta_digits,) = ctx.map(eta2_cell, [("eta2", "digits")], cfg, desc="eta2")
    real_keys = [("real", loss, seed) for loss in LOSSES for seed in range(cfg.seeds)]
    real = dict(zip(real_keys, ctx.map(real_cell, real_keys, cfg, desc="digits"), strict=True))
    syn_keys = [
        ("synthetic", s, loss, seed)
        for s, losses in SYNTHETIC.items()
        for loss in losses
        for seed in range(cfg.seeds)
    ]
    syn = dict(zip(syn_keys, ctx.map(synthetic_cell, syn_keys, cfg, desc="synthetic"), strict=True))
    blocks = {
        "digits": _rows(cfg, lambda loss, seed: real[("real", loss, seed)], LOSSES),
        **{
            s: _rows(cfg, lambda loss, seed, s=s: syn[("synthetic", s, loss, seed)], losses)
            for s, losses in SYNTHETIC.items()
        },
    }
    _table(res, cfg, blocks)
    _verdicts(res, cfg, blocks["digits"])
    _paired_table(res, cfg, blocks)
    for data in ("digits", "gmm"):
        _ad_figure(res, data, blocks[data])
    lower = eta_digits["lower"]
    res.notes.append(
        f"eta2 (Eq. 5) of the digits augmentation has no closed form; ACE lower bound: eta2 >= "
        f"{lower:.3g} (lower end of the 95% bootstrap interval of the binned HGR of two views' "
        f"projections on the first principal direction, {eta_digits['pairs']} pairs; "
        "rho_m(X, Y) <= eta2 by Eq. 23 and the data-processing inequality). The trainer's "
        "Prop. 1 ceiling for the digits therefore uses the trivial eta2 <= 1."
    )
    res.notes.append(
        "Digits: 8 x 8 images, fixed stratified split (25% test, 450 images), standardised with "
        f"the training statistics; MLP encoder {cfg.hidden} hidden units, d = {cfg.d}, batch "
        f"{cfg.batch}, tau {cfg.tau:g}, Adam lr {cfg.lr:g}, {cfg.epochs} epochs (the paper's "
        "CIFAR-10 ResNet-18 is a different network and data set: the paper's column is shown "
        "beside ours, not as a prediction of our numbers). Gaussianity metrics and the probe "
        "use the clean test images; alignment and uniformity use the trainer's held-out pairs of "
        "augmented views. Probe: ridge on standardised embeddings, "
        f"{cfg.probe_folds}-fold stratified cross-validation within the test split."
    )
    res.notes.append(
        "Synthetic rows (App. E.1 settings at reduced size: p = "
        f"{cfg.synthetic_p}, {cfg.synthetic_n_train} train / {cfg.synthetic_n_test} test items, "
        f"{cfg.synthetic_epochs} epochs): supervised labels are the gmm mixture components; "
        "laplace has no labels, hence no supervised row and no probe. Metrics on one held-out "
        "view per test item."
    )
    for v in [*real.values(), *syn.values()]:
        if v["diverged"]:
            res.notes.append(f"A run diverged: {v['diverged']}")
    return res


def _rows(cfg: Table1RealConfig, get: Any, losses: tuple[str, ...]) -> dict[str, list[dict]]:
    """Per row label, the per-seed evaluation dicts (E0 from the contrastive cells)."""
    out = {
        label: [get(loss, s)["trained"] for s in range(cfg.seeds)]
        for label, loss in ROWS
        if loss in losses
    }
    out["E0"] = [get("infonce", s)["e0"] for s in range(cfg.seeds)]
    out["_loss"] = [
        {"first": get("infonce", s)["loss_first"], "last": get("infonce", s)["loss_last"]}
        for s in range(cfg.seeds)
    ]
    return out


def _ci(values: list[dict], metric: str) -> tuple[float, float, float] | None:
    if values[0].get(metric) is None and values[0].get(f"{metric[:-5]}_counts") is None:
        return None
    if metric.endswith("_pass"):
        return pass_ci([v[f"{metric[:-5]}_counts"] for v in values])
    bounds = {"cv": (0.0, math.inf), "ad_mean": (0.0, math.inf), "dp_mean": (0.0, 1.0)}
    bounds.update({"u_ad_mean": (0.0, math.inf), "u_dp_mean": (0.0, 1.0)})
    bounds.update({"probe": (0.0, 1.0), "alignment": (-1.0, 1.0)})
    return seed_ci([v[metric] for v in values], bounds=bounds.get(metric))


SYMBOLS = {
    "cv": "coefficient of variation of the embedding norms (Eq. 20)",
    "AD": "Anderson-Darling statistic A^2 per coordinate (pass when A^2 < 0.752)",
    "ad_mean": "mean A^2 over coordinates",
    "ad_pass": "fraction of coordinates with A^2 < 0.752",
    "dp_mean": "mean D'Agostino-Pearson p-value over coordinates",
    "dp_pass": "fraction of coordinates with p > 0.05",
    "u": "the normalised embedding f(x)/||f(x)|| (coordinates scaled by sqrt(d) for the tests)",
    "alignment": "E[u.v] over held-out pairs of augmented views",
    "uniformity": "Wang-Isola uniformity loss log E exp(-2||u - v||^2) over held-out pairs",
    "probe": "linear-probe accuracy (ridge, stratified 5-fold CV on the test split)",
    "CI": "95% interval over seeds",
    "E0": "the untrained encoder",
}


def _text(ci: tuple[float, float, float] | None) -> str | None:
    """An interval for prose (notes), never for a table cell."""
    return None if ci is None else f"{ci[0]:.3g} [{ci[1]:.3g}, {ci[2]:.3g}]"


def _estimate_cells(name: str, ci: tuple[float, float, float] | None) -> dict[str, Any]:
    """Three one-value cells: the mean and the ends of its 95% interval."""
    mean, low, high = (None, None, None) if ci is None else ci
    return {name: mean, f"{name} CI low": low, f"{name} CI high": high}


def _table(res: StudyResult, cfg: Table1RealConfig, blocks: dict[str, dict]) -> None:
    rows = []
    for data, block in blocks.items():
        for label, values in block.items():
            if label.startswith("_"):
                continue
            paper = PAPER_CIFAR.get(label, {}) if data == "digits" else {}
            row: dict[str, Any] = {"data": data, "encoder": label}
            for m in METRICS:
                row[f"{m} (paper, CIFAR-10)"] = paper.get(m)
                row |= _estimate_cells(f"{m} (ours)", _ci(values, m))
            row["Gaussian-null AD pass"] = float(np.mean([v["null_ad_pass"] for v in values]))
            row["sphere-null AD pass (u)"] = float(np.mean([v["u_null_ad_pass"] for v in values]))
            for name in ("probe", "alignment", "uniformity"):
                row |= _estimate_cells(name, _ci(values, name))
            rows.append(row)
    res.add_table(
        "table1-real",
        f"Contrastive, supervised, VICReg and untrained (E0) encoders: mean and 95% CI over "
        f"{cfg.seeds} seeds; u_* are the normalised embeddings sqrt(d) u; pass fractions pool "
        "the seeds' Clopper-Pearson and t intervals",
        list(rows[0]),
        rows,
        symbols=SYMBOLS,
    )


def _paired(block: dict, a: str, b: str, metric: str) -> tuple[float, float, float] | None:
    if a not in block or b not in block or block[a][0].get(metric) is None:
        return None
    diffs = [x[metric] - y[metric] for x, y in zip(block[a], block[b], strict=True)]
    bounds = (-1.0, 1.0) if metric.endswith("_pass") or metric == "probe" else None
    return seed_ci(diffs, bounds=bounds)


def _verdicts(res: StudyResult, cfg: Table1RealConfig, block: dict) -> None:
    for metric, sign, text in (
        ("ad_pass", 1.0, "AD pass fraction (unnormalised)"),
        ("dp_pass", 1.0, "DP pass fraction (unnormalised)"),
        ("ad_mean", -1.0, "mean AD statistic (unnormalised; lower is more Gaussian)"),
        ("u_ad_pass", 1.0, "AD pass fraction (normalised)"),
    ):
        ci = _paired(block, "contrastive", "supervised", metric)
        lo, hi = sorted((sign * ci[1], sign * ci[2]))
        verdict = HOLDS if lo > 0 else VIOLATED if hi < 0 else INCONCLUSIVE
        note = ""
        if verdict == VIOLATED and cfg.epochs < CONFIGS["full"].epochs:
            verdict = INCONCLUSIVE
            note = (
                f"would be violated, but {cfg.epochs} epochs < the full scale's "
                f"{CONFIGS['full'].epochs}: not a test of the claim at this scale; "
            )
        paper = PAPER_CIFAR["contrastive"][metric] - PAPER_CIFAR["supervised"].get(metric, math.nan)
        res.add_verdict(
            f"digits: contrastive more Gaussian than supervised by the {text}",
            "Table 1 (Sec. 5), CIFAR-10 columns",
            verdict,
            measured=sign * ci[0],
            ci=(lo, hi),
            prediction="> 0"
            + ("" if math.isnan(paper) else f" (paper, CIFAR-10: {sign * paper:.3g})"),
            parameters={"seeds": cfg.seeds, "epochs": cfg.epochs, "d": cfg.d, "paired": True},
            note=note + f"{'contrastive - supervised' if sign > 0 else 'supervised - contrastive'} "
            "per seed, Student-t interval over seeds",
        )


def _paired_table(res: StudyResult, cfg: Table1RealConfig, blocks: dict[str, dict]) -> None:
    columns = [
        "data",
        "comparison",
        "AD pass difference",
        "AD mean difference",
        "normalised AD pass difference",
        "probe accuracy difference",
    ]
    rows = []
    for data, block in blocks.items():
        for label, a, b in COMPARISONS:
            if a not in block or b not in block:
                continue
            row: dict[str, Any] = {"data": data, "comparison": label}
            metrics = ("ad_pass", "ad_mean", "u_ad_pass", "probe")
            for name, metric in zip(columns[2:], metrics, strict=True):
                row |= _estimate_cells(name, _paired(block, a, b, metric))
            rows.append(row)
    res.add_table(
        "paired",
        f"Paired differences over {cfg.seeds} seeds (mean and 95% t interval); findings except "
        "the contrastive - supervised rows of the digits, which carry the verdicts",
        list(rows[0]),
        rows,
        symbols=SYMBOLS,
    )
    block = blocks["digits"]
    vic = _paired(block, "contrastive", "VICReg", "ad_pass")
    res.notes.append(
        "Finding (not a claim of the paper): on the digits, contrastive minus VICReg AD pass "
        f"fraction {_text(vic)}; the non-contrastive objective without a uniformity term is "
        + (
            "less Gaussian than InfoNCE"
            if vic[1] > 0
            else "more Gaussian than InfoNCE"
            if vic[2] < 0
            else "not distinguishable from InfoNCE at this number of seeds"
        )
        + "."
    )
    e0 = _paired(block, "contrastive", "E0", "ad_pass")
    res.notes.append(
        "Finding (the paper's Sec. 5 reading is that training makes embeddings Gaussian): on the "
        f"digits, contrastive minus untrained (E0) AD pass fraction {_text(e0)}; training with "
        "InfoNCE "
        + ("raised" if e0[1] > 0 else "lowered" if e0[2] < 0 else "did not measurably change")
        + " the Gaussianity of the coordinates relative to the random-initialisation encoder."
    )
    loss = block["_loss"]
    drop = seed_ci([v["first"] - v["last"] for v in loss])
    res.notes.append(
        f"Finding: the contrastive held-out loss (Eq. 2) fell by {_text(drop)} over training "
        "(mean [95% t interval] over seeds)."
    )


def _ad_figure(res: StudyResult, data: str, block: dict) -> None:
    """Sorted per-coordinate AD statistics of the four encoders (seed 0) against the null."""
    first = block["E0"][0]
    d = len(first["ad_stats"])
    q = [(i + 0.5) / d for i in range(d)]
    curves = [
        series(label, q, sorted(values[0]["ad_stats"]))
        for label, values in block.items()
        if not label.startswith("_")
    ]
    curves.append(series("Gaussian null", q, first["null_ad_quantiles"], style="dashed"))
    res.add_figure(
        {
            "id": f"ad-{data}",
            "title": f"{data}: per-coordinate AD statistics (seed 0, sorted) against the null",
            "xlabel": "quantile level over coordinates",
            "ylabel": "AD statistic A^2",
            "series": curves,
            "hlines": [{"at": AD_CRITICAL_5, "label": "5% critical value 0.752"}],
        }
    )
