"""Score exported toy models (ONNX Runtime) on fixed evaluation samples; AUC, output shifts, learned likelihood ratios.

Evaluation samples come from their own seed, apart from every training sample, and the sample at each
nuisance point reuses the same random draws, so differences between points are the nuisance's effect only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

from systlab.methods.onnx_io import OnnxScorer
from systlab.papertoys.toys import TOYS, Toy, ToySample
from systlab.studies.metrics import js_divergence, score_histogram, weighted_auc

#: Entropy word of the evaluation samples' seed (training uses the replica index there).
EVALUATION_STREAM = 1_000_000
#: Scores are clipped to [EPS, 1 - EPS] before c / (1 - c) is taken.
EPS = 1e-6


class ScoreShift(NamedTuple):
    """How far a model's output distribution moves between two nuisance values."""

    js_divergence: float
    ks_distance: float


class RatioProfile(NamedTuple):
    """Learned vs analytic ratio: bin centres (log10 r_true), median log10 r_learned per bin, RMS of log difference."""

    log10_true: np.ndarray
    log10_learned: np.ndarray
    rms_log: float


def evaluation_sample(toy: Toy, n_per_class: int, seed: int, point: Mapping[str, float] | None = None) -> ToySample:
    """The toy's evaluation events at nuisance ``point`` (nominal elsewhere); same draws for every point."""
    rng = np.random.default_rng([seed, sorted(TOYS).index(toy.name), EVALUATION_STREAM])
    return toy.sample(n_per_class, rng, "fixed", point or {})


def load_models(paths: Sequence[str | os.PathLike]) -> list[OnnxScorer]:
    """One ONNX Runtime scorer per replica model file."""
    return [OnnxScorer(path) for path in paths]


def group_models(paths: Sequence[str | os.PathLike]) -> dict[str, list[OnnxScorer]]:
    """Scorers per model name from ``.../<model>/<replica>/model.onnx`` paths (replicas in path order)."""
    models: dict[str, list[OnnxScorer]] = {}
    for path in paths:
        path = Path(path)
        if path.name != "model.onnx":
            raise ValueError(f"{path}: expected .../<model>/<replica>/model.onnx")
        models.setdefault(path.parent.parent.name, []).append(OnnxScorer(path))
    return models


def model_scores(scorer: OnnxScorer, toy: Toy, sample: ToySample) -> np.ndarray:
    """Scores of ``sample``; a parameterised model gets each event's true nuisance values as its parameters."""
    table = pd.DataFrame(sample.features, columns=list(toy.features))
    for name, values in sample.nuisances.items():
        table[name] = values
    return scorer.score_table(table, f"{toy.name} evaluation sample").astype(np.float64)


def grid_scores(scorer: OnnxScorer, toy: Toy, x: np.ndarray, point: Mapping[str, float]) -> np.ndarray:
    """Scores at feature rows ``x`` with the parameters (if the model has any) set to ``point``."""
    values = {n.name: np.full(len(x), float(point.get(n.name, n.nominal))) for n in toy.nuisances}
    return model_scores(scorer, toy, ToySample(x, np.zeros(len(x), np.int64), np.ones(len(x)), values))


def auc(scores: np.ndarray, sample: ToySample) -> float:
    return weighted_auc(scores, sample.label, sample.weight)


def score_shift(scores_a: np.ndarray, scores_b: np.ndarray, weights: np.ndarray) -> ScoreShift:
    """JS divergence (50 bins on [0, 1], bits) and Kolmogorov-Smirnov distance between two score samples."""
    js = js_divergence(score_histogram(scores_a, weights), score_histogram(scores_b, weights))
    return ScoreShift(js, float(ks_2samp(scores_a, scores_b).statistic))


def learned_log_ratio(scores: np.ndarray) -> np.ndarray:
    """log(c / (1 - c)): the likelihood ratio a classifier trained on balanced classes estimates."""
    c = np.clip(scores, EPS, 1 - EPS)
    return np.log(c) - np.log1p(-c)


def ratio_profile(learned_log: np.ndarray, true_log: np.ndarray, edges_log10: np.ndarray, min_entries: int = 20
                  ) -> RatioProfile:  # fmt: skip
    """Median learned log10 ratio in bins of the analytic log10 ratio (bins with few events are NaN)."""
    true10, learned10 = true_log / np.log(10), learned_log / np.log(10)
    index = np.digitize(true10, edges_log10) - 1
    medians = np.full(len(edges_log10) - 1, np.nan)
    for b in range(len(medians)):  # loop over bins, not events
        inside = learned10[index == b]
        if len(inside) >= min_entries:
            medians[b] = np.median(inside)
    inside = (index >= 0) & (index < len(medians))
    rms = float(np.sqrt(np.mean((learned_log[inside] - true_log[inside]) ** 2)))
    return RatioProfile(0.5 * (edges_log10[1:] + edges_log10[:-1]), medians, rms)
