"""Normalised background score shapes per TES variation and their ratio to nominal (figure ``decorrelation``).

A decorrelated classifier's background score shape does not move with TES; the JS divergence quoted with the
shapes is the one of ``systlab.studies.metrics`` (read from the model's metrics.json).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from systlab.studies.metrics import score_histogram
from systlab.studies.result_files import ScoreKey, events_of, replicas_of
from systlab.studies.spread import Spread, replica_spread

SHAPE_BINS = 20


class ScoreShapes(NamedTuple):
    """One method: per variation the unit-area background score density and its ratio to nominal, across replicas."""

    edges: np.ndarray
    density: dict[str, Spread]
    ratio_to_nominal: dict[str, Spread]


def background_density(scores: np.ndarray, weights: np.ndarray, bins: int = SHAPE_BINS) -> np.ndarray:
    """Weighted score histogram on [0, 1] normalised to unit area (a density)."""
    counts = score_histogram(np.asarray(scores), np.asarray(weights), bins)
    total = counts.sum()
    if not total > 0:
        raise ValueError("background score histogram is empty")
    return counts / total * bins


def ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator with NaN where the denominator is empty."""
    den = np.asarray(denominator, np.float64)
    return np.divide(numerator, den, out=np.full_like(den, np.nan), where=den > 0)


def score_shapes(
    tables: Mapping[ScoreKey, pd.DataFrame],
    method: str,
    variations: Sequence[str],
    bins: int = SHAPE_BINS,
    reference: str = "nominal",
) -> ScoreShapes:
    """Background (label 0) score densities of every replica of ``method``, and their ratios to ``reference``."""
    densities: dict[str, list[np.ndarray]] = {v: [] for v in variations}
    ratios: dict[str, list[np.ndarray]] = {v: [] for v in variations}
    replicas = replicas_of(tables, method)
    if not replicas:
        raise KeyError(f"no score tables for method {method!r}")
    for replica in replicas:
        per = {}
        for variation in {*variations, reference}:
            events = events_of(tables, method, replica, variation).query("label == 0")
            per[variation] = background_density(events["score"].to_numpy(), events["weight"].to_numpy(), bins)
        for variation in variations:
            densities[variation].append(per[variation])
            ratios[variation].append(ratio(per[variation], per[reference]))
    return ScoreShapes(
        np.linspace(0.0, 1.0, bins + 1),
        {v: replica_spread(d) for v, d in densities.items()},
        {v: replica_spread(r) for v, r in ratios.items()},
    )


def read_js_divergence(path: str | os.PathLike) -> tuple[float, float]:
    """(mean, std) over replicas of the background JS divergence in a model's metrics.json."""
    try:
        entry = json.loads(Path(path).read_text())["summary"]["js_divergence"]
        return float(entry["mean"]), float(entry["std"])
    except (KeyError, TypeError) as err:
        raise ValueError(f"{path}: field 'summary.js_divergence.mean/std' missing ({err})") from err
