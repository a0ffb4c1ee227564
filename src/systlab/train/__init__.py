"""Classifier training: the shared loop, the network, the training data, and one small module per method.

``METHODS`` maps a method family to its ``train_*(samples, features, settings, seed, out_dir, **options)
-> TrainedModel``; ``samples`` are per-process tables (``train.data.training_tables``) holding the
train/validation rows and the per-event NP shifts ``z_<np>`` the method needs.
"""

from __future__ import annotations

from collections.abc import Callable

from systlab.train.augmented import train_augmented
from systlab.train.aware import train_aware
from systlab.train.baseline import TrainedModel, train_baseline
from systlab.train.disco import train_disco
from systlab.train.inferno import train_inferno
from systlab.train.loop import TrainingHistory, TrainingSettings
from systlab.train.oracle import train_oracle
from systlab.train.pivot import train_pivot

METHODS: dict[str, Callable[..., TrainedModel]] = {
    "baseline": train_baseline,
    "augmented": train_augmented,
    "pivot": train_pivot,
    "disco": train_disco,
    "aware": train_aware,
    "oracle": train_oracle,
    "inferno": train_inferno,
}

__all__ = ["METHODS", "TrainedModel", "TrainingHistory", "TrainingSettings", "train_baseline"]
