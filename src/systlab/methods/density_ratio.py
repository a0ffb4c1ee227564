"""Learned per-event density ratios for the unbinned likelihood (GOLLUM-style, arXiv:2505.05544; issue #23).

For P processes (signal first) and K shape nuisances a_k (sigma units, nominal 0) one module maps raw features x to

* ``fractions[n, p]`` = dsigma_p(x) / sum_q dsigma_q(x) at nominal: a multiclass classifier trained on class-balanced
  weights whose logits are shifted by log(true / training class totals), so the fractions are physical;
* ``coef[n, p, k, d]``: log R_pk(x; a) = sum_d coef[n, p, k, d] a^(d+1), a per-event polynomial (no constant term)
  whose coefficients one network per nuisance outputs for every process. R_pk(x; a) = dsigma_p(x | a_k = a) /
  dsigma_p(x | nominal) is unnormalised: a yield change is part of it (sum of w R over nominal events of p = the
  varied yield of p).

The ratio net is trained by weighted BCE between the events moved to a (class 1, their moved weights) and the same
events at nominal (class 0), a uniform over the range per event, with log R as the logit: its optimum is the true
log R within the polynomial family. After training, a per-process polynomial in a is added so that sum_nominal w R
equals the yield of the moved events at a few points (BCE alone left 20-30 % of a yield change out on a small net).
One ONNX graph takes raw features and returns both outputs. Outside its training range the polynomial extrapolates
freely: bound each a_k to it in the fit.
"""

from __future__ import annotations

import copy
import math
import os
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from systlab.atomic import atomic_path
from systlab.likelihood.unbinned import prior_shift
from systlab.methods.loop import Batch, TrainingHistory, TrainingSettings, fit
from systlab.methods.model import Classifier, feature_statistics, mlp, standardised
from systlab.methods.onnx_io import OPSET, OnnxParityError, OnnxScorer, metadata_strings

#: move(X, process, k, a) -> (X moved to a_k = a, weights there): called with the arrays given to the training
#: (same rows, same order) and a per-event array a; a weight of 0 means the event leaves the selection.
Move = Callable[[np.ndarray, np.ndarray, int, np.ndarray], tuple[np.ndarray, np.ndarray]]

INPUT_NAME = "features"
OUTPUT_NAMES = ("fractions", "coef")
#: The exported graph's outputs: the nominal signal fraction first (what every systlab reader of a model's score
#: takes, :class:`systlab.methods.onnx_io.OnnxScorer`), then :data:`OUTPUT_NAMES`.
EXPORT_NAMES = ("score", *OUTPUT_NAMES)
#: ONNX-vs-torch parity: |onnx - torch| <= PARITY_ATOL + PARITY_RTOL |torch| on both outputs.
PARITY_ATOL = 1e-5
PARITY_RTOL = 1e-4


