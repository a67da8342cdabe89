"""Contrastive training on the paper's synthetic settings (Sec. 5, App. E.1), with the paper's
diagnostics on held-out data every ``eval_every`` epochs.

One run: draw the fixed item sets (:mod:`simulator.contrastive.data`), initialise an encoder
(:mod:`simulator.contrastive.encoders`), then for each epoch shuffle the training items, cut them
into mini-batches of ``batch`` items (an incomplete last batch is dropped), draw two fresh views
of every item, and take one Adam step (:mod:`simulator.contrastive.optim`) on the loss:

``infonce`` / ``symmetric``
    Eq. 2, one direction or both, through the normalisation layer;
``alignment``
    the non-contrastive control ``-E[u.v]`` (same encoder, no uniformity term);
``supervised``
    the supervised control: cross-entropy of a linear head on the encoder output against the
    ``gmm`` component (one view per item); the embedding is the encoder output, as for the
    paper's supervised ResNet column of Table 1;
``vicreg``
    the non-contrastive self-supervised control without a uniformity term
    (:mod:`simulator.contrastive.vicreg`, on the unnormalised encoder outputs of two views).

Besides the synthetic :class:`~simulator.contrastive.data.DataSetting`, ``data`` may be an
:class:`~simulator.contrastive.images.ImageSetting` (real images; items are images, views are
augmentations, labels are the classes; eta2 is not computable and is taken as ``[0, 1]``); the
result then also holds the embeddings of the clean (unaugmented) test images, before and after
training.

With ``beta > 0`` the contrastive losses gain Route 2's regulariser
``beta (-H(rho) + lambda E||z||^2)`` of Eq. 11 on the unnormalised embeddings
(:mod:`simulator.contrastive.regularisers`: Kozachenko-Leonenko entropy with ``entropy_k``
neighbours, evaluated on each view's half of the batch separately, so that the rows of one
estimate are independent items, and averaged). ``lambda`` is given, or by default matched to the
untrained encoder (:func:`~simulator.contrastive.regularisers.matched_lambda` on the held-out
embeddings at epoch 0). ``beta = 0`` (the default) leaves training unchanged.

Diagnostics (on one view of each held-out item, drawn once so that epochs are comparable; the
paper's ``mu = f_hat_* p_X`` of Eq. 3 is the law of one view's embedding):

* ``loss``: Eq. 2 (``loss = 'symmetric'``: both directions) on held-out pairs in batches of
  ``batch``; the alignment control and the supervised control report Eq. 2 as well;
* Prop. 1 (Eq. 6): alignment ``E[u.v]`` with its CI, ``||m||^2``, the bound
  ``eta2 + (1 - eta2)||m||^2`` at the upper end of eta2's interval, and the verdict of
  :func:`simulator.hgr.alignment.prop1_from_pairs`;
* Wang & Isola's uniformity loss ``log E exp(-t ||u - u'||^2)`` (``t = 2``) and the uniformity
  potential ``Phi(mu) = E_u log E_v exp(alpha u.v)`` of Eq. 4 (plug-in over distinct held-out
  pairs) beside ``Phi(sigma)``;
* the paper's metrics (Eq. 20; Sec. 5): CV of norms, mean AD statistic, mean DP p-value and the
  pass fractions with Clopper-Pearson intervals, for unnormalised ``z`` and normalised ``u``, each
  beside a calibrated null (:mod:`simulator.gaussianity.nulls`: independent Gaussian coordinates
  for ``z``, the exact uniform-sphere coordinate for ``u``).

Arrays live in the namespace ``xp`` (NumPy or CuPy); data and initial weights are drawn on the
host (the same numbers on every backend) and copied over; the statistics are computed on the host
after an explicit :func:`simulator.backend.to_host`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from types import ModuleType
from typing import Any

import numpy as np
from scipy import special

from simulator.backend import RNGLike, array_namespace, normalize_rng, seed_entropy, to_host
from simulator.contrastive.data import GMM_ETA2_DRAWS, DataSetting, Eta2, setting_eta2
from simulator.contrastive.encoders import Encoder
from simulator.contrastive.images import ImageDataset, ImageSetting
from simulator.contrastive.infonce import (
    LOSSES,
    infonce_from_embeddings,
    normalise_rows,
    stack_rows,
    uniformity_potential_at_uniform,
)
from simulator.contrastive.optim import Adam
from simulator.contrastive.regularisers import check_regulariser, matched_lambda, route2_regulariser
from simulator.contrastive.vicreg import vicreg_loss
from simulator.gaussianity.metrics import gaussianity_metrics
from simulator.gaussianity.nulls import (
    CoordinateNull,
    compare_pass_fraction,
    coordinate_null,
    coordinate_null_memory_bytes,
)
from simulator.hgr.alignment import prop1_from_pairs
from simulator.hgr.mildness import EQ53_ETA2_MEMORY_BYTES
from simulator.validation import check_int, check_real

TRAIN_LOSSES = (*LOSSES, "supervised", "vicreg")
DTYPES = ("float32", "float64")


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on besides the seed and the backend.

    Attributes
    ----------
    data : DataSetting or ImageSetting
    encoder : {'linear', 'mlp'}
    d : int
        Representation dimension, ``d >= 2``.
    hidden : int
        MLP width.
    batch : int
        Positive pairs per step, ``>= 2``.
    tau : float
        Temperature, ``> 0`` (paper: 0.1).
    epochs : int
        Passes over the training items, ``>= 1``.
    lr, weight_decay : float
        Adam settings (paper: lr 1e-3; no weight decay stated).
    loss : {'infonce', 'symmetric', 'alignment', 'supervised', 'vicreg'}
    eval_every : int
        Diagnostics every this many epochs (and at epochs 0 and ``epochs``).
    dtype : {'float32', 'float64'}
    null_columns : int
        Simulated coordinates of each calibrated null.
    uniformity_rows : int
        Held-out rows used for the pairwise uniformity loss and Phi (``O(rows^2 d)``).
    uniformity_t : float
        ``t`` of Wang & Isola's Gaussian-potential uniformity loss (their default 2).
    beta : float
        Weight of the Eq. 11 regulariser, ``>= 0`` (0: none); contrastive losses only.
    lam : float or None
        ``lambda > 0`` of Eq. 11; None matches it to the untrained encoder's scale.
    entropy_k : int
        Neighbour order of the entropy estimate, ``1 <= entropy_k < batch``.
    """

    data: DataSetting = field(default_factory=lambda: DataSetting("laplace"))
    encoder: str = "linear"
    d: int = 256
    hidden: int = 512
    batch: int = 128
    tau: float = 0.1
    epochs: int = 150
    lr: float = 1e-3
    weight_decay: float = 0.0
    loss: str = "infonce"
    eval_every: int = 10
    dtype: str = "float64"
    null_columns: int = 2000
    uniformity_rows: int = 2000
    uniformity_t: float = 2.0
    beta: float = 0.0
    lam: float | None = None
    entropy_k: int = 1

    def __post_init__(self) -> None:
        Encoder(self.encoder, self.data.p, self.d, self.hidden)
        check_int("batch", self.batch, low=2, high=self.data.n_train)
        check_real("tau", self.tau, low=0.0, low_open=True)
        check_int("epochs", self.epochs, low=1)
        check_real("learning rate lr", self.lr, low=0.0, low_open=True)
        check_real("weight_decay", self.weight_decay, low=0.0)
        if self.loss not in TRAIN_LOSSES:
            raise ValueError(f"loss must be one of {TRAIN_LOSSES}, got {self.loss!r}")
        if self.loss == "supervised" and not self.data.has_labels:
            raise ValueError("loss 'supervised' needs labelled items: use data 'gmm'")
        check_int("eval_every", self.eval_every, low=1)
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES}, got {self.dtype!r}")
        check_int("null_columns", self.null_columns, low=2)
        check_int("uniformity_rows", self.uniformity_rows, low=2)
        check_real("uniformity_t", self.uniformity_t, low=0.0, low_open=True)
        check_regulariser(self.beta, self.lam)
        if self.beta > 0.0:
            if self.loss == "supervised":
                raise ValueError("beta > 0 (Eq. 11 regulariser) needs a contrastive loss")
            k = check_int("entropy_k", self.entropy_k, low=1)
            if k >= self.batch:
                raise ValueError(
                    f"entropy_k must lie in [1, batch - 1] = [1, {self.batch - 1}]: the entropy "
                    f"estimator needs more samples (batch {self.batch}) than neighbours, got {k}"
                )


