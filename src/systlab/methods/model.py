"""The classifier: an MLP that standardises raw features itself, so the exported ONNX takes raw features."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from systlab.events import SENTINEL

#: Standard deviations below this are treated as constant features (scaled by 1 instead).
MIN_STD = 1e-6


def feature_statistics(features: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted per-feature mean and std ignoring SENTINEL entries; (0, 1) where never defined."""
    x = np.asarray(features, dtype=np.float64)
    w = np.broadcast_to(np.asarray(weights, dtype=np.float64)[:, None], x.shape)
    valid = x != SENTINEL
    wv = np.where(valid, w, 0.0)
    total = wv.sum(axis=0)
    usable = total > 0
    safe_total = np.where(usable, total, 1.0)
    mean = np.where(usable, (wv * np.where(valid, x, 0.0)).sum(axis=0) / safe_total, 0.0)
    var = np.where(usable, (wv * np.where(valid, x - mean, 0.0) ** 2).sum(axis=0) / safe_total, 1.0)
    std = np.sqrt(np.clip(var, 0.0, None))
    std = np.where(std > MIN_STD, std, 1.0)
    return mean.astype(np.float32), std.astype(np.float32)


def standardised(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """(x − mean)/std per feature, SENTINEL entries 0 (the mean): what every network here sees of raw features."""
    z = (x - mean) / std
    return torch.where(x == SENTINEL, torch.zeros_like(z), z)


def mlp(n_inputs: int, hidden: tuple[int, ...]) -> nn.Sequential:
    """Linear+ReLU layers of widths ``hidden`` followed by one output logit."""
    layers: list[nn.Module] = []
    width = n_inputs
    for size in hidden:
        layers += [nn.Linear(width, size), nn.ReLU()]
        width = size
    layers.append(nn.Linear(width, 1))
    return nn.Sequential(*layers)


class Classifier(nn.Module):
    """MLP on raw features: standardises with stored buffers, maps SENTINEL to 0, ``forward`` = probability.

    Use ``logits`` for training (numerically stable BCE), ``forward`` for export and scoring.
    """

    def __init__(
        self,
        n_features: int,
        hidden: tuple[int, ...],
        mean: np.ndarray | None = None,
        std: np.ndarray | None = None,
    ) -> None:
        super().__init__()
        self.n_features = n_features
        self.hidden = tuple(hidden)
        mean_t = torch.zeros(n_features) if mean is None else torch.as_tensor(mean, dtype=torch.float32)
        std_t = torch.ones(n_features) if std is None else torch.as_tensor(std, dtype=torch.float32)
        if mean_t.shape != (n_features,) or std_t.shape != (n_features,):
            raise ValueError(f"mean/std must have shape ({n_features},)")
        self.register_buffer("mean", mean_t.clone())
        self.register_buffer("std", std_t.clone())
        self.net = mlp(n_features, self.hidden)

    @classmethod
    def from_training_data(
        cls, features: np.ndarray, weights: np.ndarray, hidden: tuple[int, ...]
    ) -> Classifier:
        """Build a classifier whose standardisation comes from the weighted training features."""
        mean, std = feature_statistics(features, weights)
        return cls(features.shape[1], hidden, mean, std)

    def standardise(self, x: torch.Tensor) -> torch.Tensor:
        """Standardise raw features; SENTINEL entries become 0 (the mean) so they carry no scale."""
        return standardised(x, self.mean, self.std)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Per-event logit, shape (batch,)."""
        return self.net(self.standardise(x)).squeeze(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Per-event signal probability, shape (batch,)."""
        return torch.sigmoid(self.logits(x))
