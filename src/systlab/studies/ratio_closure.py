"""Closure of an unbinned model's learned density ratios (issue #23): a process's nominal template events reweighted by
their learned R_p(x; a) against the same events moved to a (the varied sample), histogram by histogram.

The two histograms are made of the same simulated events, so their difference is compared with its own paired
variance, Σ_events (w R 1[x ∈ b] − w' 1[x' ∈ b])² per bin (an event leaving or entering the selection contributes
one term): χ² ≈ ndf when the learned ratio is right within the template split's MC statistics, which the ratio nets
never saw. The same χ² without the reweighting (nominal against varied) says how large the effect to be learned is.
Besides the input features, the learned signal fraction (the model's score, the variable the likelihood separates
signal with) is checked the same way.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from systlab.events import SPLITS

#: Histogram bins per feature (weighted quantiles of the process's nominal events; fewer for discrete features).
CLOSURE_BINS = 20
#: The model's score (learned nominal signal fraction) in the closure, beside the input features.
SCORE = "score"


class FeatureClosure(NamedTuple):
    """One feature of one (process, variation): expected events per bin at nominal, in the varied sample and in the
    reweighted nominal sample, the paired σ of (learned − varied) and (nominal − varied), both χ² and their ndf."""

    feature: str
    edges: np.ndarray
    nominal: np.ndarray
    varied: np.ndarray
    learned: np.ndarray
    sigma: np.ndarray
    sigma_nominal: np.ndarray
    chi2: float
    chi2_nominal: float
    ndf: int


class ProcessClosure(NamedTuple):
    """The closure of one process at one variation (shape NP ``nuisance`` at ``alpha`` σ, sample ``sample``):
    yields at nominal, varied and learned, and every feature's :class:`FeatureClosure`."""

    process: str
    nuisance: str
    alpha: float
    sample: str
    yields: dict[str, float]
    features: list[FeatureClosure]


class Events(NamedTuple):
    """The rows of one sample's template split: event ids, weights and the compared variables by name."""

    event_id: np.ndarray
    weight: np.ndarray
    values: dict[str, np.ndarray]


def quantile_edges(values: np.ndarray, weight: np.ndarray, bins: int = CLOSURE_BINS) -> np.ndarray:
    """Bin edges at weighted quantiles of ``values`` (duplicates merged: a discrete feature gets fewer bins)."""
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weight[order])
    inner = np.interp(np.arange(1, bins) / bins * cumulative[-1], cumulative, values[order])
    return np.unique(np.concatenate([[values.min()], inner, [values.max()]]))


