"""Parameterised, uncertainty-aware classifier f(x; alpha) (Baldi et al. 1601.07913; Ghosh et al. 2105.08742).

alpha (the shift of the target NP in sigma units, drawn per event uniformly over its grid range, see
``methods.data``) is one more input column, ``alpha_<np>``, so the ONNX model takes it too: score with
``score_sample(..., parameters={"alpha_tes": value})``.
"""

from __future__ import annotations

import os

import pandas as pd

from systlab.methods.common import TrainedModel, train_classifier
from systlab.methods.data import z_column
from systlab.methods.loop import TrainingSettings, WeightedBCE


def alpha_column(nuisance: str) -> str:
    """The model's parameter input column: the shift of ``nuisance`` in units of sigma, e.g. ``alpha_tes``."""
    return f"alpha_{nuisance}"


def with_alpha(samples: dict[str, pd.DataFrame], nuisance: str) -> dict[str, pd.DataFrame]:
    """Copy each table's per-event shift ``z_<nuisance>`` into the input column ``alpha_<nuisance>``."""
    column = alpha_column(nuisance)
    return {name: table.assign(**{column: table[z_column(nuisance)]}) for name, table in samples.items()}


def train_aware(
    samples: dict[str, pd.DataFrame],
    features: list[str],
    settings: TrainingSettings,
    seed: int,
    out_dir: str | os.PathLike,
    *,
    nuisance: str,
) -> TrainedModel:
    """Weighted BCE on inputs ``features + [alpha_<nuisance>]`` (tables with per-event ``z_<nuisance>``)."""
    alpha = alpha_column(nuisance)
    inputs = [*features, alpha] if alpha not in features else list(features)
    return train_classifier("aware", WeightedBCE(), with_alpha(samples, nuisance), inputs, settings, seed, out_dir,
                            options={"parameters": [alpha]})  # fmt: skip
