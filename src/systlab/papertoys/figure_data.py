"""The arrays the paper-toy figures draw: decision maps, learned-vs-analytic ratio profiles, pivot output histograms,
the positive control's profile curves.

Computed here from the exported models so that ``systlab.visualize.paper_toys`` only draws.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from systlab.papertoys.checks import Models
from systlab.papertoys.evaluate import (
    evaluation_sample,
    grid_scores,
    learned_log_ratio,
    model_scores,
    ratio_profile,
)
from systlab.papertoys.settings import split_model_name
from systlab.papertoys.toys import RotatingGaussiansToy, get_toy
from systlab.studies.metrics import JS_BINS, js_divergence

#: Z values (rotation t = Z pi/4) shown in the rotating-Gaussians figures.
FIGURE_Z = (0.0, 1.0, 2.0)
#: Bins of the pivot-toy output histograms on [0, 1] (those of the JS divergence in checks.json).
OUTPUT_BINS = JS_BINS


class DecisionMaps(NamedTuple):
    """f(x; Z) on a square grid: axes (n,), scores[model] of shape (replicas, len(z), n, n), Bayes directions."""

    x1: np.ndarray
    x2: np.ndarray
    z: tuple[float, ...]
    scores: dict[str, np.ndarray]
    signal_direction: np.ndarray


class RatioProfiles(NamedTuple):
    """Per model and Z: bin centres (log10 analytic ratio) and the median learned log10 ratio per replica."""

    z: tuple[float, ...]
    centres: np.ndarray
    medians: dict[str, dict[float, np.ndarray]]


class OutputHistograms(NamedTuple):
    """Per model and z: normalised output densities per replica (replicas, bins); JS(z=-1, z=+1) per replica."""

    edges: np.ndarray
    density: dict[str, dict[float, np.ndarray]]
    js: dict[str, np.ndarray]


def decision_maps(models: Models, z_values: Sequence[float] = FIGURE_Z, half_width: float = 3.0, n: int = 121
                  ) -> DecisionMaps:  # fmt: skip
    """Scores of every replica over the (x1, x2) plane at each Z (the parameter of aware models)."""
    toy = get_toy("rotating")
    axis = np.linspace(-half_width, half_width, n)
    g1, g2 = np.meshgrid(axis, axis)
    x = np.column_stack([g1.ravel(), g2.ravel()])
    scores = {
        model: np.array([[grid_scores(s, toy, x, {"Z": z}).reshape(n, n) for z in z_values] for s in scorers])
        for model, scorers in models.items()
    }
    return DecisionMaps(axis, axis, tuple(z_values), scores, RotatingGaussiansToy.direction(np.array(z_values)))


def ratio_profiles(models: Models, n: int, seed: int, z_values: Sequence[float] = FIGURE_Z,
                   edges_log10: np.ndarray | None = None) -> RatioProfiles:  # fmt: skip
    """Median learned log10 c/(1-c) in bins of the analytic log10 p_s/p_b, on evaluation samples at each Z
    (oracles only at the Z they were trained at)."""
    toy = get_toy("rotating")
    edges = np.linspace(-3.0, 3.0, 25) if edges_log10 is None else edges_log10
    medians: dict[str, dict[float, np.ndarray]] = {m: {} for m in models}
    centres = 0.5 * (edges[1:] + edges[:-1])
    for z in z_values:
        sample = evaluation_sample(toy, n, seed, {"Z": z})
        true_log = toy.log_likelihood_ratio(sample.features, sample.nuisances)
        for model, scorers in models.items():
            _, point = split_model_name(model)
            if point is not None and point != z:  # an oracle is shown only at its own Z
                continue
            medians[model][z] = np.array([
                ratio_profile(learned_log_ratio(model_scores(s, toy, sample)), true_log, edges).log10_learned
                for s in scorers
            ])  # fmt: skip
    return RatioProfiles(tuple(z_values), centres, medians)


def pivot_output_histograms(models: Models, n: int, seed: int, z_values: Sequence[float] = (-1.0, 0.0, 1.0),
                            bins: int = OUTPUT_BINS) -> OutputHistograms:  # fmt: skip
    """Normalised output densities of all events at each z (as p(f(X) | z) in Louppe et al. fig. 4)."""
    toy = get_toy("pivot")
    edges = np.linspace(0.0, 1.0, bins + 1)
    samples = {z: evaluation_sample(toy, n, seed, {"z": z}) for z in z_values}
    density: dict[str, dict[float, np.ndarray]] = {m: {} for m in models}
    for model, scorers in models.items():
        for z, sample in samples.items():
            density[model][z] = np.array([
                np.histogram(np.clip(model_scores(s, toy, sample), 0, 1), edges, weights=sample.weight, density=True)[0]
                for s in scorers
            ])  # fmt: skip
    low, high = min(z_values), max(z_values)
    js = {m: np.array([js_divergence(a, b) for a, b in zip(d[low], d[high], strict=True)]) for m, d in density.items()}
    return OutputHistograms(edges, density, js)


class ControlPanel(NamedTuple):
    """The control's methods on the Asimov data at one true Z: per method the model name, the scan μ and
    −2ΔlnL per replica (replicas, points), the 68% interval ends (replicas, 2) and μ̂ (replicas,)."""

    true_z: float
    models: dict[str, str]
    mu: dict[str, np.ndarray]
    q: dict[str, np.ndarray]
    intervals: dict[str, np.ndarray]
    mu_hat: dict[str, np.ndarray]


class ControlCurves(NamedTuple):
    """Panels per true Z, the width ratios and the toys' coverage (value, σ68, toys) at the toys' true Z."""

    panels: tuple[ControlPanel, ...]
    toy_z: float
    ratios: dict[str, tuple[float, float]]  # "aware/oracle" -> (ratio of replica-mean widths, the item's limit)
    coverage: dict[str, tuple[float, float, int]]
    yields: tuple[float, float]


def _floats(values: Sequence[Any]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def control_curves(payload: Mapping[str, Any]) -> ControlCurves:
    """The figure's arrays from a control.json payload (:func:`systlab.papertoys.control.run_control`)."""
    panels = []
    coverage: dict[str, tuple[float, float, int]] = {}
    order = payload["methods"]  # the payload's method order (its JSON keys are sorted)
    by_z = {float(d["true_z"]): d for d in payload["datasets"].values()}
    for true_z in payload["true_z"]:
        dataset = by_z[float(true_z)]
        methods = {m: dataset["methods"][m] for m in order if m in dataset["methods"]}
        rows = {m: v["replicas"] for m, v in methods.items()}
        mu = {m: _floats(r[0]["scan"]["mu"]) for m, r in rows.items()}
        q = {m: np.vstack([_floats(x["scan"]["q"]) for x in r]) for m, r in rows.items()}
        intervals = {m: np.array([_floats(x["interval_68"]) for x in r]) for m, r in rows.items()}
        mu_hat = {m: _floats([x["mu_hat"] for x in r]) for m, r in rows.items()}
        models = {m: v["model"] for m, v in methods.items()}
        panels.append(ControlPanel(float(dataset["true_z"]), models, mu, q, intervals, mu_hat))
        for method, v in methods.items():
            if "coverage" in v:
                c = v["coverage"]
                coverage[method] = (float(c["coverage"]), float(c["sigma68"]), int(c["n_used"]))
    ratios = {name: (float(r["ratio"]), float(r["limit"])) for name, r in payload["ratios"].items()}
    ratios = dict(sorted(ratios.items(), key=lambda item: item[0] != "aware/oracle"))  # the oracle first
    coverage = {m: coverage[m] for m in order if m in coverage}
    yields = (float(payload["yields"]["signal"]), float(payload["yields"]["background"]))
    return ControlCurves(tuple(panels), float(payload["toys"]["true_z"]), ratios, coverage, yields)
