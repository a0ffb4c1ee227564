"""Oracle: one plain classifier per true value of the target NP, trained on events at that value (a reference only).

No real analysis has it (the truth is unknown); it bounds what any method can reach at that truth.
Model names come from ``systlab.config.oracle_name`` (``oracle_tes_-1sd``, ...).
"""

from __future__ import annotations

import os

import pandas as pd

from systlab.methods.common import TrainedModel, train_classifier
from systlab.methods.loop import TrainingSettings, WeightedBCE


def train_oracle(
    samples: dict[str, pd.DataFrame],
    features: list[str],
    settings: TrainingSettings,
    seed: int,
    out_dir: str | os.PathLike,
    nuisance: str,
    point: float = 0.0,
) -> TrainedModel:
    """Weighted BCE on tables varied to ``point`` (sigma units) of ``nuisance`` (the tables carry it; recorded)."""
    return train_classifier("oracle", WeightedBCE(), samples, features, settings, seed, out_dir,
                            options={"nuisance": nuisance, "point": float(point)})  # fmt: skip
