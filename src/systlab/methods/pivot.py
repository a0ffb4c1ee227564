"""Learning to pivot (Louppe, Kagan & Cranmer, arXiv:1611.01046): classifier vs a mixture-density adversary.

The adversary predicts the NP shift z (sigma units) of background events from the classifier output.
Schedule: pre-train the classifier (BCE), pre-train the adversary on it, then alternate per batch:
``adversary_steps`` adversary updates minimising L_r, one classifier update minimising L_f - lambda L_r.
The adversary's final loss is compared with its ideal value, the differential entropy of the z prior.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from systlab.methods.common import TrainedModel, classifier_factory, train_classifier
from systlab.methods.data import z_column
from systlab.methods.loop import Batch, TrainingSettings, WeightedBCE, fit, seed_everything, select_device
from systlab.methods.model import Classifier
from systlab.methods.settings import PivotSettings  # noqa: F401  (re-exported)
from systlab.samples.generators import TRAINING_VARIANTS

#: Differential entropy of N(0, 1): the adversary's loss when it learns nothing beyond the prior.
GAUSSIAN_ENTROPY = 0.5 * math.log(2 * math.pi * math.e)
#: Training rows used as the (unused for selection) validation set of the classifier pre-training.
PRETRAIN_CHECK_ROWS = 4096


def ideal_adversary_loss(nuisance: str) -> float:
    """The adversary's loss when the score tells it nothing: the entropy of the nuisance's training distribution
    (N(0, 1) for an NP in sigma units; uniform over the jittered variants of a modelling family)."""
    if nuisance in TRAINING_VARIANTS:
        return math.log(len(TRAINING_VARIANTS[nuisance]))
    return GAUSSIAN_ENTROPY


def mixture_nll(logit_pi: torch.Tensor, mu: torch.Tensor, log_sigma: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Per-event -log sum_k pi_k N(z | mu_k, sigma_k); inputs (n, K), z (n,)."""
    log_pi = torch.log_softmax(logit_pi, dim=-1)
    log_normal = -0.5 * ((z[:, None] - mu) / log_sigma.exp()) ** 2 - log_sigma - 0.5 * math.log(2 * math.pi)
    return -torch.logsumexp(log_pi + log_normal, dim=-1)


