"""Parameterised, uncertainty-aware classifier f(x; alpha_tes) (Baldi et al. 1601.07913; Ghosh et al. 2105.08742).

alpha_tes (the TES shift in sigma units, drawn per event uniformly over the TES grid range, see
``train.data``) is one more input column, so the ONNX model takes it too: score with
``score_sample(..., parameters={"alpha_tes": value})``.
"""

from __future__ import annotations

import os

import pandas as pd

from systlab.methods.common import TrainedModel, train_classifier
from systlab.methods.data import z_column
from systlab.methods.loop import TrainingSettings, WeightedBCE

#: The model's parameter input column (TES shift in units of sigma).
ALPHA = "alpha_tes"


def with_alpha(samples: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Copy each table's per-event TES shift ``z_tes`` into the input column ``alpha_tes``."""
    return {name: table.assign(**{ALPHA: table[z_column("tes")]}) for name, table in samples.items()}


def train_aware(
    samples: dict[str, pd.DataFrame],
    features: list[str],
    settings: TrainingSettings,
    seed: int,
    out_dir: str | os.PathLike,
) -> TrainedModel:
    """Weighted BCE on inputs ``features + [alpha_tes]`` (tables with per-event ``z_tes``)."""
    inputs = [*features, ALPHA] if ALPHA not in features else list(features)
    return train_classifier("aware", WeightedBCE(), with_alpha(samples), inputs, settings, seed, out_dir,
                            options={"parameters": [ALPHA]})  # fmt: skip
