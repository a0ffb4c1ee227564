"""Weighted ROC curves and their spread across replicas, per method and TES variation (figure ``roc``).

Efficiencies count event weights; a curve runs from the highest threshold (nothing selected) to the lowest
(everything selected). Background rejection is 1 / background efficiency at a grid of signal efficiencies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from systlab.studies.metrics import weighted_auc
from systlab.studies.result_files import ScoreKey, events_of, replicas_of
from systlab.studies.spread import Spread, replica_spread

#: Signal efficiencies at which replicas are compared (rejection diverges towards 0, so start at 10%).
SIGNAL_EFFICIENCY_GRID = np.linspace(0.1, 1.0, 91)


class RocCurve(NamedTuple):
    """Signal and background efficiency for 'score >= threshold', one point per distinct score (plus the origin)."""

    signal_efficiency: np.ndarray
    background_efficiency: np.ndarray
    thresholds: np.ndarray


class RocSummary(NamedTuple):
    """One method at one variation: background rejection on ``signal_efficiency`` and the AUC, across replicas."""

    signal_efficiency: np.ndarray
    rejection: Spread
    auc: Spread


def roc_curve(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> RocCurve:
    """Weighted ROC curve; events with equal scores enter together (one point per distinct score)."""
    s, y, w = np.asarray(scores, np.float64), np.asarray(labels) == 1, np.asarray(weights, np.float64)
    order = np.argsort(-s, kind="stable")
    s, y, w = s[order], y[order], w[order]
    distinct, start = np.unique(-s, return_index=True)  # descending scores
    w_sig = np.add.reduceat(np.where(y, w, 0.0), start) if len(s) else np.zeros(0)
    w_bkg = np.add.reduceat(np.where(y, 0.0, w), start) if len(s) else np.zeros(0)
    total_sig, total_bkg = w_sig.sum(), w_bkg.sum()
    if not (total_sig > 0 and total_bkg > 0):
        raise ValueError("a ROC curve needs signal and background events with positive total weight")
    return RocCurve(
        np.r_[0.0, np.cumsum(w_sig) / total_sig],
        np.r_[0.0, np.cumsum(w_bkg) / total_bkg],
        np.r_[np.inf, -distinct],
    )


def background_efficiency_at(curve: RocCurve, signal_efficiency: np.ndarray) -> np.ndarray:
    """Background efficiency interpolated linearly at the given signal efficiencies."""
    return np.interp(signal_efficiency, curve.signal_efficiency, curve.background_efficiency)


def rejection(background_efficiency: np.ndarray) -> np.ndarray:
    """1 / background efficiency; NaN where no background survives (rejection not measurable)."""
    eff = np.asarray(background_efficiency, np.float64)
    return np.divide(1.0, eff, out=np.full_like(eff, np.nan), where=eff > 0)


def roc_summary(
    tables: Mapping[ScoreKey, pd.DataFrame],
    method: str,
    variation: str,
    grid: np.ndarray = SIGNAL_EFFICIENCY_GRID,
) -> RocSummary:
    """Rejection on ``grid`` and weighted AUC of every replica of ``method`` at ``variation``, as mean +- std."""
    rejections, aucs = [], []
    for replica in replicas_of(tables, method):
        events = events_of(tables, method, replica, variation)
        args = (events["score"].to_numpy(), events["label"].to_numpy(), events["weight"].to_numpy())
        rejections.append(rejection(background_efficiency_at(roc_curve(*args), grid)))
        aucs.append(weighted_auc(*args))
    if not aucs:
        raise KeyError(f"no score tables for method {method!r}")
    return RocSummary(np.asarray(grid), replica_spread(rejections), replica_spread(aucs))


def roc_summaries(
    tables: Mapping[ScoreKey, pd.DataFrame], methods: Sequence[str], variations: Sequence[str]
) -> dict[str, dict[str, RocSummary]]:
    """``{variation: {method: RocSummary}}`` for every requested method and variation."""
    return {v: {m: roc_summary(tables, m, v) for m in methods} for v in variations}