@dataclass(frozen=True)
class DensityRatioSettings:
    """Network size and schedule (shared by the fraction classifier and the ratio nets), polynomial and ranges.

    ``ranges``: the training range of a per nuisance in sigma units; one entry applies to every nuisance.
    ``draws``: independent draws of a per event (copies of the training events) for each ratio net.
    ``ensemble``: ratio nets per nuisance, each with its own initialisation and draws of a; their coefficients are
    averaged (the variance of a small learned effect falls as 1 / ensemble).
    ``yield_step``: spacing of the points where the learned yields are calibrated (0 = no calibration, see
    :func:`yield_calibration`).
    ``yield_only``: indices of nuisances without a trained ratio net: their log R_pk is the per-process yield
    polynomial alone (no per-event shape; a consumer may add a binned shape, as
    :func:`systlab.likelihood.unbinned_inputs.simulated_yield_correction` does per region).
    """

    hidden: tuple[int, ...] = (64, 64)
    epochs: int = 30
    batch_size: int = 1024
    learning_rate: float = 3e-3
    patience: int = 5
    degree: int = 4
    ranges: tuple[tuple[float, float], ...] = ((-3.0, 3.0),)
    draws: int = 1
    ensemble: int = 1
    yield_step: float = 0.5
    yield_only: tuple[int, ...] = ()
    validation_fraction: float = 0.2
    seed: int = 0
    threads: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        object.__setattr__(self, "ranges", tuple((float(lo), float(hi)) for lo, hi in self.ranges))
        object.__setattr__(self, "yield_only", tuple(int(k) for k in self.yield_only))
        if self.degree < 1 or self.draws < 1 or self.ensemble < 1 or not 0 < self.validation_fraction < 1:
            raise ValueError(f"degree, draws and ensemble must be >= 1, 0 < validation_fraction < 1: {self}")
        if self.yield_step < 0:
            raise ValueError(f"yield_step must be >= 0 (0 = no yield calibration): {self}")
        if not self.ranges or any(not lo < 0 < hi for lo, hi in self.ranges):
            raise ValueError(f"every training range must contain the nominal a = 0 inside: {self.ranges}")

    def range_of(self, k: int, n_nuisances: int) -> tuple[float, float]:
        """The training range of nuisance ``k``."""
        if len(self.ranges) not in (1, n_nuisances):
            raise ValueError(f"{len(self.ranges)} training ranges for {n_nuisances} nuisances (give 1 or one each)")
        return self.ranges[0 if len(self.ranges) == 1 else k]

    def yield_points(self, k: int, n_nuisances: int) -> np.ndarray:
        """Points of a (0 left out) where the yields are calibrated; empty without calibration."""
        if self.yield_step == 0:
            return np.zeros(0)
        lo, hi = self.range_of(k, n_nuisances)
        points = np.linspace(lo, hi, max(int(round((hi - lo) / self.yield_step)), self.degree) + 1)
        return points[points != 0]

    def training(self) -> TrainingSettings:
        """The shared loop's settings."""
        return TrainingSettings(self.hidden, self.epochs, self.batch_size, self.learning_rate, self.patience,
                                self.threads)  # fmt: skip


def powers(alpha: np.ndarray, degree: int) -> np.ndarray:
    """(len(alpha), D) matrix of alpha^(d+1)."""
    return np.asarray(alpha, np.float64)[:, None] ** np.arange(1, degree + 1)


def polynomial_log_ratio(coef: np.ndarray, alpha: np.ndarray | float) -> np.ndarray:
    """sum_d coef[..., d] alpha^(d+1): log R from the coefficients, ``alpha`` broadcast against ``coef[..., 0]``."""
    coef = np.asarray(coef, np.float64)
    alpha = np.asarray(alpha, np.float64)[..., None]
    return (coef * alpha ** np.arange(1, coef.shape[-1] + 1)).sum(axis=-1)


