"""DisCo (Kasieczka & Shih, arXiv:2001.05310): weighted BCE + lambda * dCorr^2(score, NP) on background events."""

from __future__ import annotations

import os

import pandas as pd
import torch
from torch import nn

from systlab.methods.common import TrainedModel, train_classifier
from systlab.methods.data import z_column
from systlab.methods.loop import Batch, TrainingSettings

#: At most this many background events of a batch enter dCorr (its cost grows as n^2).
MAX_DCORR_EVENTS = 512


def _centred_distances(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Doubly centred |x_i - x_j| with weighted row/column means (``w`` sums to 1)."""
    a = (x[:, None] - x[None, :]).abs()
    row = a @ w
    return a - row[:, None] - row[None, :] + row @ w


def distance_correlation_sq(x: torch.Tensor, y: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Weighted squared distance correlation dCov^2(x,y) / sqrt(dVar^2(x) dVar^2(y)), in [0, 1] (V-statistic)."""
    w = torch.ones_like(x) if weight is None else weight.to(x.dtype)
    w = w / w.sum()
    a, b = _centred_distances(x, w), _centred_distances(y, w)
    dcov = w @ (a * b) @ w
    dvar = (w @ (a * a) @ w) * (w @ (b * b) @ w)
    return dcov / dvar.clamp_min(1e-30).sqrt()


class DiscoLoss:
    """BCE + lambda * dCorr^2(classifier probability, z_<np>) over the background events of each batch."""

    def __init__(self, lam: float, nuisance: str, max_events: int = MAX_DCORR_EVENTS) -> None:
        self.lam, self.column, self.max_events = float(lam), z_column(nuisance), max_events

    def penalty(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        background = torch.nonzero(batch.label == 0).squeeze(-1)[: self.max_events]
        if len(background) < 2:
            return logits.new_zeros(())
        score = torch.sigmoid(logits[background])
        return distance_correlation_sq(score, batch.extras[self.column][background], batch.weight[background])

    def loss(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        logits = model.logits(batch.features)
        bce = nn.functional.binary_cross_entropy_with_logits(logits, batch.label, reduction="none")
        total = (batch.weight * bce).mean()
        return total + self.lam * self.penalty(logits, batch) if self.lam else total


def train_disco(
    samples: dict[str, pd.DataFrame],
    features: list[str],
    settings: TrainingSettings,
    seed: int,
    out_dir: str | os.PathLike,
    *,
    nuisance: str,
    lam: float = 10.0,
) -> TrainedModel:
    """Train with the DisCo penalty on ``z_<nuisance>`` (tables from prior-augmented events)."""
    return train_classifier(
        "disco", DiscoLoss(lam, nuisance), samples, features, settings, seed, out_dir,
        extra_columns=[z_column(nuisance)], options={"lambda": lam, "nuisance": nuisance},
    )  # fmt: skip
