"""Per-model figures of merit from the score files: weighted ROC AUC with the target NP at -1, 0, +1 sigma and
decorrelation.

Decorrelation is the Jensen-Shannon divergence (base 2, so in [0, 1]) between the background score
distributions of the target's -1 and +1 sigma samples (``tes_-1sd``, ``tes_+1sd``) in ``JS_BINS`` equal bins on
[0, 1]: 0 means the classifier output does not move with the NP. Only template-split events are used.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from systlab.atomic import write_json
from systlab.events import SPLITS

JS_BINS = 50

#: score tables keyed by (process, variation)
ScoreTables = Mapping[tuple[str, str], pd.DataFrame]


class ReplicaMetrics(NamedTuple):
    """One trained replica: AUC per variation, JS divergence of background scores at +-1 sigma."""

    auc: dict[str, float]
    js_divergence: float


def weighted_auc(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> float:
    """P(score_sig > score_bkg) with event weights; ties count one half (trapezoidal ROC area)."""
    s, y, w = np.asarray(scores, np.float64), np.asarray(labels) == 1, np.asarray(weights, np.float64)
    order = np.argsort(s, kind="stable")
    s, y, w = s[order], y[order], w[order]
    unique, start = np.unique(s, return_index=True)
    w_sig = np.add.reduceat(np.where(y, w, 0.0), start)
    w_bkg = np.add.reduceat(np.where(y, 0.0, w), start)
    below = np.cumsum(w_bkg) - w_bkg  # background weight strictly below each distinct score
    total_sig, total_bkg = w_sig.sum(), w_bkg.sum()
    if not (total_sig > 0 and total_bkg > 0):
        raise ValueError("AUC needs signal and background events with positive total weight")
    return float((w_sig * (below + 0.5 * w_bkg)).sum() / (total_sig * total_bkg))


def js_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon divergence in bits between two histograms (normalised here)."""
    p, q = np.asarray(p, np.float64), np.asarray(q, np.float64)
    p, q = p / p.sum(), q / q.sum()
    m = 0.5 * (p + q)

    def kl(a: np.ndarray) -> float:
        mask = a > 0
        return float((a[mask] * np.log2(a[mask] / m[mask])).sum())

    return max(0.0, 0.5 * kl(p) + 0.5 * kl(q))


def score_histogram(scores: np.ndarray, weights: np.ndarray, bins: int = JS_BINS) -> np.ndarray:
    """Weighted histogram of scores in ``bins`` equal bins on [0, 1]."""
    return np.histogram(np.clip(scores, 0.0, 1.0), bins=bins, range=(0.0, 1.0), weights=weights)[0]


def template_events(tables: ScoreTables, variation: str) -> pd.DataFrame:
    """Template-split events of all processes of one variation."""
    parts = [t[t["split"] == SPLITS["template"]] for (_, v), t in tables.items() if v == variation]
    if not parts:
        raise KeyError(f"no score tables for variation {variation!r}")
    return pd.concat(parts, ignore_index=True)


def replica_metrics(tables: ScoreTables, variations: Sequence[str]) -> ReplicaMetrics:
    """AUC at each of ``variations`` (down, nominal, up) and the background JS divergence between down and up."""
    auc = {}
    for variation in variations:
        events = template_events(tables, variation)
        auc[variation] = weighted_auc(events["score"], events["label"], events["weight"])
    histograms = []
    for variation in (variations[0], variations[-1]):
        background = template_events(tables, variation).query("label == 0")
        histograms.append(score_histogram(background["score"].to_numpy(), background["weight"].to_numpy()))
    return ReplicaMetrics(auc, js_divergence(*histograms))


def mean_std(values: Sequence[float]) -> dict[str, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    x = np.asarray(values, np.float64)
    return {"mean": float(x.mean()), "std": float(x.std(ddof=1)) if len(x) > 1 else 0.0}


def summarise(model: str, replicas: Mapping[str, ReplicaMetrics]) -> dict[str, Any]:
    """The metrics.json payload: every replica and mean +- std across replicas."""
    per = {name: {"auc": m.auc, "js_divergence": m.js_divergence} for name, m in replicas.items()}
    values = list(replicas.values())
    variations = list(values[0].auc)
    return {
        "model": model,
        "definitions": {
            "auc": "weighted ROC AUC, signal vs all backgrounds, template split",
            "js_divergence": f"Jensen-Shannon divergence (bits) of background scores {variations[0]} vs "
            f"{variations[-1]}, {JS_BINS} equal bins on [0, 1], template split",
        },
        "replicas": per,
        "summary": {
            "auc": {v: mean_std([m.auc[v] for m in values]) for v in variations},
            "js_divergence": mean_std([m.js_divergence for m in values]),
        },
    }


def model_metrics(
    model: str,
    score_paths: Mapping[str, Mapping[tuple[str, str], str | os.PathLike]],
    out_path: str | os.PathLike,
    variations: Sequence[str],
) -> dict[str, Any]:
    """Read each replica's score files (keyed (process, variation)); write metrics.json with AUCs at ``variations``
    (:meth:`Config.target_variations`; no wall times: the train rule's benchmark file,
    ``results/benchmarks/train/<model>/<replica>.tsv``, holds the training time)."""
    replicas = {}
    for replica, paths in score_paths.items():
        tables = {key: pd.read_parquet(path, columns=["split", "label", "weight", "score"])
                  for key, path in paths.items()}  # fmt: skip
        replicas[replica] = replica_metrics(tables, variations)
    payload = summarise(model, replicas)
    write_json(out_path, payload)
    return payload