@dataclass
class TrainResult:
    """History of diagnostics and the final held-out embeddings of one run.

    ``history`` has one dict per evaluation (epoch 0 is the untrained encoder, E0);
    ``diverged`` is None or a message naming the epoch and the last finite values.
    ``regulariser`` (``beta > 0`` only) records ``beta``, the ``lambda`` used and how it was set.
    ``test_items``, ``embeddings`` (final; non-finite after a divergence) and ``embeddings_e0``
    (untrained encoder) are host arrays of the held-out set (not part of :meth:`to_dict`);
    ``clean_embeddings`` and ``clean_embeddings_e0`` are those of the clean test images of an
    image setting (None for the synthetic settings).
    """

    config: dict[str, Any]
    eta2: dict[str, Any]
    history: list[dict[str, Any]]
    diverged: str | None
    seed_entropy: Any
    embeddings: np.ndarray = field(repr=False)
    embeddings_e0: np.ndarray = field(repr=False)
    test_items: np.ndarray = field(repr=False)
    clean_embeddings: np.ndarray | None = field(default=None, repr=False)
    clean_embeddings_e0: np.ndarray | None = field(default=None, repr=False)
    regulariser: dict[str, Any] | None = None

    @property
    def final(self) -> dict[str, Any]:
        return self.history[-1]

    def to_dict(self) -> dict[str, Any]:
        entropy = self.seed_entropy
        if isinstance(entropy, int) and entropy > 2**53:
            entropy = str(entropy)
        out = {
            "config": self.config,
            "eta2": self.eta2,
            "history": self.history,
            "diverged": self.diverged,
            "seed_entropy": entropy,
        }
        if self.regulariser is not None:
            out["regulariser"] = self.regulariser
        return out