class ProcessClassifier(Classifier):
    """Softmax over P processes on raw features; ``forward`` = physical fractions (logits + log class correction)."""

    def __init__(self, n_features: int, n_processes: int, hidden: tuple[int, ...],
                 mean: np.ndarray | None = None, std: np.ndarray | None = None) -> None:  # fmt: skip
        if n_processes < 2:
            raise ValueError(f"a fraction classifier needs >= 2 processes, got {n_processes}")
        super().__init__(n_features, hidden, mean, std)
        self.net[-1] = nn.Linear(self.net[-1].in_features, n_processes)
        self.register_buffer("log_correction", torch.zeros(n_processes))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Per-event process logits, shape (batch, P)."""
        return self.net(self.standardise(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.logits(x) + self.log_correction, dim=-1)


class RatioNet(nn.Module):
    """log R_p(x; a) = sum_d c_pd(x) a^(d+1) for one nuisance: the network outputs every process's polynomial
    coefficients (GOLLUM's per-event expansion), so the polynomial the likelihood reads is the function that was
    trained. (A network taking a as an input, projected on a polynomial after training, missed the Z yield at
    -1 sigma by 3 % on the default r0: its ReLUs made it piecewise linear in a.) The outputs are scaled by
    scale^-(d+1) (scale: the range's larger end) so every term is O(1) over the range; ``yield_coef`` is the
    per-process correction of :func:`yield_calibration`, zero until it is set. With ``members`` > 1 the coefficients
    are the mean of that many networks (an ensemble, trained one by one: :func:`train_ratio`); with 0 there is no
    network and log R_p is the yield polynomial alone, the same for every event (a yield-only nuisance)."""

    def __init__(self, n_features: int, n_processes: int, hidden: tuple[int, ...], degree: int, scale: float = 1.0,
                 mean: np.ndarray | None = None, std: np.ndarray | None = None, members: int = 1) -> None:  # fmt: skip
        super().__init__()
        if degree < 1 or not scale > 0 or members < 0:
            raise ValueError(f"a ratio net needs degree >= 1, scale > 0, members >= 0: {degree}, {scale}, {members}")
        self.n_features, self.n_processes, self.degree = n_features, n_processes, degree
        self.register_buffer("mean", torch.zeros(n_features) if mean is None else torch.as_tensor(mean).float())
        self.register_buffer("std", torch.ones(n_features) if std is None else torch.as_tensor(std).float())
        self.register_buffer("scale", float(scale) ** -torch.arange(1, degree + 1, dtype=torch.float32))
        self.register_buffer("yield_coef", torch.zeros(n_processes, degree))
        self.nets = nn.ModuleList()
        for _ in range(members):
            net = mlp(n_features, tuple(hidden))
            net[-1] = nn.Linear(net[-1].in_features, n_processes * degree)
            self.nets.append(net)

    def standardise(self, x: torch.Tensor) -> torch.Tensor:
        return standardised(x, self.mean, self.std)

    def coefficients(self, x: torch.Tensor) -> torch.Tensor:
        """(n, P, D) polynomial coefficients of log R in a, yield correction included."""
        if not self.nets:  # yield-only: no per-event shape
            return self.yield_coef.expand(x.shape[0], self.n_processes, self.degree)
        z = self.standardise(x)
        raw = self.nets[0](z) if len(self.nets) == 1 else torch.stack([net(z) for net in self.nets]).mean(dim=0)
        return raw.reshape(-1, self.n_processes, self.degree) * self.scale + self.yield_coef

    def log_ratio(self, x: torch.Tensor, process: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        """log R(x; a) per event at its process and a, exactly 0 at a = 0."""
        coef = self.coefficients(x)[torch.arange(len(x), device=x.device), process.long()]
        return (coef * alpha[:, None].to(coef.dtype) ** torch.arange(1, self.degree + 1, device=x.device)).sum(dim=1)


class DensityRatioModel(nn.Module):
    """Raw features -> (fractions (n, P), coef (n, P, K, D)): what the unbinned likelihood consumes."""

    def __init__(self, fractions: ProcessClassifier, ratios: Sequence[RatioNet]) -> None:
        super().__init__()
        if not ratios:
            raise ValueError("a density-ratio model needs at least one nuisance")
        self.fractions = fractions
        self.ratios = nn.ModuleList(ratios)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.fractions(x), torch.stack([ratio.coefficients(x) for ratio in self.ratios], dim=2)


class RatioBCE:
    """Weighted BCE of moved (label 1) vs nominal (label 0) events on the logit log R(x, p, a)."""

    def loss(self, model: RatioNet, batch: Batch) -> torch.Tensor:
        logit = model.log_ratio(batch.features, batch.extras["process"], batch.extras["alpha"])
        per_event = nn.functional.binary_cross_entropy_with_logits(logit, batch.label, reduction="none")
        return (batch.weight * per_event).mean()


class ProcessCE:
    """Weighted cross-entropy over processes (labels are process indices)."""

    def loss(self, model: ProcessClassifier, batch: Batch) -> torch.Tensor:
        per_event = nn.functional.cross_entropy(model.logits(batch.features), batch.label.long(), reduction="none")
        return (batch.weight * per_event).mean()


class DensityRatioFit(NamedTuple):
    """The trained module, the training histories (fractions, then one per nuisance; None: yield-only) and the wall
    time."""

    model: DensityRatioModel
    fraction_history: TrainingHistory
    ratio_histories: list[TrainingHistory | None]
    seconds: float


def check_inputs(x: np.ndarray, process: np.ndarray, weight: np.ndarray, n_processes: int) -> None:
    """ValueError naming what is wrong with the training arrays."""
    if x.ndim != 2 or len(process) != len(x) or len(weight) != len(x):
        raise ValueError(f"features (n, F), process (n,) and weight (n,) expected: {x.shape}, {process.shape}, "
                         f"{weight.shape}")  # fmt: skip
    if not (np.isfinite(x).all() and np.isfinite(weight).all()):
        raise ValueError("features or weights are not finite")
    if process.min() < 0 or process.max() >= n_processes:
        raise ValueError(f"process indices must lie in [0, {n_processes})")
    totals = np.bincount(process, weights=weight, minlength=n_processes)
    if not (totals > 0).all():
        raise ValueError(f"every process needs a positive total weight: {totals.tolist()}")


def validation_mask(n: int, fraction: float, seed: int) -> np.ndarray:
    """Events of the validation split (the same split for the classifier and every ratio net)."""
    return np.random.default_rng([seed, 1]).random(n) < fraction


def fraction_batch(x: np.ndarray, process: np.ndarray, weight: np.ndarray, n_processes: int
                   ) -> tuple[Batch, np.ndarray]:  # fmt: skip
    """Balanced batch (every process sums to n / P) and the log of each process's balancing factor."""
    totals = np.bincount(process, weights=weight, minlength=n_processes)
    factor = len(x) / n_processes / totals
    batch = Batch(torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(process, dtype=torch.float32),
                  torch.as_tensor(weight * factor[process], dtype=torch.float32), {})  # fmt: skip
    return batch, np.log(factor)


def train_fractions(x: np.ndarray, process: np.ndarray, weight: np.ndarray, n_processes: int,
                    settings: DensityRatioSettings,
                    validation: np.ndarray | None = None) -> tuple[ProcessClassifier, TrainingHistory]:  # fmt: skip
    """Multiclass classifier on balanced weights; ``log_correction`` = -log(balancing factor of the training split)
    turns its softmax back into the physical fractions dsigma_p / sum_q dsigma_q."""
    x, process, weight = np.asarray(x, np.float64), np.asarray(process, np.int64), np.asarray(weight, np.float64)
    check_inputs(x, process, weight, n_processes)
    val = validation_mask(len(x), settings.validation_fraction, settings.seed) if validation is None else validation
    train, log_factor = fraction_batch(x[~val], process[~val], weight[~val], n_processes)
    validation, _ = fraction_batch(x[val], process[val], weight[val], n_processes)
    mean, std = feature_statistics(x[~val], weight[~val])
    model, history = fit(lambda: ProcessClassifier(x.shape[1], n_processes, settings.hidden, mean, std), ProcessCE(),
                         train, validation, settings.training(), settings.seed)  # fmt: skip
    with torch.no_grad():
        model.log_correction.copy_(torch.as_tensor(-(log_factor - log_factor.mean()), dtype=torch.float32))
    calibrate_fractions(model, x, process, weight, n_processes)
    return model, history


def calibrate_fractions(model: ProcessClassifier, x: np.ndarray, process: np.ndarray, weight: np.ndarray,
                        n_processes: int, batch_size: int = 65536) -> np.ndarray:  # fmt: skip
    """Shift ``log_correction`` until Σ_i w_i c_p(x_i) equals each process's total weight
    (:func:`systlab.likelihood.unbinned.prior_shift`, on the classifier's logits). Returns the per-process relative
    mismatch before the calibration."""
    with torch.no_grad():
        logits = np.concatenate([model.logits(torch.as_tensor(x[s : s + batch_size], dtype=torch.float32)).double()
                                 .numpy() for s in range(0, len(x), batch_size)])  # fmt: skip
        correction = model.log_correction.double().numpy()
    totals = np.bincount(process, weights=weight, minlength=n_processes)
    z = logits + correction
    c = np.exp(z - z.max(axis=1, keepdims=True))
    before = (weight[:, None] * c / c.sum(axis=1, keepdims=True)).sum(axis=0) / totals - 1.0
    correction = correction + prior_shift(z, weight, totals, tol=1e-7)
    with torch.no_grad():
        model.log_correction.copy_(torch.as_tensor(correction, dtype=torch.float32))
    return before


def ratio_batch(x: np.ndarray, process: np.ndarray, weight: np.ndarray, moved: Sequence[tuple[np.ndarray, ...]]
                ) -> Batch:  # fmt: skip
    """Moved events (label 1, moved weights) and the same events at nominal (label 0) for every draw of a."""
    xs = [m[0] for m in moved] + [x] * len(moved)
    ws = [m[1] for m in moved] + [weight] * len(moved)
    alphas = [m[2] for m in moved] * 2
    n = len(x) * len(moved)
    return Batch(torch.as_tensor(np.concatenate(xs), dtype=torch.float32),
                 torch.cat([torch.ones(n), torch.zeros(n)]),
                 torch.as_tensor(np.concatenate(ws), dtype=torch.float32),
                 {"process": torch.as_tensor(np.tile(process, 2 * len(moved)), dtype=torch.float32),
                  "alpha": torch.as_tensor(np.concatenate(alphas), dtype=torch.float32)})  # fmt: skip


def train_ratio(x: np.ndarray, process: np.ndarray, weight: np.ndarray, move: Move, k: int, n_nuisances: int,
                n_processes: int, settings: DensityRatioSettings,
                validation: np.ndarray | None = None) -> tuple[RatioNet, TrainingHistory | None]:  # fmt: skip
    """The ratio net of nuisance ``k`` (``settings.ensemble`` members, trained one by one): a uniform over its range,
    ``settings.draws`` draws per event; the history returned is the first member's (None: ``k`` is yield-only).

    Weights are rescaled per process (moved and nominal alike) to a mean nominal weight of 1: a common factor per
    process leaves the optimum log R_p unchanged and keeps small processes from being ignored."""
    x, process, weight = np.asarray(x, np.float64), np.asarray(process, np.int64), np.asarray(weight, np.float64)
    check_inputs(x, process, weight, n_processes)
    lo, hi = settings.range_of(k, n_nuisances)
    scale = np.bincount(process, minlength=n_processes) / np.bincount(process, weights=weight, minlength=n_processes)
    w = weight * scale[process]
    val = validation_mask(len(x), settings.validation_fraction, settings.seed) if validation is None else validation
    mean, std = feature_statistics(x[~val], weight[~val])
    size = max(-lo, hi)
    if k in settings.yield_only:  # no per-event shape: no network, only the yield calibration below
        net = RatioNet(x.shape[1], n_processes, settings.hidden, settings.degree, size, mean, std, members=0)
        points = settings.yield_points(k, n_nuisances)
        if len(points):
            yield_calibration(net, x, process, weight, lambda a: move(x, process, k, np.full(len(x), a))[1], points)
        return net, None
    net = RatioNet(x.shape[1], n_processes, settings.hidden, settings.degree, size, mean, std, settings.ensemble)
    histories = []
    for member in range(settings.ensemble):
        rng = np.random.default_rng([settings.seed, 2, k] + ([member] if member else []))
        moved = []
        for _ in range(settings.draws):
            alpha = rng.uniform(lo, hi, len(x))
            x_moved, w_moved = move(x, process, k, alpha)
            x_moved, w_moved = np.asarray(x_moved, np.float64), np.asarray(w_moved, np.float64)
            if x_moved.shape != x.shape or w_moved.shape != weight.shape or not np.isfinite(w_moved).all():
                raise ValueError(f"move(k={k}) returned shapes {x_moved.shape}, {w_moved.shape} (or non-finite "
                                 f"weights) for {x.shape}, {weight.shape}")  # fmt: skip
            moved.append((x_moved, w_moved * scale[process], alpha))
        train = ratio_batch(x[~val], process[~val], w[~val], [tuple(m[~val] for m in draw) for draw in moved])
        held = ratio_batch(x[val], process[val], w[val], [tuple(m[val] for m in draw) for draw in moved])
        one, history = fit(lambda: RatioNet(x.shape[1], n_processes, settings.hidden, settings.degree, size, mean, std),
                           RatioBCE(), train, held, settings.training(),
                           settings.seed + 1 + k + 1000 * member)  # fmt: skip
        net.nets[member].load_state_dict(one.nets[0].state_dict())
        histories.append(history)
    points = settings.yield_points(k, n_nuisances)
    if len(points):
        yield_calibration(net, x, process, weight, lambda a: move(x, process, k, np.full(len(x), a))[1], points)
    return net, histories[0]


def learned_yields(net: RatioNet, x: np.ndarray, process: np.ndarray, weight: np.ndarray, alpha: float,
                   batch_size: int = 65536) -> np.ndarray:  # fmt: skip
    """(P,) sum over nominal events of w R(x; a) per process, with the net's current log R."""
    out = np.zeros(net.n_processes)
    with torch.no_grad():
        for s in range(0, len(x), batch_size):
            xs = torch.as_tensor(x[s : s + batch_size], dtype=torch.float32)
            ps = torch.as_tensor(process[s : s + batch_size])
            log_r = net.log_ratio(xs, ps, torch.full((len(xs),), float(alpha))).double().numpy()
            out += np.bincount(ps.numpy(), weights=weight[s : s + batch_size] * np.exp(log_r), minlength=len(out))
    return out


def yield_calibration(net: RatioNet, x: np.ndarray, process: np.ndarray, weight: np.ndarray,
                      moved_weight: Callable[[float], np.ndarray], points: np.ndarray) -> np.ndarray:  # fmt: skip
    """Set ``net.yield_coef`` so that sum over nominal events of w R = the moved yield, per process, at ``points``
    (least squares in log, the polynomial of the ratios). BCE fits the shape well but leaves the yield change
    ~20-30 % short on small nets (measured on an acceptance-changing toy); the yields of the moved events are
    exact. Returns the (P, len(points)) log corrections that were fitted."""
    log_offset = []
    for a in points:
        moved = np.bincount(process, weights=moved_weight(float(a)), minlength=net.n_processes)
        learned = learned_yields(net, x, process, weight, a)
        if not ((moved > 0).all() and (learned > 0).all()):
            raise ValueError(f"a process has no moved yield at a = {a:g}: {moved.tolist()}")
        log_offset.append(np.log(moved) - np.log(learned))
    log_offset = np.array(log_offset).T
    fitted = log_offset @ np.linalg.pinv(powers(points, net.yield_coef.shape[1])).T
    with torch.no_grad():
        net.yield_coef.copy_(torch.as_tensor(fitted, dtype=torch.float32))
    return log_offset


def train_density_ratio(x: np.ndarray, process: np.ndarray, weight: np.ndarray, move: Move, n_nuisances: int,
                        settings: DensityRatioSettings, n_processes: int | None = None,
                        validation: np.ndarray | None = None) -> DensityRatioFit:  # fmt: skip
    """Fraction classifier plus one ratio net per nuisance on nominal events (features, process index, weight);
    ``validation``: the events of the validation split (default: a random ``settings.validation_fraction``)."""
    start = time.perf_counter()
    n_processes = int(np.max(process)) + 1 if n_processes is None else n_processes
    fractions, fraction_history = train_fractions(x, process, weight, n_processes, settings, validation)
    trained = [train_ratio(x, process, weight, move, k, n_nuisances, n_processes, settings, validation)
               for k in range(n_nuisances)]  # fmt: skip
    model = DensityRatioModel(fractions, [net for net, _ in trained]).eval()
    return DensityRatioFit(model, fraction_history, [history for _, history in trained], time.perf_counter() - start)


def torch_outputs(model: nn.Module, x: np.ndarray, batch_size: int = 65536) -> tuple[np.ndarray, np.ndarray]:
    """(fractions, coef) of the torch module on raw feature rows (float32, CPU), in batches."""
    x = torch.as_tensor(np.ascontiguousarray(x, np.float32))
    with torch.no_grad():
        parts = [model(x[s : s + batch_size]) for s in range(0, max(len(x), 1), batch_size)]
    return torch.cat([p[0] for p in parts]).numpy(), torch.cat([p[1] for p in parts]).numpy()


class ScoredDensityRatio(nn.Module):
    """The exported module: (signal fraction, fractions, coef) of a :class:`DensityRatioModel`."""

    def __init__(self, model: DensityRatioModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        fractions, coef = self.model(x)
        return fractions[:, 0], fractions, coef


def export_density_ratio(model: DensityRatioModel, features: Sequence[str], path: str | os.PathLike,
                         metadata: Mapping[str, Any], sample: np.ndarray) -> Path:  # fmt: skip
    """Export to one ONNX graph (inputs ``features``; outputs ``score`` = the signal fraction, ``fractions``,
    ``coef``) kept only if checked by ``onnx.checker`` and equal to torch on ``sample``. ``metadata`` should name
    processes, nuisances, degree, ranges.
    """
    import onnx

    model = copy.deepcopy(model).to("cpu").eval()
    sample = np.ascontiguousarray(sample, np.float32)
    if sample.ndim != 2 or sample.shape[1] != len(features):
        raise ValueError(f"parity sample has shape {sample.shape}, expected (n, {len(features)})")
    target = Path(path)
    with atomic_path(target) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(ScoredDensityRatio(model), (torch.zeros(2, len(features)),), str(tmp), dynamo=False,
                          opset_version=OPSET, input_names=[INPUT_NAME], output_names=list(EXPORT_NAMES),
                          dynamic_axes={name: {0: "batch"} for name in (INPUT_NAME, *EXPORT_NAMES)})  # fmt: skip
        proto = onnx.load(str(tmp))
        onnx.helper.set_model_props(proto, metadata_strings(features, metadata))
        onnx.checker.check_model(proto, full_check=True)
        onnx.save(proto, str(tmp))
        check_ratio_parity(onnx_outputs(tmp, sample), torch_outputs(model, sample))
    return target


def onnx_outputs(path: str | os.PathLike, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(fractions, coef) of an exported model on raw feature rows (onnxruntime, through the one ONNX reader)."""
    _, fractions, coef = OnnxScorer(path).outputs(x)
    return fractions, coef


def check_ratio_parity(got: Sequence[np.ndarray], want: Sequence[np.ndarray]) -> float:
    """Largest |onnx - torch| / (atol + rtol |torch|) over both outputs; OnnxParityError above 1."""
    worst = 0.0
    for name, g, w in zip(OUTPUT_NAMES, got, want, strict=True):
        if g.shape != w.shape:
            raise OnnxParityError(f"ONNX output {name} has shape {g.shape}, torch {w.shape}")
        if g.size:
            worst = max(worst, float(np.max(np.abs(g - w) / (PARITY_ATOL + PARITY_RTOL * np.abs(w)))))
    if not worst <= 1.0:
        raise OnnxParityError(f"ONNX outputs differ from torch by {worst:.3g} x the tolerance")
    return worst


def log_ratio_rms(learned: np.ndarray, true: np.ndarray) -> float:
    """RMS of learned - true log ratio (what the validation reports)."""
    return float(math.sqrt(np.mean((np.asarray(learned) - np.asarray(true)) ** 2)))
