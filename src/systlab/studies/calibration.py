"""Reliability (calibration) curves of classifier scores under the class weighting used in training.

Training rescales weights so signal and background carry equal totals (``train.loop.balanced_weights``), so a
well-trained score estimates the *balanced-class* posterior p(s|x) = f_s(x) / (f_s(x) + f_b(x)). The observed
quantity per score bin is therefore the signal fraction after giving both classes equal total weight; a
calibrated classifier lies on the diagonal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from systlab.studies.result_files import ScoreKey, events_of, replicas_of
from systlab.studies.spread import Spread, replica_spread

CALIBRATION_BINS = 10


class Reliability(NamedTuple):
    """Per score bin: weighted mean score, observed balanced signal fraction and its statistical error; NaN if empty."""

    edges: np.ndarray
    mean_score: np.ndarray
    signal_fraction: np.ndarray
    fraction_error: np.ndarray


class ReliabilitySummary(NamedTuple):
    """One method: mean score and observed signal fraction per bin across replicas."""

    edges: np.ndarray
    mean_score: Spread
    signal_fraction: Spread


def balanced_class_weights(weight: np.ndarray, label: np.ndarray) -> np.ndarray:
    """Weights rescaled per class so signal and background have equal totals (as in training)."""
    weight, signal = np.asarray(weight, np.float64), np.asarray(label) == 1
    totals = weight[signal].sum(), weight[~signal].sum()
    if not (totals[0] > 0 and totals[1] > 0):
        raise ValueError(f"balanced weights need both classes with positive total weight, got {totals}")
    return np.where(signal, weight / totals[0], weight / totals[1])


def reliability_curve(
    scores: np.ndarray, labels: np.ndarray, weights: np.ndarray, bins: int = CALIBRATION_BINS
) -> Reliability:
    """Balanced-class signal fraction against mean score in ``bins`` equal score bins on [0, 1]."""
    s = np.clip(np.asarray(scores, np.float64), 0.0, 1.0)
    w = balanced_class_weights(weights, labels)
    signal = np.asarray(labels) == 1
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(s, edges) - 1, 0, bins - 1)
    total = np.bincount(index, w, bins)
    w_sig = np.bincount(index, np.where(signal, w, 0.0), bins)
    sum_ws = np.bincount(index, w * s, bins)
    sum_w2 = np.bincount(index, w * w, bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = np.where(total > 0, w_sig / total, np.nan)
        mean_score = np.where(total > 0, sum_ws / total, np.nan)
        n_effective = np.where(sum_w2 > 0, total**2 / sum_w2, np.nan)  # Kish effective count
        error = np.sqrt(fraction * (1.0 - fraction) / n_effective)
    return Reliability(edges, mean_score, fraction, error)


def reliability_summary(
    tables: Mapping[ScoreKey, pd.DataFrame], method: str, variation: str = "nominal", bins: int = CALIBRATION_BINS
) -> ReliabilitySummary:
    """Reliability curve of every replica of ``method`` at ``variation``, as mean +- std per bin."""
    curves = []
    for replica in replicas_of(tables, method):
        events = events_of(tables, method, replica, variation)
        curves.append(reliability_curve(events["score"], events["label"], events["weight"], bins))
    if not curves:
        raise KeyError(f"no score tables for method {method!r}")
    return ReliabilitySummary(
        curves[0].edges,
        replica_spread([c.mean_score for c in curves]),
        replica_spread([c.signal_fraction for c in curves]),
    )


def reliability_summaries(
    tables: Mapping[ScoreKey, pd.DataFrame], methods: Sequence[str], variation: str = "nominal"
) -> dict[str, ReliabilitySummary]:
    """``{method: ReliabilitySummary}`` at one variation."""
    return {m: reliability_summary(tables, m, variation) for m in methods}
