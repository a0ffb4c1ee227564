"""INFERNO (de Castro & Dorigo, arXiv:1806.04743) on the H->tautau problem: a soft binning trained on the expected
variance of mu with the nuisance parameters profiled.

The network has K outputs. Softened by a temperature, they assign each event to bins. Each batch gives
expected counts per bin for every process, scaled to its yield. TES is the shape NP: every training event
carries its features and cut decision at TES -1 sigma, nominal and +1 sigma, the same events varied by
``systlab.samples.vary``, so d(counts)/d(theta_TES) is the central difference. The normalisation NPs and lumi scale
their processes' counts. The loss is (I^-1)_{mu,mu} of the Poisson Asimov likelihood at mu = 1, with unit
Gaussian constraints on the NPs.

For the DAG, the export is a one-score model like every other method: the softmax over the K bins (at the
training temperature) weighted by each bin's signal purity, measured on the validation events. Templates,
workspaces and fits then treat INFERNO like any fixed classifier. The learned K-bin summary is rebinned in its
purity score, and two bins of equal purity merge.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence

import pandas as pd
import torch
from torch import nn

from systlab.events import SPLITS
from systlab.methods.common import TrainedModel, train_classifier
from systlab.methods.loop import Batch, TrainingSettings
from systlab.methods.model import Classifier, feature_statistics

#: Bins of the learned summary, softmax temperature during training.
BINS = 10
TEMPERATURE = 0.1
#: The TES points every training event is seen at (sigma units) and their column prefixes.
SHIFTS = {"down": -1.0, "up": 1.0}
PASS = "pass_"
PROCESS = "process_code"


def shifted_column(shift: str, feature: str) -> str:
    """Column of ``feature`` at TES ``shift`` (``down`` / ``up``) in an INFERNO training table."""
    return f"{shift}:{feature}"


class SoftBinner(Classifier):
    """The Classifier's standardising MLP with ``bins`` outputs; ``forward`` gives the bin probabilities."""

    def __init__(self, n_features: int, hidden: tuple[int, ...], bins: int = BINS, mean=None, std=None) -> None:
        super().__init__(n_features, hidden, mean, std)
        self.net[-1] = nn.Linear(self.net[-1].in_features, bins)
        self.bins = bins

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Per-event bin logits, shape (batch, bins)."""
        return self.net(self.standardise(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.logits(x), dim=-1)


class PurityScore(nn.Module):
    """Export wrapper: one score per event, sum_b softmax_b(logits / T) * purity_b (shape (batch,)), at the
    training temperature T: close to the purity of the event's bin, smooth between bins."""

    def __init__(self, binner: SoftBinner, purity: torch.Tensor, temperature: float) -> None:
        super().__init__()
        self.binner, self.temperature = binner, float(temperature)
        self.register_buffer("purity", purity.detach().clone().float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.binner.logits(x) / self.temperature, dim=-1) @ self.purity


def fisher_mu_variance(jacobian: torch.Tensor, expected: torch.Tensor, constraint: torch.Tensor) -> torch.Tensor:
    """(I^-1)_mu,mu for Poisson bins: I = J^T diag(1/m) J + diag(constraint); parameter 0 is mu."""
    information = (jacobian / expected[:, None]).T @ jacobian + torch.diag(constraint)
    return torch.linalg.inv(information)[0, 0]


