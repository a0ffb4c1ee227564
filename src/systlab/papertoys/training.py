"""Train systlab's methods on a paper toy with the shared loop (``systlab.methods``): an adapter from toy arrays.

The toy events become per-class tables with the ``split``/``label``/``weight``/``z_<np>`` columns that
``train.common.train_classifier`` reads, so every method writes the same files as on the Higgs sample
(model.pt, model.onnx, history.json, meta.json). The one generalisation the toys need: the adversary and
the DisCo penalty look at the classes the nuisance acts on (the signal on the pivot toy), not always at
the background.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from systlab.events import SPLITS
from systlab.methods.common import TrainedModel, train_classifier
from systlab.methods.data import z_column
from systlab.methods.disco import DiscoLoss
from systlab.methods.loop import Batch, TrainingSettings, WeightedBCE
from systlab.methods.model import Classifier
from systlab.methods.pivot import (
    MixtureDensityAdversary,
    PivotLoss,
    PivotSettings,
    train_pivot,
)
from systlab.papertoys.inferno import train_inferno
from systlab.papertoys.settings import PaperToySettings, split_model_name
from systlab.papertoys.toys import TOYS, Toy, ToySample, get_toy

#: How each method sets the toy's nuisances per training event.
METHOD_DRAWS = {"baseline": "nominal", "augmented": "prior", "pivot": "prior", "disco": "prior",
                "aware": "uniform", "oracle": "fixed", "inferno": "nominal"}  # fmt: skip
#: Validation events per class as a fraction of the training events.
VALIDATION_FRACTION = 0.25


def model_inputs(toy: Toy, method: str) -> list[str]:
    """ONNX input columns: the toy's features, plus its nuisances for the parameterised (aware) model."""
    return [*toy.features, *(n.name for n in toy.nuisances)] if method == "aware" else list(toy.features)


def sample_table(toy: Toy, sample: ToySample, split: int) -> pd.DataFrame:
    """One row per event: features, nuisance values, the primary shift ``z_<np>``, label, weight, split."""
    table = pd.DataFrame(sample.features, columns=list(toy.features))
    for name, values in sample.nuisances.items():
        table[name] = values
    table[z_column(toy.primary.name)] = toy.primary.shift(sample.nuisances[toy.primary.name])
    table["label"] = sample.label
    table["weight"] = sample.weight
    table["split"] = split
    return table


def training_tables(toy: Toy, method: str, n_events: int, rng: np.random.Generator,
                    point: float | None = None) -> dict[str, pd.DataFrame]:  # fmt: skip
    """The events table (train and validation splits, classes mixed) with the method's nuisance draws."""
    draw = METHOD_DRAWS[method]
    fixed = {toy.primary.name: point} if point is not None else None
    parts = [
        sample_table(toy, toy.sample(n, rng, draw, fixed), SPLITS[split])
        for split, n in (("train", n_events), ("validation", max(int(n_events * VALIDATION_FRACTION), 64)))
    ]
    table = pd.concat(parts, ignore_index=True)
    # one shuffled table: the loop evaluates validation batches in row order, and batches of one class only
    # would see no adversary or DisCo term when that class is unaffected by the nuisance
    return {"events": table.iloc[rng.permutation(len(table))].reset_index(drop=True)}


def as_background(batch: Batch, classes: Sequence[int]) -> Batch:
    """The batch with events of ``classes`` labelled 0 and the others 1: the event selection that the
    pivot adversary and the DisCo penalty apply (they act on label-0 events)."""
    affected = torch.zeros_like(batch.label, dtype=torch.bool)
    for cls in classes:
        affected |= batch.label == cls
    return batch._replace(label=torch.where(affected, 0.0, 1.0).to(batch.label.dtype))


class AffectedClassPivotLoss(PivotLoss):
    """The pivot game with the adversary on the classes the nuisance acts on (``PivotLoss`` uses background)."""

    def __init__(self, adversary: MixtureDensityAdversary, settings: PivotSettings, classes: Sequence[int]) -> None:
        super().__init__(adversary, settings)
        self.classes = tuple(classes)

    def adversary_loss(self, model: Classifier, batch: Batch, detach: bool = False) -> torch.Tensor:
        return super().adversary_loss(model, as_background(batch, self.classes), detach)


class AffectedClassDiscoLoss(DiscoLoss):
    """BCE + lambda dCorr^2(score, z) over the classes the nuisance acts on (``DiscoLoss`` uses background)."""

    def __init__(self, lam: float, nuisance: str, classes: Sequence[int]) -> None:
        super().__init__(lam, nuisance)
        self.classes = tuple(classes)

    def penalty(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        return super().penalty(logits, as_background(batch, self.classes))


def train_toy_pivot(samples: dict[str, pd.DataFrame], toy: Toy, settings: TrainingSettings, pivot: PivotSettings,
                    seed: int, out_dir: str | os.PathLike) -> TrainedModel:  # fmt: skip
    """``train.pivot.train_pivot`` with the adversary on the toy's affected classes."""
    return train_pivot(samples, list(toy.features), settings, seed, out_dir, pivot,
                       game_factory=lambda adversary, p: AffectedClassPivotLoss(adversary, p, toy.affected_classes),
                       options={"toy": toy.name})  # fmt: skip


def replica_index(replica: str) -> int:
    """0 for ``r0``, 1 for ``r1``, ..."""
    if not (replica.startswith("r") and replica[1:].isdigit()):
        raise ValueError(f"replica name {replica!r} is not r<integer>")
    return int(replica[1:])


def data_rng(settings: PaperToySettings, toy: str, replica: str) -> np.random.Generator:
    """Training events of one replica: independent per (config seed, toy, replica), shared by the toy's methods."""
    return np.random.default_rng([settings.seed, sorted(TOYS).index(toy), replica_index(replica)])


def train_toy_model(toy_name: str, model: str, replica: str, settings: PaperToySettings,
                    out_dir: str | os.PathLike) -> TrainedModel:  # fmt: skip
    """Train one (toy, model, replica): fresh toy events per replica, torch seed = config seed + replica index."""
    toy = get_toy(toy_name)
    method, point = split_model_name(model)
    seed = settings.seed + replica_index(replica)
    samples = training_tables(toy, method, settings.events, data_rng(settings, toy_name, replica), point)
    options = {"toy": toy.name, "n_events_per_class": settings.events}
    if method == "pivot":
        return train_toy_pivot(samples, toy, settings.training, settings.pivot_for(toy_name), seed, out_dir)
    if method == "inferno":
        return train_inferno(samples, toy, settings.training, seed, out_dir)
    if method == "disco":
        loss = AffectedClassDiscoLoss(settings.disco_lambda, toy.primary.name, toy.affected_classes)
        return train_classifier("disco", loss, samples, list(toy.features), settings.training, seed, out_dir,
                                extra_columns=[z_column(toy.primary.name)],
                                options={**options, "lambda": settings.disco_lambda})  # fmt: skip
    if method == "aware":
        options["parameters"] = [n.name for n in toy.nuisances]
    if method == "oracle":
        options["point"] = {toy.primary.name: point}
    return train_classifier(method, WeightedBCE(), samples, model_inputs(toy, method), settings.training, seed,
                            out_dir, options=options)  # fmt: skip
