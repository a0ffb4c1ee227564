"""Closure on what the fit does not know (issue 6): the held-back generator C and the higher-order prediction as
pseudo-data, fitted with and without the two-point generator NP.

Works on one fixed-classifier replica. The DAG's score tables (nominal and every NP variation) are combined with
the ``systlab.samples.generators`` variants, scored here with the same ONNX model (template and toy splits) and binned
with the replica's template edges. Generator B enters as ``generator_+1sd`` of a one-sided histosys NP
``generator``, mirrored below A as every one-sided NP is. For each target, the toy-split expectation at mu = 1 is
fitted, giving the mu-hat bias and the interval width. Toys around it give the coverage: Poisson main counts and
Gaussian auxiliary data around the nominal NPs, the frequentist toy of a fixed truth. Without the auxiliary
fluctuation the toys would spread by statistics alone while the interval also holds the systematics, and they
would over-cover. The targets
are nominal A (the reference: the toy split's MC non-closure alone), C, and the higher order.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any

import awkward as ak
import numpy as np
import pandas as pd

from systlab.infer.fit import fit_dataset, json_float
from systlab.infer.toy_io import coverage_payload
from systlab.infer.toys import merge_chunks, run_toys
from systlab.likelihood.workspace import build_workspace
from systlab.methods.onnx_io import OnnxScorer
from systlab.samples.generators import variant_samples
from systlab.samples.simulate import process_seed
from systlab.samples.vary import soft_met_draws, split_labels
from systlab.studies.sensitivity import expectation
from systlab.templates.histograms import Templates, shape_variation
from systlab.templates.score import SCORED_SPLITS, scored_table

#: The two-point generator NP: A nominal, B its +1 sigma (one-sided, mirrored).
GENERATOR_NP = "generator"
#: Pseudo-data of the closure: nominal A as the reference, the held-back generator C, the higher-order prediction.
TARGETS = ("nominal", "generator_C", "higher_order")
#: Workspaces compared: the analysis's own, and the same plus the generator NP.
WORKSPACES = ("without_generator_np", "with_generator_np")
#: Variant of ``systlab.samples.generators`` -> its variation name in the closure templates.
VARIANT_VARIATIONS = {"generator_B": shape_variation(GENERATOR_NP, 1), "generator_C": "generator_C",
                      "higher_order": "higher_order"}  # fmt: skip


def variant_score_tables(
    scorer: OnnxScorer, events: Mapping[str, ak.Array], signal: str, seed: int, fractions: Mapping[str, float]
) -> dict[tuple[str, str], pd.DataFrame]:
    """Score tables (bookkeeping + score, template and toy splits) of generators B, C and the higher order,
    keyed like the DAG's score files by (process, variation); seeds as the vary stage's (split ``seed``,
    soft-MET draws ``process_seed(seed + 1, process)``)."""
    out = {}
    for process, table in events.items():
        soft = soft_met_draws(len(table), process_seed(seed + 1, process))
        split = split_labels(ak.to_numpy(table.event_id).astype(np.uint64), seed, fractions)
        keep = np.flatnonzero(np.isin(split, SCORED_SPLITS))
        samples = variant_samples(table[keep], soft[keep], int(process == signal), seed, fractions)
        for variant, variation in VARIANT_VARIATIONS.items():
            sample = samples[variant].reset_index(drop=True)
            out[(process, variation)] = scored_table(sample, scorer.score_table(sample, f"{variant}/{process}"))
    return out


def closure(
    templates: Templates,
    workspace: Mapping[str, Any],
    mu_range: tuple[float, float],
    scan_points: int,
    n_toys: int,
    seed: int,
) -> dict[str, dict[str, dict[str, Any]]]:
    """Per workspace (without / with the generator NP) and target: mu-hat, bias, width, NP pulls, toy coverage.

    ``workspace`` holds :func:`systlab.likelihood.workspace.build_workspace`'s keyword arguments (the analysis's NPs).
    """
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for name in WORKSPACES:
        shape = dict(workspace["shape_nps"])
        if name == "with_generator_np":
            shape[GENERATOR_NP] = True
        spec = build_workspace(templates, **{**workspace, "shape_nps": shape})
        out[name] = {}
        for target in TARGETS:
            expected = expectation(templates, target, 1.0, "toy")
            fit = fit_dataset(spec, expected, mu_range, scan_points, target)
            lo, hi = fit.interval_68
            row: dict[str, Any] = {"mu_hat": json_float(fit.mu_hat), "bias": json_float(fit.mu_hat - 1.0),
                                   "width": json_float(hi - lo), "converged": fit.converged,
                                   "pulls": {k: [json_float(v) for v in p] for k, p in fit.pulls.items()}}  # fmt: skip
            if n_toys:
                toy_seed = seed + zlib.crc32(f"{name}/{target}".encode())
                chunk = run_toys(spec, expected, 1.0, 0, n_toys, toy_seed, mu_range, fluctuate_aux=True)
                row["toys"] = coverage_payload(merge_chunks([chunk]))
                row["toys"].pop("q_mu_true", None)
            out[name][target] = row
    return out

