"""Does the aware classifier interpolate? (issue 5; Ghosh, Nachman, Whiteson arXiv:2105.08742)

``aware_without_<np>_<k>sd`` is the aware classifier trained without the target-NP values nearer to the grid point
k than to its neighbours. At every grid point alpha, the template-split events of the sample at alpha are
scored by the baseline, the aware classifier and the left-out one (both told alpha), and by the oracle trained at
alpha where there is one. The weighted AUC is computed per replica. A left-out model that matches the full
aware one at k (and the oracle there) interpolates; one that falls towards the baseline does not.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from systlab.config import ModelSpec
from systlab.events import SPLITS
from systlab.methods.onnx_io import OnnxScorer
from systlab.studies.metrics import mean_std, weighted_auc
from systlab.templates.score import read_scored_splits, scoring_parameters


def point_events(
    scorer: OnnxScorer, sample_paths: Sequence[str | os.PathLike], nuisance: str, alpha: float
) -> pd.DataFrame:
    """Template-split rows of every process's sample at one grid point, with the scorer's inputs (alpha filled)."""
    parameters = scoring_parameters(scorer.parameters, {nuisance: alpha})
    tables = [read_scored_splits(Path(p), scorer, parameters) for p in sample_paths]
    table = pd.concat(tables, ignore_index=True)
    return table[table["split"].to_numpy() == SPLITS["template"]]


def auc_at(scorer: OnnxScorer, sample_paths: Sequence[str | os.PathLike], nuisance: str, alpha: float) -> float:
    """Weighted AUC of one model on the samples at a shift ``alpha`` (sigma) of ``nuisance``."""
    table = point_events(scorer, sample_paths, nuisance, alpha)
    return weighted_auc(scorer.score_table(table), table["label"].to_numpy(), table["weight"].to_numpy())


def model_curve(
    onnx_paths: Mapping[str, str | os.PathLike],
    samples_by_point: Mapping[float, Sequence[str | os.PathLike]],
    nuisance: str,
    points: Sequence[float] | None = None,
) -> dict[str, Any]:
    """AUC per replica at each grid point of ``nuisance`` in ``points`` (default every point), and mean/std over
    replicas."""
    points = list(samples_by_point) if points is None else list(points)
    auc = {replica: [auc_at(OnnxScorer(path), samples_by_point[k], nuisance, k) for k in points]
           for replica, path in onnx_paths.items()}  # fmt: skip
    stats = [mean_std([values[i] for values in auc.values()]) for i in range(len(points))]
    return {"points": points, "auc": auc, "mean": [s["mean"] for s in stats], "std": [s["std"] for s in stats]}


def minus_reference(curve: Mapping[str, Any], reference: Mapping[str, Any]) -> dict[str, list[float]]:
    """AUC minus the reference model's at the same point, replica by replica (same seed and bootstrap), as
    mean and std over the shared replicas: training noise common to both cancels."""
    shared = [r for r in curve["auc"] if r in reference["auc"]]
    if not shared:
        raise ValueError("no replica in common with the reference curve")
    stats = []
    for i, k in enumerate(curve["points"]):
        j = reference["points"].index(k)
        stats.append(mean_std([curve["auc"][r][i] - reference["auc"][r][j] for r in shared]))
    return {"mean": [s["mean"] for s in stats], "std": [s["std"] for s in stats]}


def auc_on_curve(curve: Mapping[str, Any] | None, point: float) -> float | None:
    """Mean AUC of a ``model_curve`` at ``point``; None when the curve does not reach it."""
    return curve["mean"][curve["points"].index(point)] if curve and point in curve["points"] else None


def gap_summary(curves: Mapping[str, Mapping[str, Any]], left_out: Mapping[str, float]) -> dict[str, dict]:
    """Per left-out model, its AUC at the left-out point next to the full aware model's and the oracle's there."""
    out = {}
    for model, k in left_out.items():
        oracles = [c for m, c in curves.items() if m.startswith("oracle") and list(c["points"]) == [k]]
        out[model] = {"left_out": k, "auc": auc_on_curve(curves.get(model), k),
                      "aware": auc_on_curve(curves.get("aware"), k),
                      "baseline": auc_on_curve(curves.get("baseline"), k),
                      "oracle": auc_on_curve(oracles[0], k) if oracles else None}  # fmt: skip
    return out


def check_payload(
    onnx: Mapping[str, Mapping[str, str | os.PathLike]],
    specs: Mapping[str, ModelSpec],
    samples_by_point: Mapping[float, Sequence[str | os.PathLike]],
) -> dict[str, Any]:
    """Every model's AUC curve (an oracle only at its own point, if on the grid), each minus the full aware
    model's replica by replica, and the summary at each left-out point."""
    curves = {}
    for model, paths in onnx.items():
        spec = specs[model]
        points = [spec.point] if spec.method == "oracle" else None  # an oracle is judged where it was trained
        if points is not None and points[0] not in samples_by_point:
            continue
        curves[model] = {"method": spec.method, "left_out": spec.left_out,
                         **model_curve(paths, samples_by_point, spec.nuisance, points)}  # fmt: skip
    if "aware" in curves:
        for curve in curves.values():
            curve["minus_aware"] = minus_reference(curve, curves["aware"])
    left_out = {m: spec.left_out for m, spec in specs.items() if spec.left_out is not None and m in curves}
    return {"points": list(samples_by_point), "curves": curves, "left_out": gap_summary(curves, left_out)}