def _cross_entropy(logits: Any, onehot: Any) -> tuple[float, Any]:
    """Mean softmax cross-entropy and its gradient ``(softmax - onehot) / N`` w.r.t. logits."""
    xp = array_namespace(logits)
    top = xp.max(logits, axis=1, keepdims=True)
    e = xp.exp(logits - top)
    s = xp.sum(e, axis=1, keepdims=True)
    logp = logits - top - xp.log(s)
    n = logits.shape[0]
    return float(-xp.sum(onehot * logp) / n), (e / s - onehot) / n


def _pairwise_uniformity(u: np.ndarray, t: float, alpha: float) -> tuple[float, float]:
    """Wang-Isola uniformity ``log mean_{i != j} exp(-t||u_i - u_j||^2)`` and the plug-in
    ``Phi = mean_i log mean_{j != i} exp(alpha u_i.u_j)`` (Eq. 4), both over distinct pairs."""
    n = u.shape[0]
    gram = np.clip(u @ u.T, -1.0, 1.0)
    off = ~np.eye(n, dtype=bool)
    sq = 2.0 - 2.0 * gram[off]
    uniformity = float(special.logsumexp(-t * sq) - math.log(sq.size))
    logits = np.where(off, alpha * gram, -np.inf)
    phi = float(np.mean(special.logsumexp(logits, axis=1) - math.log(n - 1)))
    return uniformity, phi


def metrics_block(z: np.ndarray, null: CoordinateNull, *, with_cv: bool) -> dict[str, Any]:
    g = gaussianity_metrics(z, with_cv=with_cv)
    return {
        "cv": g.cv,
        "ad_mean": g.ad_mean,
        "ad_pass": g.ad_pass.to_dict(),
        "dp_mean": g.dp_mean,
        "dp_pass": g.dp_pass.to_dict(),
        "n_constant": g.n_constant,
        "null": {
            "law": null.law,
            "ad_pass": compare_pass_fraction(g.ad_pass, null, "ad").to_dict(),
            "dp_pass": compare_pass_fraction(g.dp_pass, null, "dp").to_dict(),
        },
    }