def bin_index(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin of each value; values outside the edges go to the first / last bin."""
    return np.clip(np.searchsorted(edges, values, side="right") - 1, 0, len(edges) - 2)


def paired_variance(ids: Sequence[np.ndarray], bins: Sequence[np.ndarray], weights: Sequence[np.ndarray],
                    n_bins: int) -> np.ndarray:  # fmt: skip
    """Per bin, Σ_events (Σ of that event's signed contributions to the bin)²: the variance of a sum of histograms
    (each ``weights`` entry signed) whose rows with equal ``ids`` are one event."""
    key = np.concatenate([np.asarray(i, np.int64) * n_bins + b for i, b in zip(ids, bins, strict=True)])
    unique, inverse = np.unique(key, return_inverse=True)
    per_event = np.bincount(inverse, np.concatenate(weights), minlength=len(unique))
    return np.bincount(unique % n_bins, per_event**2, minlength=n_bins)


def chi2(a: np.ndarray, b: np.ndarray, variance: np.ndarray) -> tuple[float, int]:
    """Σ (a − b)² / variance over the bins with a variance, and their number."""
    used = variance > 0
    return float(((a - b)[used] ** 2 / variance[used]).sum()), int(used.sum())


def feature_closure(feature: str, nominal: Events, varied: Events, ratio: np.ndarray, bins: int = CLOSURE_BINS,
                    edges: np.ndarray | None = None) -> FeatureClosure:  # fmt: skip
    """The closure of one variable: ``ratio`` is the learned R of every nominal row; ``edges`` (default: the nominal
    events' weighted quantiles) may be given once for every variation."""
    x, y = nominal.values[feature], varied.values[feature]
    edges = quantile_edges(x, nominal.weight, bins) if edges is None else edges
    n = len(edges) - 1
    bx, by = bin_index(x, edges), bin_index(y, edges)
    hist = {name: np.bincount(b, w, minlength=n) for name, b, w in
            (("nominal", bx, nominal.weight), ("varied", by, varied.weight), ("learned", bx, nominal.weight * ratio))}
    ids = (nominal.event_id, varied.event_id)
    var = paired_variance(ids, (bx, by), (nominal.weight * ratio, -varied.weight), n)
    var_nominal = paired_variance(ids, (bx, by), (nominal.weight, -varied.weight), n)
    c2, ndf = chi2(hist["learned"], hist["varied"], var)
    c2_nominal, _ = chi2(hist["nominal"], hist["varied"], var_nominal)
    return FeatureClosure(feature, edges, hist["nominal"], hist["varied"], hist["learned"], np.sqrt(var),
                          np.sqrt(var_nominal), c2, c2_nominal, ndf)  # fmt: skip


def template_events(table: pd.DataFrame, variables: Mapping[str, np.ndarray] | None = None) -> Events:
    """The template split of one sample table as :class:`Events` (``variables``: extra per-row values, e.g. the score,
    given for every row of ``table``)."""
    keep = (table["split"] == SPLITS["template"]).to_numpy()
    values = {c: table[c].to_numpy(float)[keep] for c in table.columns if c not in ("event_id", "weight", "split")}
    values.update({name: np.asarray(v, float)[keep] for name, v in (variables or {}).items()})
    return Events(table["event_id"].to_numpy(np.int64)[keep], table["weight"].to_numpy(float)[keep], values)


def process_closure(process: str, nuisance: str, alpha: float, sample: str, nominal: Events, varied: Events,
                    log_ratio: np.ndarray, features: Sequence[str], bins: int = CLOSURE_BINS,
                    edges: Mapping[str, np.ndarray] | None = None) -> ProcessClosure:  # fmt: skip
    """Every variable's closure of one process at one variation (``log_ratio``: log R_p(x; alpha) per nominal row;
    ``edges``: per variable, as :func:`feature_closure`'s)."""
    ratio = np.exp(log_ratio)
    yields = {"nominal": float(nominal.weight.sum()), "varied": float(varied.weight.sum()),
              "learned": float((nominal.weight * ratio).sum())}  # fmt: skip
    return ProcessClosure(process, nuisance, float(alpha), sample, yields,
                          [feature_closure(f, nominal, varied, ratio, bins, (edges or {}).get(f))
                           for f in features])  # fmt: skip


def ratio_closure(cfg, onnx_path: str | os.PathLike, sample_paths: Mapping[tuple[str, str], str | os.PathLike],
                  bins: int = CLOSURE_BINS) -> list[ProcessClosure]:  # fmt: skip
    """The closure of an unbinned model (ONNX of :mod:`systlab.methods.density_ratio`) for every process and every
    shape-NP variation of the config, on the template split (``sample_paths``: (process, variation) -> parquet)."""
    from systlab.likelihood.unbinned_inputs import onnx_tables
    from systlab.methods.density_ratio import polynomial_log_ratio
    from systlab.methods.onnx_io import OnnxScorer

    scorer = OnnxScorer(onnx_path)
    tables_of, processes, shape_nps, _ = onnx_tables(scorer)
    features = list(scorer.features)
    columns = ["event_id", "weight", "split", *features]
    out = []
    for p, process in enumerate(processes):
        table = pd.read_parquet(sample_paths[(process, "nominal")], columns=columns)
        template = table["split"].to_numpy() == SPLITS["template"]
        x = table[features].to_numpy(np.float32)
        tables = tables_of(x[template])
        score = np.zeros(len(table))
        score[template] = tables.fractions[:, 0]
        nominal = template_events(table, {SCORE: score})
        variables = [SCORE, *features]
        edges = {v: quantile_edges(nominal.values[v], nominal.weight, bins) for v in variables}  # once per process
        for nuisance, alpha, sample in cfg.shape_variations():
            k = shape_nps.index(nuisance)
            log_r = polynomial_log_ratio(tables.coef[:, p, k], alpha)
            varied_table = pd.read_parquet(sample_paths[(process, sample)], columns=columns)
            varied_x = varied_table[features].to_numpy(np.float32)
            in_template = varied_table["split"].to_numpy() == SPLITS["template"]
            varied_score = np.zeros(len(varied_table))
            varied_score[in_template] = scorer.outputs(varied_x[in_template])[0].reshape(-1)
            varied = template_events(varied_table, {SCORE: varied_score})
            out.append(process_closure(process, nuisance, alpha, sample, nominal, varied, log_r, variables, bins,
                                       edges))  # fmt: skip
    return out


def closure_payload(closures: Sequence[ProcessClosure]) -> dict:
    """JSON-ready form, plus a summary: χ²/ndf per (process, variation) summed over the variables."""
    entries = []
    for c in closures:
        features = [{**{k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in f._asdict().items()}}
                    for f in c.features]  # fmt: skip
        total = sum(f.chi2 for f in c.features), sum(f.chi2_nominal for f in c.features), sum(f.ndf for f in c.features)
        entries.append({"process": c.process, "nuisance": c.nuisance, "alpha": c.alpha, "sample": c.sample,
                        "yields": c.yields, "chi2": total[0], "chi2_nominal": total[1], "ndf": total[2],
                        "features": features})  # fmt: skip
    return {"format": "systlab.ratio_closure/1", "closures": entries}


def closure_from_payload(payload: Mapping) -> list[ProcessClosure]:
    """What :func:`closure_payload` wrote."""
    if payload.get("format") != "systlab.ratio_closure/1":
        raise ValueError(f"not a ratio closure ({payload.get('format')!r})")
    arrays = ("edges", "nominal", "varied", "learned", "sigma", "sigma_nominal")
    return [ProcessClosure(e["process"], e["nuisance"], e["alpha"], e["sample"], e["yields"],
                           [FeatureClosure(**{k: (np.asarray(v) if k in arrays else v) for k, v in f.items()})
                            for f in e["features"]]) for e in payload["closures"]]  # fmt: skip