class MixtureDensityAdversary(nn.Module):
    """MLP on the classifier probability -> K Gaussian components (weights, means, log widths) for z."""

    def __init__(self, hidden: tuple[int, ...] = (16, 16), components: int = 5) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = 1
        for size in hidden:
            layers += [nn.Linear(width, size), nn.Tanh()]
            width = size
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, 3 * components)
        self.components = components

    def forward(self, score: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        out = self.head(self.body(score[:, None]))
        logit_pi, mu, log_sigma = out.split(self.components, dim=-1)
        return logit_pi, mu, log_sigma.clamp(-5.0, 5.0)

    def nll(self, score: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return mixture_nll(*self(score), z)


class PivotLoss:
    """The pivot game on one batch; not an nn.Module, so the adversary keeps its own optimiser."""

    def __init__(self, adversary: MixtureDensityAdversary, settings: PivotSettings) -> None:
        self.adversary, self.settings = adversary, settings
        self.column = z_column(settings.nuisance)
        self.optimiser = torch.optim.Adam(adversary.parameters(), lr=settings.learning_rate)

    def adversary_loss(self, model: Classifier, batch: Batch, detach: bool = False) -> torch.Tensor:
        """L_r: weighted mean NLL of z given the classifier output, over background events."""
        background = batch.label == 0
        with torch.set_grad_enabled(torch.is_grad_enabled() and not detach):
            score = model(batch.features[background])
        w = batch.weight[background]
        nll = self.adversary.nll(score, batch.extras[self.column][background])
        return (w * nll).sum() / w.sum().clamp_min(1e-12)  # 0 for a batch without background

    def adversary_step(self, model: Classifier, batch: Batch) -> float:
        """One adversary update with the classifier fixed."""
        loss = self.adversary_loss(model, batch, detach=True)
        self.optimiser.zero_grad(set_to_none=True)
        loss.backward()
        self.optimiser.step()
        return float(loss.detach())

    def classifier_loss(self, model: Classifier, batch: Batch) -> torch.Tensor:
        """L_f - lambda L_r: the classifier is rewarded for making the adversary's job hard."""
        return WeightedBCE().loss(model, batch) - self.settings.lam * self.adversary_loss(model, batch)

    def loss(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        if torch.is_grad_enabled() and model.training:
            for _ in range(self.settings.adversary_steps):
                self.adversary_step(model, batch)
        return self.classifier_loss(model, batch)


class AdversaryOnly:
    """Loss for (pre-)training the adversary alone: the classifier is frozen (detached)."""

    def __init__(self, game: PivotLoss) -> None:
        self.game = game

    def loss(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        return self.game.adversary_loss(model, batch, detach=True)


def fit_adversary(
    model: Classifier, game: PivotLoss, train: Batch, epochs: int, batch_size: int, seed: int
) -> float:
    """Train the adversary for ``epochs`` on ``train`` with the classifier frozen; last epoch's mean loss."""
    rng = np.random.default_rng(seed)
    model.eval()
    total = math.nan
    for _ in range(epochs):
        order = torch.from_numpy(rng.permutation(train.n_events))
        total, n = 0.0, 0
        for start in range(0, train.n_events, batch_size):
            batch = train.take(order[start : start + batch_size])
            total += game.adversary_step(model, batch) * batch.n_events
            n += batch.n_events
        total /= n
    return total


@torch.no_grad()
def adversary_loss_on(model: Classifier, game: PivotLoss, data: Batch) -> float:
    model.eval()
    return float(game.adversary_loss(model, data))


def train_pivot(
    samples: dict[str, pd.DataFrame],
    features: list[str],
    settings: TrainingSettings,
    seed: int,
    out_dir: str | os.PathLike,
    pivot: PivotSettings | None = None,
    game_factory: Callable[[MixtureDensityAdversary, PivotSettings], PivotLoss] = PivotLoss,
    options: dict[str, Any] | None = None,
) -> TrainedModel:
    """Pre-train classifier and adversary, then play the game for ``settings.epochs`` (last state kept).

    ``game_factory`` builds the game from an adversary (e.g. one acting on other classes, as on the paper
    toys); ``options`` are recorded in the model's metadata beside the pivot settings."""
    pivot = pivot or PivotSettings()
    device = select_device()
    column = z_column(pivot.nuisance)
    state: dict[str, Any] = {}

    def make_model(train: Batch):
        def pretrained() -> Classifier:
            pre = replace(settings, epochs=pivot.pretrain_epochs, patience=pivot.pretrain_epochs)
            check = train.take(torch.arange(min(train.n_events, PRETRAIN_CHECK_ROWS)))
            model, _ = fit(classifier_factory(train, settings.hidden), WeightedBCE(), train, check, pre, seed,
                           device=device)  # fmt: skip
            seed_everything(seed + 1, settings.threads)
            adversary = MixtureDensityAdversary(pivot.hidden, pivot.components).to(device)
            game = game_factory(adversary, pivot)
            on_device = train.to(device)
            state["pretrain_loss"] = fit_adversary(model.to(device), game, on_device, pivot.adversary_pretrain_epochs,
                                                   settings.batch_size, seed)  # fmt: skip
            state["game"] = game
            seed_everything(seed, settings.threads)
            return model

        return pretrained

    class Game:
        """Defers to the game built during pre-training (the loop asks for the loss only after that)."""

        def loss(self, model: nn.Module, batch: Batch) -> torch.Tensor:
            return state["game"].loss(model, batch)

    def report(model: Classifier, train: Batch, validation: Batch) -> dict[str, Any]:
        game: PivotLoss = state["game"]
        final = adversary_loss_on(model, game, validation)
        fresh = game_factory(MixtureDensityAdversary(pivot.hidden, pivot.components), pivot)
        seed_everything(seed + 2, settings.threads)
        fit_adversary(model, fresh, train, pivot.adversary_pretrain_epochs, settings.batch_size, seed + 2)
        return {
            "adversary_pretrain_loss": state["pretrain_loss"],
            "adversary_final_loss": final,
            "adversary_refit_loss": adversary_loss_on(model, fresh, validation),
            "adversary_ideal_loss": ideal_adversary_loss(pivot.nuisance),
        }

    return train_classifier(
        "pivot", Game(), samples, features, settings, seed, out_dir,
        extra_columns=[column], options={**(options or {}), "pivot": pivot.to_dict()}, make_model=make_model,
        early_stopping=False, after_fit=report,
    )  # fmt: skip