def train_memory_bytes(config: TrainConfig, *, eta2_given: bool = False) -> int:
    """Upper bound of the memory one :func:`train` run allocates (float64 throughout, the
    larger dtype), from the sizes in ``config``; ``eta2_given`` when the caller passes ``eta2``
    to :func:`train` (it is then not computed).

    The terms are added although they are not all alive at once, which leaves room for
    temporaries not listed. With ``n`` items, ``n_t`` held-out items, ``p`` inputs, ``d``
    outputs, hidden width ``h`` (0 for the linear encoder), ``b`` the batch and ``r`` the
    uniformity rows, in float64 elements:

    * the item sets, ``2 (n + n_t) p`` (a binary setting's uniform draws sit beside them);
    * eta2 unless given: ``3 G p`` for ``gmm`` (``G`` Monte Carlo draws: the components'
      means, the noise and their sum), the Eq. 53 quadrature for ``laplace``
      (:data:`~simulator.hgr.mildness.EQ53_ETA2_MEMORY_BYTES`);
    * the two held-out views and the temporaries of drawing one, ``12 n_t p`` (an image
      augmentation holds about ten arrays of its batch);
    * the calibrated nulls, one at a time
      (:func:`~simulator.gaussianity.nulls.coordinate_null_memory_bytes`);
    * an evaluation, ``16 n_t (d + h)`` (both views' encodings and caches, host copies,
      ``u``, ``v`` and the pair means, the metrics' sorted copies) and ``8 r^2`` (the Gram
      matrix, its mask and the log-sum-exp temporaries of the uniformity terms);
    * a training step, ``16 b (p + h + d) + 12 b^2`` (views, activations and gradients; the
      logits and the entropy estimate's distances, masks and neighbour order);
    * the parameters with their gradients, Adam's two moments and the updated copy (5 times);
    * the returned embeddings, ``4 n_t d``.
    """
    data = config.data
    n_test = data.n_test
    width = config.hidden if config.encoder == "mlp" else 0
    params = data.p * width + width * config.d + width + config.d if width else data.p * config.d
    rows = min(config.uniformity_rows, n_test)
    elements = (
        2 * (data.n_train + n_test) * data.p
        + (3 * GMM_ETA2_DRAWS * data.p if data.name == "gmm" and not eta2_given else 0)
        + 12 * n_test * data.p
        + 16 * n_test * (config.d + width)
        + 8 * rows**2
        + 16 * config.batch * (data.p + width + config.d)
        + 12 * config.batch**2
        + 5 * params
        + 4 * n_test * config.d
    )
    eta2 = EQ53_ETA2_MEMORY_BYTES if data.name == "laplace" and not eta2_given else 0
    return int(8 * elements + eta2 + coordinate_null_memory_bytes(n_test, config.null_columns))


