"""Data augmentation: weighted BCE on events whose shape NPs are drawn per event from their priors.

The method differs from the baseline only in its data (``train.data.method_draws("augmented", ...)``).
"""

from __future__ import annotations

import os

import pandas as pd

from systlab.methods.common import TrainedModel, train_classifier
from systlab.methods.loop import TrainingSettings, WeightedBCE


def train_augmented(
    samples: dict[str, pd.DataFrame],
    features: list[str],
    settings: TrainingSettings,
    seed: int,
    out_dir: str | os.PathLike,
) -> TrainedModel:
    """Weighted BCE on prior-augmented tables."""
    return train_classifier("augmented", WeightedBCE(), samples, features, settings, seed, out_dir)
