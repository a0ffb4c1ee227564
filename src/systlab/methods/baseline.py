"""The baseline method: a plain weighted-BCE classifier trained on the nominal events of all processes."""

from __future__ import annotations

import os

import pandas as pd

from systlab.methods.common import (
    PARITY_ROWS,
    TrainedModel,
    config_hash,
    load_classifier,
    save_state,
    train_classifier,
    training_batches,
)
from systlab.methods.loop import TrainingSettings, WeightedBCE

__all__ = [
    "PARITY_ROWS", "TrainedModel", "config_hash", "load_classifier", "save_state", "train_baseline",
    "training_batches",
]  # fmt: skip


def train_baseline(
    samples: dict[str, pd.DataFrame],
    features: list[str],
    settings: TrainingSettings,
    seed: int,
    out_dir: str | os.PathLike,
) -> TrainedModel:
    """Train on the given per-process tables (nominal events for this method) with weighted BCE."""
    return train_classifier("baseline", WeightedBCE(), samples, features, settings, seed, out_dir)