def train(
    config: TrainConfig,
    *,
    rng: RNGLike = None,
    xp: ModuleType = np,
    progress: Callable[[int, dict[str, Any] | None], None] | None = None,
    eta2: Eta2 | None = None,
) -> TrainResult:
    """Train one encoder and record the diagnostics of the module docstring.

    Parameters
    ----------
    config : TrainConfig
    rng : SPEC 7 seed
        Spawned into independent streams for the data set, the initial weights, the mini-batches
        and views, the held-out views and the calibrated nulls.
    xp : namespace
        NumPy or CuPy.
    progress : callable, optional
        ``progress(epoch, record)`` after every epoch; ``record`` is the diagnostics dict on
        evaluation epochs and None otherwise. The library never prints.
    eta2 : Eta2, optional
        eta2 of the channel when already known (a study computes it once per setting; the Eq. 53
        bracket takes seconds); computed by :func:`simulator.contrastive.data.setting_eta2`
        otherwise.

    Returns
    -------
    TrainResult
        A run whose loss turns non-finite stops there; ``diverged`` names the epoch and the last
        finite values, and the diagnostics recorded until then are kept.
    """
    gen = normalize_rng(rng)
    g_data, g_init, g_head, g_train, g_eval, g_null, g_eta = gen.spawn(7)
    dataset = config.data.build(rng=g_data)
    if eta2 is None:
        if isinstance(dataset, ImageDataset):
            eta2 = dataset.eta2()
        else:
            eta2 = setting_eta2(dataset, rng=g_eta)
    encoder = Encoder(config.encoder, config.data.p, config.d, config.hidden)
    params = encoder.init(rng=g_init, xp=xp, dtype=config.dtype)
    head = None
    if config.loss == "supervised":
        head = Encoder("linear", config.d, config.data.components)
        head_params = head.init(rng=g_head, xp=xp, dtype=config.dtype)
        params.update({f"head.{k}": v for k, v in head_params.items()})
    opt = Adam(lr=config.lr, weight_decay=config.weight_decay)
    dt = getattr(xp, config.dtype)

    n_test = config.data.n_test
    test_x = xp.asarray(dataset.views(dataset.test, rng=g_eval), dtype=dt)
    test_y = xp.asarray(dataset.views(dataset.test, rng=g_eval), dtype=dt)
    g_null_z, g_null_u = g_null.spawn(2)
    null_z = coordinate_null(
        n_test, config.d, "gaussian", columns=config.null_columns, rng=g_null_z
    )
    null_u = coordinate_null(n_test, config.d, "sphere", columns=config.null_columns, rng=g_null_u)
    alpha = 1.0 / config.tau
    phi_sigma = uniformity_potential_at_uniform(config.d, alpha)
    eval_loss = "symmetric" if config.loss == "symmetric" else "infonce"
    enc_keys = [k for k in params if not k.startswith("head.")]

    def encode(p: dict[str, Any], x: Any) -> tuple[Any, Any]:
        with np.errstate(over="ignore", invalid="ignore"):
            return encoder.forward({k: p[k] for k in enc_keys}, x)

    def evaluate(epoch: int, train_loss: float | None) -> dict[str, Any]:
        zx, _ = encode(params, test_x)
        zy, _ = encode(params, test_y)
        zx_h, zy_h = to_host(zx).astype(np.float64), to_host(zy).astype(np.float64)
        if not (np.all(np.isfinite(zx_h)) and np.all(np.isfinite(zy_h))):
            raise FloatingPointError("non-finite held-out embeddings")
        losses = []
        for s in range(0, n_test - config.batch + 1, config.batch):
            value, _, _ = infonce_from_embeddings(
                zx[s : s + config.batch], zy[s : s + config.batch], config.tau, loss=eval_loss
            )
            losses.append(value)
        u, _ = normalise_rows(zx_h)
        v, _ = normalise_rows(zy_h)
        prop1 = prop1_from_pairs(u, v, eta2.upper, eta2_error=0.0)
        rows = min(config.uniformity_rows, n_test)
        uniformity, phi = _pairwise_uniformity(u[:rows], config.uniformity_t, alpha)
        return {
            "epoch": epoch,
            "train_loss": train_loss,
            "loss": float(np.mean(losses)) if losses else None,
            "alignment": prop1["alignment"],
            "m2": prop1["m2"],
            "bound": prop1["bound"],
            "prop1_slack": prop1["slack"],
            "prop1_verdict": prop1["verdict"],
            "uniformity": uniformity,
            "phi": phi,
            "phi_sigma": phi_sigma,
            "unnormalised": metrics_block(zx_h, null_z, with_cv=True),
            "normalised": metrics_block(math.sqrt(config.d) * u, null_u, with_cv=False),
        }

    z_e0 = encode(params, test_x)[0]
    embeddings_e0 = to_host(z_e0)
    clean_x = clean_e0 = None
    if isinstance(dataset, ImageDataset):
        clean_x = xp.asarray(dataset.clean(dataset.test), dtype=dt)
        clean_e0 = to_host(encode(params, clean_x)[0])
    regulariser = None
    if config.beta > 0.0:
        lam = matched_lambda(z_e0) if config.lam is None else config.lam
        how = "matched to the untrained held-out scale" if config.lam is None else "given"
        regulariser = {"beta": config.beta, "lambda": lam, "lambda_source": how}
        regulariser["entropy_k"] = config.entropy_k
    history = [evaluate(0, None)]
    diverged = None
    if progress is not None:
        progress(0, history[-1])
    n_train = config.data.n_train
    steps = n_train // config.batch
    for epoch in range(1, config.epochs + 1):
        order = g_train.permutation(n_train)
        total, finite = 0.0, True
        # Overflow is how a diverging run shows itself: it is caught as a non-finite loss
        # below and reported with its epoch, not raised as a NumPy warning mid-step.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for s in range(steps):
                items = dataset.train[order[s * config.batch : (s + 1) * config.batch]]
                x = xp.asarray(dataset.views(items, rng=g_train), dtype=dt)
                if config.loss == "supervised":
                    z, cache = encode(params, x)
                    hp = {k[5:]: params[k] for k in params if k.startswith("head.")}
                    logits, hcache = head.forward(hp, z)
                    labels = dataset.labels(items)
                    onehot = xp.asarray(np.eye(config.data.components)[labels], dtype=dt)
                    value, g_logits = _cross_entropy(logits, onehot)
                    grads = {f"head.{k}": g for k, g in head.backward(hp, hcache, g_logits).items()}
                    gz = g_logits @ hp["W"]
                else:
                    y = xp.asarray(dataset.views(items, rng=g_train), dtype=dt)
                    # Both views in one product: one matmul instead of two of half the height.
                    z, cache = encode(params, stack_rows(x, y))
                    b = config.batch
                    if config.loss == "vicreg":
                        value, gx, gy = vicreg_loss(z[:b], z[b:])
                    else:
                        value, gx, gy = infonce_from_embeddings(
                            z[:b], z[b:], config.tau, loss=config.loss
                        )
                    gz = stack_rows(gx, gy)
                    if regulariser is not None:
                        rx, grx = route2_regulariser(z[:b], config.beta, lam, k=config.entropy_k)
                        ry, gry = route2_regulariser(z[b:], config.beta, lam, k=config.entropy_k)
                        value += 0.5 * (rx + ry)
                        gz = gz + 0.5 * stack_rows(grx, gry)
                    grads = {}
                if not math.isfinite(value):
                    finite = False
                    break
                grads.update(encoder.backward({k: params[k] for k in enc_keys}, cache, gz))
                params = opt.step(params, grads)
                total += value
        if not finite:
            last = history[-1]
            diverged = (
                f"training diverged at epoch {epoch} (step {s + 1}): non-finite loss; last "
                f"finite diagnostics at epoch {last['epoch']}: loss {last['loss']}, "
                f"alignment {last['alignment']['value']:.6g}, "
                f"CV {last['unnormalised']['cv']:.6g}"
            )
            break
        record = None
        if epoch % config.eval_every == 0 or epoch == config.epochs:
            try:
                record = evaluate(epoch, total / steps)
            except (FloatingPointError, ValueError) as exc:
                # Non-finite embeddings (divergence) or diagnostics undefined on them (every
                # coordinate constant: collapse); either way the run stops with what it has.
                last = history[-1]
                diverged = (
                    f"training stopped at epoch {epoch}: {exc}; last finite diagnostics at "
                    f"epoch {last['epoch']}: loss {last['loss']}, "
                    f"alignment {last['alignment']['value']:.6g}"
                )
                break
            history.append(record)
        if progress is not None:
            progress(epoch, record)
    zx, _ = encode(params, test_x)
    return TrainResult(
        config=config_dict(config),
        eta2=eta2.to_dict(),
        history=history,
        diverged=diverged,
        seed_entropy=seed_entropy(gen),
        embeddings=to_host(zx),
        embeddings_e0=embeddings_e0,
        test_items=dataset.test,
        clean_embeddings=None if clean_x is None else to_host(encode(params, clean_x)[0]),
        clean_embeddings_e0=clean_e0,
        regulariser=regulariser,
    )


def config_dict(config: TrainConfig) -> dict[str, Any]:
    """JSON-ready view of a :class:`TrainConfig` (nested dataclasses become dicts)."""
    out = asdict(config)
    if isinstance(config.data, ImageSetting):
        # An image setting carries its arrays: the record keeps their description and digest.
        out["data"] = config.data.to_dict()
    return out
