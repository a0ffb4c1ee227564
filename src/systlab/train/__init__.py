"""Classifier training: the shared loop, the network, and one small module per method.

``METHODS`` maps a method name to its ``train_*(samples, features, settings, seed, out_dir) -> TrainedModel``.
"""

from __future__ import annotations

from collections.abc import Callable

from systlab.train.baseline import TrainedModel, train_baseline
from systlab.train.loop import TrainingHistory, TrainingSettings

METHODS: dict[str, Callable[..., TrainedModel]] = {"baseline": train_baseline}

__all__ = ["METHODS", "TrainedModel", "TrainingHistory", "TrainingSettings", "train_baseline"]
