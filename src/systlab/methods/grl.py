"""Gradient-reversal domain adaptation (Ganin et al., arXiv:1505.07818) against the TES nuisance parameter.

A domain head on the classifier's last hidden layer learns to tell nominal events from TES-shifted ones (half the
training events stay nominal, half have TES drawn from its prior: ``Draw("nominal_or_normal")``); between the two a
gradient-reversal layer flips the head's gradient by −λ, so the shared features are trained to make that task
impossible while the score still separates signal from background. One optimiser serves both (the loss is an
``nn.Module``): the head minimises its loss, the features maximise it. As for the pivot, every epoch runs and the
last state is kept. Only the classifier goes to ONNX.
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd
import torch
from torch import nn

from systlab.methods.common import TrainedModel, train_classifier
from systlab.methods.data import z_column
from systlab.methods.loop import Batch, TrainingSettings
from systlab.methods.model import Classifier


class _ReverseGradient(torch.autograd.Function):
    """Identity forward; gradient × (−λ) backward."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, lam: float) -> torch.Tensor:
        ctx.lam = lam
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return -ctx.lam * grad, None


def reverse_gradient(x: torch.Tensor, lam: float) -> torch.Tensor:
    """``x`` unchanged, with its gradient multiplied by −``lam`` on the way back."""
    return _ReverseGradient.apply(x, lam)


def hidden_features(model: Classifier, x: torch.Tensor) -> torch.Tensor:
    """The classifier's last hidden layer (after its activation): what the score and the domain head share."""
    return model.net[:-1](model.standardise(x))


class GradientReversalLoss(nn.Module):
    """Weighted BCE of the score + the domain head's weighted BCE (nominal vs shifted ``nuisance``) through reversal."""

    def __init__(self, width: int, lam: float, nuisance: str, hidden: tuple[int, ...] = (16,), seed: int = 0) -> None:
        super().__init__()
        self.lam, self.column = float(lam), z_column(nuisance)
        layers: list[nn.Module] = []
        with torch.random.fork_rng(devices=[]):  # the head's start does not move the classifier's random stream
            torch.manual_seed(seed)
            for size in hidden:
                layers += [nn.Linear(width, size), nn.ReLU()]
                width = size
            layers.append(nn.Linear(width, 1))
        self.head = nn.Sequential(*layers)

    def domain_logits(self, model: Classifier, batch: Batch) -> torch.Tensor:
        return self.head(reverse_gradient(hidden_features(model, batch.features), self.lam)).squeeze(-1)

    def domain_loss(self, model: Classifier, batch: Batch) -> torch.Tensor:
        """Weighted BCE of the domain head: target 1 for an event whose nuisance was shifted, 0 for a nominal one."""
        shifted = (batch.extras[self.column] != 0).to(batch.weight.dtype)
        bce = nn.functional.binary_cross_entropy_with_logits(self.domain_logits(model, batch), shifted,
                                                             reduction="none")
        return (batch.weight * bce).mean()

    def loss(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        logits = model.logits(batch.features)
        bce = nn.functional.binary_cross_entropy_with_logits(logits, batch.label, reduction="none")
        classification = (batch.weight * bce).mean()
        return classification + self.domain_loss(model, batch) if self.lam else classification


def options(cfg: Any, spec: Any) -> dict[str, Any]:
    """Keyword options of :func:`train_grl` from the config's ``method_settings.grl``."""
    grl = cfg.method_settings.grl
    return {"lam": grl.lam, "domain_hidden": grl.domain_hidden, "nuisance": spec.nuisance}


def train_grl(
    samples: dict[str, pd.DataFrame],
    features: list[str],
    settings: TrainingSettings,
    seed: int,
    out_dir: str | os.PathLike,
    *,
    nuisance: str,
    lam: float = 1.0,
    domain_hidden: tuple[int, ...] = (16,),
) -> TrainedModel:
    """Train the classifier with a gradient-reversed domain head on ``z_<nuisance>`` (nominal vs shifted)."""
    loss = GradientReversalLoss(settings.hidden[-1], lam, nuisance, tuple(domain_hidden), seed)

    def report(model: Classifier, train: Batch, validation: Batch) -> dict[str, Any]:
        """The domain head's final loss on validation events beside its value for a head that learns nothing."""
        with torch.no_grad():
            device = next(model.parameters()).device
            data = validation.to(device)
            shifted = (data.extras[loss.column] != 0).to(data.weight.dtype)
            p = float((data.weight * shifted).sum() / data.weight.sum())
            blind = -(p * torch.log(torch.tensor(p)) + (1 - p) * torch.log(torch.tensor(1 - p))) if 0 < p < 1 else 0.0
            return {"domain_loss": float(loss.domain_loss(model.eval(), data)),
                    "domain_loss_blind": float(blind) * float(data.weight.mean())}

    return train_classifier(
        "grl", loss, samples, features, settings, seed, out_dir, extra_columns=[z_column(nuisance)],
        options={"lambda": float(lam), "domain_hidden": list(domain_hidden), "nuisance": nuisance},
        after_fit=report, early_stopping=False,  # an adversarial game: its loss selects no epoch (as the pivot)
    )
