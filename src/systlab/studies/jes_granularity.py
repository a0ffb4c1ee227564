"""One coherent JES NP, or one per jet-pT bin? (issue 6, sensitivity study)

A coherent JES NP ties every jet's scale together. Splitting it into NPs that each act only on the jets of one
pT bin (same prior width) lets the fit move the bins apart. The fit can then pin an NP with the data it has,
and a post-fit width sigma_post / sigma_prior well below 1 flags an over-constraint: the data are claimed to
measure a calibration better than it is known, which is only honest if the model is right.

Works on one fixed-classifier replica. Each ``jes_pt<edge>`` NP gets +-1 sigma variants of the canonical events
(per-jet factors through ``systlab.samples.vary``), scored with the replica's ONNX model and binned with its template
edges. The workspace is then built twice: with the coherent ``jes``, and with the binned NPs instead. Each is
fitted on Asimov data and on every truth's toy-split expectation.

Splitting is not a superset of the coherent NP. A coherent 1 sigma shift costs the binned model one unit of
constraint per bin, so the binned model allows less of the coherent direction and more of every other one. The
interval can come out narrower or wider, and that is exactly why the choice is studied.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import awkward as ak
import numpy as np
import pandas as pd

from systlab.infer.fit import asimov_counts, fit_dataset, json_float
from systlab.likelihood.workspace import build_workspace
from systlab.methods.onnx_io import OnnxScorer
from systlab.samples.simulate import process_seed
from systlab.samples.vary import PerEventVariation, apply_variation, finish_sample, soft_met_draws, split_labels
from systlab.studies.sensitivity import Truth, expectation
from systlab.templates.histograms import Templates, shape_variation
from systlab.templates.score import SCORED_SPLITS, scored_table

#: A post-fit / prior width below this flags an over-constrained NP.
OVER_CONSTRAINED = 0.5
#: The two JES models compared.
SCHEMES = ("coherent", "per_pt_bin")


def bin_np_names(boundaries: Sequence[float]) -> list[str]:
    """``jes_pt<lower edge>`` per jet-pT bin: below the first boundary (``jes_pt0``), between, above the last."""
    if list(boundaries) != sorted(set(boundaries)) or not boundaries or boundaries[0] <= 0:
        raise ValueError(f"sensitivity: field 'jes_bins': needs increasing positive jet-pT boundaries, got "
                         f"{list(boundaries)}")
    return [f"jes_pt{e:g}" for e in (0.0, *boundaries)]


def bin_labels(boundaries: Sequence[float]) -> list[str]:
    """Readable jet-pT ranges of the bins: ``< 50``, ``50-100``, ``>= 100`` (GeV)."""
    edges = [0.0, *boundaries]
    return [f"< {edges[1]:g}" if i == 0 else f"≥ {e:g}" if i == len(edges) - 1 else f"{e:g}–{edges[i + 1]:g}"
            for i, e in enumerate(edges)]  # fmt: skip


def per_jet_factor(jet_pt: ak.Array, boundaries: Sequence[float], index: int, alpha: float) -> ak.Array:
    """``alpha`` for the jets whose (unvaried) pT lies in bin ``index`` of ``bin_np_names``, 1 for the others."""
    edges = [-np.inf, *boundaries, np.inf]
    return ak.where((jet_pt >= edges[index]) & (jet_pt < edges[index + 1]), alpha, 1.0)


def binned_jes_score_tables(
    scorer: OnnxScorer,
    events: Mapping[str, ak.Array],
    signal: str,
    jes_sigma: float,
    boundaries: Sequence[float],
    seed: int,
    fractions: Mapping[str, float],
) -> dict[tuple[str, str], pd.DataFrame]:
    """Score tables (template and toy splits) of every pT-bin NP at +-1 sigma, keyed (process, variation);
    ``boundaries`` are the inner jet-pT bin edges (GeV)."""
    out = {}
    for process, table in events.items():
        soft = soft_met_draws(len(table), process_seed(seed + 1, process))
        split = split_labels(ak.to_numpy(table.event_id).astype(np.uint64), seed, fractions)
        keep = np.flatnonzero(np.isin(split, SCORED_SPLITS))
        table, soft = table[keep], soft[keep]
        for i, name in enumerate(bin_np_names(boundaries)):
            for k in (-1.0, 1.0):
                factor = per_jet_factor(table.jet_pt, boundaries, i, 1.0 + k * jes_sigma)
                varied = apply_variation(table, PerEventVariation(name, {"jes": factor}), soft)
                sample = finish_sample(varied, int(process == signal), seed, fractions).reset_index(drop=True)
                variation = shape_variation(name, k)
                out[(process, variation)] = scored_table(sample, scorer.score_table(sample, f"{variation}/{process}"))
    return out


def scheme_workspace(workspace: Mapping[str, Any], scheme: str, boundaries: Sequence[float]) -> dict[str, Any]:
    """``build_workspace`` arguments with the coherent ``jes`` NP, or with the pT-bin NPs in its place."""
    shape = dict(workspace["shape_nps"])
    if "jes" not in shape:
        raise ValueError("the JES granularity study needs the 'jes' NP in systematics.shape")
    if scheme == "per_pt_bin":
        one_sided = shape.pop("jes")
        shape |= dict.fromkeys(bin_np_names(boundaries), one_sided)
    return {**workspace, "shape_nps": shape}


def fit_summary(fit) -> dict[str, Any]:
    lo, hi = fit.interval_68
    constraints = {name: json_float(p[1]) for name, p in fit.pulls.items() if name.startswith("jes")}
    return {"mu_hat": json_float(fit.mu_hat), "width": json_float(hi - lo), "converged": fit.converged,
            "pulls": {name: [json_float(v) for v in p] for name, p in fit.pulls.items()},
            "jes_constraints": constraints,
            "over_constrained": sorted(n for n, c in constraints.items() if c is not None and c < OVER_CONSTRAINED)}


def study(
    templates: Templates,
    workspace: Mapping[str, Any],
    boundaries: Sequence[float],
    truths: Sequence[Truth],
    mu_range: tuple[float, float],
    scan_points: int,
) -> dict[str, dict[str, Any]]:
    """Per scheme: the Asimov fit and each truth's toy-split expectation fit (mu-hat, width, JES constraints)."""
    out = {}
    for scheme in SCHEMES:
        spec = build_workspace(templates, **scheme_workspace(workspace, scheme, boundaries))
        fits = {"asimov": fit_summary(fit_dataset(spec, asimov_counts(spec), mu_range, scan_points, "asimov"))}
        for t in truths:
            fit = fit_dataset(spec, expectation(templates, t.variation, t.mu, "toy"), mu_range, scan_points, t.name)
            fits[f"expected_{t.name}"] = {**fit_summary(fit), "bias": json_float(fit.mu_hat - t.mu)}
        out[scheme] = fits
    return out