class InfernoLoss:
    """Expected variance of mu of the softly binned Asimov likelihood with TES, normalisations and lumi profiled.

    ``yields``: expected events per process code (nominal); ``signal``: the signal's code; ``norms``: per
    normalisation NP, the process codes it scales and its relative width; ``features``: the input order.
    """

    def __init__(self, yields: Mapping[int, float], signal: int, norms: Sequence[tuple[Sequence[int], float]],
                 lumi_sigma: float, features: Sequence[str], temperature: float = TEMPERATURE) -> None:  # fmt: skip
        self.yields, self.signal, self.norms = dict(yields), signal, list(norms)
        self.lumi_sigma, self.features, self.temperature = lumi_sigma, list(features), temperature

    def counts(self, model: nn.Module, batch: Batch, shift: str | None) -> dict[int, torch.Tensor]:
        """Expected counts per bin of every process in the batch, at TES ``shift`` (None: nominal)."""
        x = batch.features if shift is None else torch.stack(
            [batch.extras[shifted_column(shift, f)] for f in self.features], dim=1)  # fmt: skip
        p = torch.softmax(model.logits(x) / self.temperature, dim=-1)
        passed = batch.weight * batch.extras[PASS + (shift or "nominal")]
        norm = batch.weight * batch.extras[PASS + "nominal"]
        code = batch.extras[PROCESS]
        out = {}
        for c, y in self.yields.items():
            mine = code == c
            total = norm[mine].sum()
            if total > 0:
                out[c] = y * (passed[mine, None] * p[mine]).sum(0) / total
        return out

    def loss(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        nominal = self.counts(model, batch, None)
        if self.signal not in nominal:
            return torch.zeros((), device=batch.features.device, requires_grad=True)
        up, down = self.counts(model, batch, "up"), self.counts(model, batch, "down")
        s = nominal[self.signal]
        b = sum(n for c, n in nominal.items() if c != self.signal)
        columns = [s, sum((up[c] - down[c]) / 2 for c in nominal if c in up and c in down)]
        for codes, sigma in self.norms:
            columns.append(sigma * sum((nominal[c] for c in codes if c in nominal), torch.zeros_like(s)))
        columns.append(self.lumi_sigma * (s + b))
        jacobian = torch.stack(columns, dim=1)
        constraint = torch.ones(jacobian.shape[1], device=s.device)
        constraint[0] = 0.0
        return fisher_mu_variance(jacobian, (s + b).clamp_min(1e-6), constraint)


def bin_purity(model: SoftBinner, loss: InfernoLoss, data: Batch) -> torch.Tensor:
    """Signal purity s_b / (s_b + b_b) of each bin on ``data`` (nominal, training temperature)."""
    with torch.no_grad():
        counts = loss.counts(model, data, None)
        s = counts[loss.signal]
        total = sum(counts.values())
        return torch.where(total > 0, s / total.clamp_min(1e-12), torch.zeros_like(s))


def train_inferno(
    samples: dict[str, pd.DataFrame],
    features: list[str],
    settings: TrainingSettings,
    seed: int,
    out_dir: str | os.PathLike,
    signal: str = "htautau",
    norms: Mapping[str, tuple[Sequence[str], float]] | None = None,
    lumi_sigma: float = 0.0,
    bins: int = BINS,
    temperature: float = TEMPERATURE,
) -> TrainedModel:
    """Train the soft binning on tables from ``train.inferno_data`` and export its purity score.

    ``norms``: normalisation NP -> (processes it scales, relative width), as ``systematics.norm``; the yields are
    the train-split weight sums of the events passing the nominal cuts.
    """
    processes = list(samples)
    if signal not in processes:
        raise ValueError(f"INFERNO: signal {signal!r} is not among the training processes {processes}")
    coded = {p: t.assign(**{PROCESS: float(i)}) for i, (p, t) in enumerate(samples.items())}
    yields = {i: float(t["weight"][(t["split"] == SPLITS["train"]) & (t[PASS + "nominal"] > 0)].sum())
              for i, t in enumerate(samples.values())}  # fmt: skip
    norm_codes = [([processes.index(p) for p in procs if p in processes], sigma)
                  for procs, sigma in (norms or {}).values()]  # fmt: skip
    loss = InfernoLoss(yields, processes.index(signal), norm_codes, lumi_sigma, features, temperature)

    def make_model(train: Batch) -> Callable[[], SoftBinner]:
        mean, std = feature_statistics(train.features.numpy(), train.weight.numpy())
        return lambda: SoftBinner(train.features.shape[1], settings.hidden, bins, mean, std)

    def export(model: nn.Module, train: Batch, validation: Batch) -> nn.Module:
        return PurityScore(model, bin_purity(model, loss, validation), temperature)

    extra = [PROCESS, PASS + "nominal", *(PASS + s for s in SHIFTS),
             *(shifted_column(s, f) for s in SHIFTS for f in features)]  # fmt: skip
    return train_classifier(
        "inferno", loss, coded, features, settings, seed, out_dir, extra_columns=extra, make_model=make_model,
        options={"bins": bins, "temperature": temperature, "norms": {k: [list(v[0]), v[1]] for k, v in
                                                                      (norms or {}).items()},
                 "lumi_sigma": lumi_sigma}, export_model=export,
    )  # fmt: skip
