"""Sensitivity studies of the inference of a fixed classifier (issue 6): how the 68% interval on μ and its
coverage depend on choices the analyser makes or gets wrong.

* **Binning**: the same scores in n signal-quantile bins, or a single-bin cut at a working point (the score
  above which a configured fraction of the nominal signal remains).
* **Prior mismatch**: pseudo-data whose NPs are drawn per toy from their priors, the TES one from
  N(0, (s·σ)²) while the fit keeps N(0, σ²): s < 1 "tight" (the fit's prior is conservative), s = 1 "true",
  s > 1 "loose" (the fit under-covers).

Every point rebuilds templates and the workspace from the score tables with the main DAG's code, fits the
Asimov data and the held-out (toy-split) expectation of each truth, and runs toys drawn from the model's own
expectation (template split), so the coverage tests the statistical procedure without the held-out split's
Monte Carlo noise (that shows in the bias on the held-out expectations instead).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from systlab.events import SPLITS
from systlab.infer.fit import asimov_counts, fit_dataset, json_float
from systlab.infer.toy_io import coverage_payload
from systlab.infer.toys import merge_chunks, run_toys
from systlab.likelihood.workspace import workspace_model
from systlab.studies.sensitivity_settings import STUDIES, Settings, settings  # noqa: F401  (re-exported)
from systlab.templates.histograms import (
    NOMINAL,
    Templates,
    check_background_positive,
    counts,
    histograms,
    read_scores,
    signal_cut,
    signal_processes,
)

ScoreTables = Mapping[tuple[str, str], pd.DataFrame]


class Truth(NamedTuple):
    """A pseudo-data truth of the held-out split: name, true μ and its sample variation."""

    name: str
    mu: float
    variation: str


class StudyPoint(NamedTuple):
    """One point of a study: the binning used, the Asimov interval, per-truth bias/width, toy coverage."""

    study: str
    point: str
    edges: tuple[float, ...]
    asimov_mu_hat: float
    asimov_interval: tuple[float, float]
    expected: dict[str, dict[str, float]]  # truth -> mu_hat, bias, width on its held-out expectation
    coverage: dict[str, Any]  # coverage_payload of the toys, and n_outside_model (prior draws where λ < 0)


def read_tables(score_paths: Mapping[tuple[str, str], str | os.PathLike]) -> dict[tuple[str, str], pd.DataFrame]:
    """Score tables keyed by (process, variation), each validated by
    :func:`systlab.templates.histograms.read_scores`."""
    return {key: read_scores(path) for key, path in score_paths.items()}


def cut_edges(tables: ScoreTables, signal: Sequence[str], efficiency: float) -> np.ndarray:
    """Edges [c, 1] of a single-bin cut keeping ``efficiency`` of the weighted nominal signal (template split)."""
    if not 0.0 < efficiency < 1.0:
        raise ValueError(f"sensitivity: field 'cut_signal_efficiency': {efficiency} is not in (0, 1)")
    sig = pd.concat([t for (p, v), t in tables.items() if v == NOMINAL and p in signal])
    sig = sig[sig["split"].to_numpy() == SPLITS["template"]]
    cut = signal_cut(sig["score"].to_numpy(float), sig["weight"].to_numpy(float), efficiency)
    return np.array([round(cut, 6), 1.0])


def make_templates(tables: ScoreTables, edges: np.ndarray) -> Templates:
    """Template-split and toy-split histograms of every (process, variation) with the given edges."""
    signal = signal_processes(tables)
    template = histograms(tables, edges, "template")
    check_background_positive(template, sorted({p for p, _ in tables} - set(signal)))
    return Templates(edges=np.asarray(edges, float), splits={"template": template,
                                                             "toy": histograms(tables, edges, "toy")}, signal=signal)


def expectation(templates: Templates, variation: str, mu: float, split: str) -> np.ndarray:
    """Expected counts of one variation in ``split``, signal scaled by ``mu``."""
    processes = list(templates.splits[split].axes["process"])
    return sum((mu if p in templates.signal else 1.0) * counts(templates, p, variation, split) for p in processes)


def evaluate(
    study: str,
    point: str,
    templates: Templates,
    spec: Mapping[str, Any],
    truths: Sequence[Truth],
    mu_range: tuple[float, float],
    scan_points: int,
    n_toys: int,
    seed: int,
    toy_expected: np.ndarray | None = None,
) -> StudyPoint:
    """Fit Asimov and the truths' held-out expectations, then run ``n_toys`` toys.

    ``spec`` is the workspace built from ``templates``. ``toy_expected``: one expected-count row per toy (the
    prior study: every NP drawn per toy, auxiliary data nominal; a NaN row is a truth outside the model, not fitted
    and counted as ``n_outside_model``), or None for toys from the model at μ = 1 with the auxiliary data fluctuated
    (the frequentist toy of the nominal truth).
    """
    asimov = fit_dataset(spec, asimov_counts(spec), mu_range, scan_points, "asimov")
    expected = {}
    for t in truths:
        fit = fit_dataset(spec, expectation(templates, t.variation, t.mu, "toy"), mu_range, scan_points, t.name)
        lo, hi = fit.interval_68
        expected[t.name] = {"mu_hat": fit.mu_hat, "bias": fit.mu_hat - t.mu, "width": hi - lo}
    if toy_expected is None:
        chunks, outside = [run_toys(spec, asimov_counts(spec), 1.0, 0, n_toys, seed, mu_range, fluctuate_aux=True)], 0
    else:
        # toy i is the same toy in any chunking: the runs of toys inside the model, each its own chunk
        inside = np.all(np.isfinite(np.asarray(toy_expected, dtype=float)[:n_toys]), axis=1)
        edges = np.flatnonzero(np.diff(np.concatenate([[False], inside, [False]]).astype(int)))
        chunks = [run_toys(spec, toy_expected, 1.0, int(a), int(b), seed, mu_range) for a, b in edges.reshape(-1, 2)]
        outside = int((~inside).sum())
        if not chunks:
            raise ValueError(f"sensitivity {study} {point}: all {n_toys} drawn truths lie outside the model")
    coverage = {**coverage_payload(merge_chunks(chunks, gaps=True)), "n_outside_model": outside}
    return StudyPoint(study, point, tuple(map(float, templates.edges)), asimov.mu_hat,
                      tuple(map(float, asimov.interval_68)), expected, coverage)


def prior_toy_expectations(spec: Mapping[str, Any], scales: Mapping[str, float], n_toys: int, seed: int,
                           mu: float = 1.0) -> np.ndarray:  # fmt: skip
    """Expected counts of ``n_toys`` pseudo-experiments whose every constrained NP is drawn from its prior
    (FAIR-Universe style), the width of NP ``name`` scaled by ``scales[name]`` (default 1); μ fixed.

    The model's own interpolation (histosys, normsys, staterror, lumi) gives the counts at the drawn values,
    so the study isolates the statistics of a mis-stated prior from template modelling. Draws are clipped
    to the parameter bounds; toy i uses its own random stream. A draw where some bin's expectation is negative (a
    shape NP far beyond its templates, e.g. TES at −3.5σ with the prior twice as wide) lies outside the model: no
    pseudo-data exist there, and fitting them took minutes of MINUIT for a failed toy; its row is NaN.
    """
    model = workspace_model(dict(spec))
    config = model.config
    unknown = sorted(set(scales) - set(config.par_order))
    if unknown:
        raise ValueError(f"sensitivity: field 'prior_scales': NP(s) {unknown} not in the workspace")
    for name, scale in scales.items():
        if not scale > 0:
            raise ValueError(f"sensitivity: field 'prior_scales': {name} scale {scale} must be > 0")
    init = np.asarray(config.suggested_init(), dtype=float)
    bounds = np.asarray(config.suggested_bounds(), dtype=float)
    rows = []
    for i in range(n_toys):
        rng = np.random.default_rng([int(seed), i, 2])
        pars = init.copy()
        pars[config.poi_index] = mu
        for name in config.par_order:
            pset = config.param_set(name)
            if not getattr(pset, "constrained", False) or pset.pdf_type != "normal":
                continue
            sl = config.par_slice(name)
            width = np.asarray(pset.width(), dtype=float) * scales.get(name, 1.0)
            pars[sl] = init[sl] + width * rng.standard_normal(width.size)
        pars = np.clip(pars, bounds[:, 0], bounds[:, 1])
        row = np.asarray(model.expected_actualdata(pars), dtype=float)
        rows.append(np.where(np.any(row < 0.0), np.nan, row))
    return np.array(rows)


def point_payload(point: StudyPoint) -> dict:
    """JSON-ready form (NaN as null)."""
    out = point._asdict()
    out["asimov_mu_hat"] = json_float(point.asimov_mu_hat)
    out["expected"] = {k: {f: json_float(v) for f, v in d.items()} for k, d in point.expected.items()}
    return out
