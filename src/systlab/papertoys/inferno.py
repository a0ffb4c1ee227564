"""INFERNO (de Castro & Dorigo, arXiv:1806.04743): a soft binning trained to minimise the expected variance of mu.

The network's K outputs, softened by a temperature, assign events to bins; expected signal and background counts
per bin give an Asimov Poisson likelihood in (mu, r, lambda) with the Gaussian constraints of r and lambda, and the
loss is the (mu, mu) element of the inverse Fisher information: the expected variance of mu with r and lambda
profiled. Background features follow the nuisances through the toy's own transformations (x1 + r, x3 / lambda), so
the counts are differentiable in them. The soft binner and the Fisher-information loss are those of the
H->tautau method (``systlab.methods.inferno``); this module holds the toy's own nuisances and evaluation.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
import pandas as pd
import torch
from torch import nn

from systlab.methods.common import TrainedModel, train_classifier
from systlab.methods.inferno import BINS, TEMPERATURE, SoftBinner, fisher_mu_variance
from systlab.methods.loop import Batch, TrainingSettings
from systlab.methods.model import feature_statistics
from systlab.methods.onnx_io import OnnxScorer
from systlab.papertoys.evaluate import evaluation_sample, grid_scores
from systlab.papertoys.toys import Toy, ToySample, get_toy

#: Finite-difference step of r and lambda in the training loss.
FD_STEP = 0.01
#: Finite-difference steps (in prior widths) of the nuisances when evaluating hard-binned models.
STEP_SIGMAS = 0.25


class InfernoLoss:
    """Expected variance of mu from the softly binned Asimov likelihood, nuisances profiled (with constraints)."""

    def __init__(self, toy: Toy, temperature: float = TEMPERATURE) -> None:
        if toy.yields is None or [n.name for n in toy.nuisances] != ["r", "lam"]:
            raise ValueError(f"the INFERNO loss needs the inferno toy (yields, nuisances r and lam), not {toy.name!r}")
        self.temperature = temperature
        self.yields = toy.yields
        r, lam = toy.nuisances
        self.theta0 = torch.tensor([1.0, r.nominal, lam.nominal])
        self.constraint = torch.tensor([0.0, r.sigma**-2, lam.sigma**-2])

    def signal_background(self, model: nn.Module, batch: Batch, r: float, lam: float
                          ) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        """Expected signal and background per bin, the batch's background events moved to (r, lambda)."""
        x = batch.features
        moved = torch.stack([x[:, 0] + (r - batch.extras["r"]), x[:, 1], x[:, 2] * batch.extras["lam"] / lam], dim=1)
        background = batch.label == 0
        p = torch.softmax(model.logits(torch.where(background[:, None], moved, x)) / self.temperature, dim=-1)
        w_s = torch.where(background, 0.0, batch.weight)
        w_b = torch.where(background, batch.weight, 0.0)
        s = self.yields[0] * (w_s[:, None] * p).sum(0) / w_s.sum().clamp_min(1e-12)
        b = self.yields[1] * (w_b[:, None] * p).sum(0) / w_b.sum().clamp_min(1e-12)
        return s, b

    def loss(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        """(I^-1)_mu,mu at the nominal point; d b / d(r, lambda) by central differences (5 forward passes, cheaper
        than autograd Jacobians and smooth at the training temperature)."""
        _, r0, lam0 = (float(v) for v in self.theta0)
        s, b = self.signal_background(model, batch, r0, lam0)
        columns = [s]
        for dr, dlam in ((FD_STEP, 0.0), (0.0, FD_STEP)):
            up = self.signal_background(model, batch, r0 + dr, lam0 + dlam)[1]
            down = self.signal_background(model, batch, r0 - dr, lam0 - dlam)[1]
            columns.append((up - down) / (2 * FD_STEP))
        jacobian = torch.stack(columns, dim=1)
        return fisher_mu_variance(jacobian, (s + b).clamp_min(1e-6), self.constraint.to(s.device))


def train_inferno(samples: dict[str, pd.DataFrame], toy: Toy, settings: TrainingSettings, seed: int,
                  out_dir: str | os.PathLike, bins: int = BINS) -> TrainedModel:  # fmt: skip
    """Train the soft binning on nominal events with the shared loop; the ONNX model outputs the bin probabilities."""

    def make_model(train: Batch) -> Callable[[], SoftBinner]:
        mean, std = feature_statistics(train.features.numpy(), train.weight.numpy())
        return lambda: SoftBinner(train.features.shape[1], settings.hidden, bins, mean, std)

    return train_classifier(
        "inferno", InfernoLoss(toy), samples, list(toy.features), settings, seed, out_dir,
        extra_columns=[n.name for n in toy.nuisances], make_model=make_model,
        options={"toy": toy.name, "bins": bins, "temperature": TEMPERATURE},
    )  # fmt: skip


def is_binning_model(scorer: OnnxScorer) -> bool:
    """True for an INFERNO export (bin probabilities, not one score)."""
    return scorer.metadata.get("method") == "inferno"


def bin_probabilities(scorer: OnnxScorer, toy: Toy, sample: ToySample) -> np.ndarray:
    """The (n, K) bin probabilities of an INFERNO export."""
    x = np.ascontiguousarray(sample.features, dtype=np.float32)
    return scorer.session.run(None, {scorer.input_name: x})[0]


def hard_bins(scorer: OnnxScorer, toy: Toy, reference: ToySample, bins: int = BINS
              ) -> Callable[[ToySample], np.ndarray]:  # fmt: skip
    """Bin index per event: the most probable bin of an INFERNO model, else bins of equal nominal signal in score
    (a parameterised model at nominal parameters: a fixed summary, like the others)."""
    if is_binning_model(scorer):
        return lambda sample: bin_probabilities(scorer, toy, sample).argmax(axis=1)

    def score(sample: ToySample) -> np.ndarray:
        return grid_scores(scorer, toy, sample.features, {})

    inner = np.quantile(score(reference)[reference.label == 1], np.linspace(0, 1, bins + 1)[1:-1])
    return lambda sample: np.searchsorted(inner, score(sample))


def binned_counts(index: np.ndarray, sample: ToySample, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Expected signal and background per bin (the sample's weights are yields / events)."""
    s = np.bincount(index[sample.label == 1], sample.weight[sample.label == 1], minlength=bins)
    b = np.bincount(index[sample.label == 0], sample.weight[sample.label == 0], minlength=bins)
    return s, b


def expected_mu_std(scorer: OnnxScorer, n: int, seed: int, bins: int = BINS) -> float:
    """sigma(mu) of the hard-binned Asimov likelihood with r and lambda profiled (central differences in them)."""
    toy = get_toy("inferno")
    nominal = evaluation_sample(toy, n, seed)
    assign = hard_bins(scorer, toy, nominal, bins)
    s, b = binned_counts(assign(nominal), nominal, bins)
    columns = [s]
    for nuisance in toy.nuisances:
        step = STEP_SIGMAS * nuisance.sigma
        shifted = ({nuisance.name: nuisance.nominal + sign * step} for sign in (1, -1))
        up, down = (evaluation_sample(toy, n, seed, point) for point in shifted)
        b_up, b_down = binned_counts(assign(up), up, bins)[1], binned_counts(assign(down), down, bins)[1]
        columns.append((b_up - b_down) / (2 * step))
    used = s + b > 0  # a bin empty at nominal has no Poisson term (its finite difference is noise)
    jacobian = torch.tensor(np.column_stack(columns)[used], dtype=torch.float64)
    expected = torch.tensor((s + b)[used], dtype=torch.float64)
    constraint = torch.tensor([0.0] + [nu.sigma**-2 for nu in toy.nuisances], dtype=torch.float64)
    return float(fisher_mu_variance(jacobian, expected, constraint).sqrt())
