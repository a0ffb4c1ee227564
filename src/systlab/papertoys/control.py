"""Positive control: the rotating Gaussians through the H→ττ (μ, Z) grid likelihood, where the answer is known.

The toy is rotation-symmetric: f(x; Z) scored at its own Z separates the classes equally well at every Z, so the
aware classifier's interval should match the oracle's (trained at the true Z) and beat the baseline's (trained at
Z = 1) once the data sit at Z = 2. Every step is the H→ττ one: template samples simulated at every grid point Z_k
(the same random draws at every point), binned at the signal quantiles, one pyhf workspace per point with Z as the
histosys towards the neighbouring points (:func:`systlab.likelihood.grid_inputs.point_histogram`, morphed by
:class:`systlab.likelihood.morph.Morph`), staterror from the template samples, Z constrained by its prior N(1, 0.5)
(α = (Z − 1)/0.5 in σ units), μ profiled by :func:`systlab.infer.grid_profile.grid_profile` and toys by
:func:`systlab.infer.grid_fit.run_grid_toys`. A fixed classifier (baseline, augmented, oracle) keeps one binning
(as :mod:`systlab.studies.histosys_check`), the aware one is binned at each point with f(x; Z_k) (as the H→ττ aware
grid). Datasets come from a sample independent of the templates: the Asimov counts at each true Z (prior kept at
N(1, 0.5)), and Poisson pseudo-experiments at the first true Z with Z's auxiliary datum drawn around the truth (the
frequentist toy of a fixed truth). No lumi or normalisation NP: the toy's yields are exact.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import scipy.special

from systlab.config import variation_name
from systlab.events import SPLITS
from systlab.infer.event_toys import TruthEvents, binned_at_points, expected_multiplicities
from systlab.infer.fit import json_float
from systlab.infer.grid_fit import run_grid_toys
from systlab.infer.grid_profile import GridProfile, grid_profile
from systlab.infer.toy_io import coverage_payload
from systlab.infer.toys import ONE_SIGMA, Coverage, merge_chunks
from systlab.likelihood.grid_inputs import (
    GridPoint,
    GridWorkspaces,
    grid_neighbours,
    grid_point_workspace,
    point_templates,
)
from systlab.likelihood.morph import Morph
from systlab.methods.onnx_io import OnnxScorer
from systlab.papertoys.checks import Check, point_label
from systlab.papertoys.evaluate import grid_scores
from systlab.papertoys.settings import ControlSettings, oracle_name
from systlab.papertoys.toys import TOYS, ToySample, get_toy
from systlab.studies.histosys_check import fixed_point_templates
from systlab.studies.metrics import mean_std
from systlab.templates.histograms import NOMINAL, Templates, bin_edges, histograms

FORMAT = "systlab.paper_toys.control/1"
TOY = "rotating"
NP = "Z"
SIGNAL, BACKGROUND = "signal", "background"
#: Entropy words of the control's samples (training uses the replica index, evaluation 1_000_000).
STREAMS = {"templates": 2_000_000, "data": 3_000_000, "toys": 4_000_000}
#: −2lnL between grid points: the parabola through the lowest point and its neighbours (the H→ττ default), that
#: point found among all grid points at every μ: the toy's mirror symmetry (f(x; Z_k) sees Z_k ± δ alike) gives the
#: α profile several minima, and the downhill walk of plain "quadratic" stopped in a shallower one.
INTERPOLATION = "quadratic_global"
#: The done-when of the control (issue "A decisive benchmark", item 5), at the toys' true Z.
AWARE_OVER_ORACLE_MAX = 1.05
AWARE_OVER_BASELINE_MAX = 0.9
COVERAGE_SIGMAS = 3.0
#: The methods of the control, in the figure's order (the oracle is the one trained at the true Z).
METHODS = ("baseline", "augmented", "aware", "oracle")

Score = Callable[[np.ndarray, float], np.ndarray]


class ControlModel(NamedTuple):
    """A classifier of the control: ``score(x, z)`` of feature rows x; z is the parameter of a parameterized one
    (a fixed classifier ignores it)."""

    name: str
    score: Score
    parameterized: bool


class MethodResult(NamedTuple):
    """One model replica on one dataset: the grid profile of the Asimov counts at a true Z."""

    model: str
    true_z: float
    profile: GridProfile

    @property
    def width(self) -> float:
        lo, hi = self.profile.interval_68
        return hi - lo


def alpha_of(z: float | np.ndarray) -> np.ndarray:
    """Z in σ units of its prior: α = (Z − 1)/0.5."""
    return get_toy(TOY).primary.shift(z)


def onnx_model(name: str, scorer: OnnxScorer) -> ControlModel:
    """An exported toy model (parameterized if its ONNX inputs hold Z)."""
    toy = get_toy(TOY)
    return ControlModel(name, lambda x, z: grid_scores(scorer, toy, x, {NP: z}), NP in scorer.parameters)


def analytic_model(name: str, z: float | None) -> ControlModel:
    """The Bayes-optimal score sigmoid(log p_s/p_b) at a fixed ``z`` (an exact oracle or baseline), or at the
    parameter (``z`` None: an exact aware classifier)."""
    toy = get_toy(TOY)

    def score(x: np.ndarray, at: float) -> np.ndarray:
        return scipy.special.expit(toy.log_likelihood_ratio(x, {NP: at if z is None else z}))

    return ControlModel(name, score, z is None)


def grid_points(settings: ControlSettings) -> tuple[GridPoint, ...]:
    """The Z grid as grid points (α in σ units); the sample at Z = 1 is the nominal one."""
    return tuple(
        GridPoint(float(a), variation_name(NP, float(a)), NOMINAL if a == 0 else variation_name(NP, float(a)))
        for a in alpha_of(np.asarray(settings.z_grid))
    )


def _rng(seed: int, stream: str) -> np.random.Generator:
    return np.random.default_rng([seed, sorted(TOYS).index(TOY), STREAMS[stream]])


def weighted(sample: ToySample, settings: ControlSettings, n_per_class: int) -> ToySample:
    """``sample`` with weights giving the expected yields: s/n per signal event, b/n per background event."""
    weight = np.where(sample.label == 1, settings.signal, settings.background) / n_per_class
    return sample._replace(weight=weight)


def template_samples(settings: ControlSettings, seed: int) -> dict[str, ToySample]:
    """Template events at every grid point and at Z = 1 (``nominal``), the same random draws at every Z."""
    toy = get_toy(TOY)
    n = settings.template_events
    out = {}
    for z, point in zip((*settings.z_grid, toy.primary.nominal), (*grid_points(settings), None), strict=True):
        name = NOMINAL if point is None else point.sample
        out[name] = weighted(toy.sample(n, _rng(seed, "templates"), "fixed", {NP: z}), settings, n)
    return out


def data_sample(settings: ControlSettings, seed: int, z: float) -> ToySample:
    """Events at true ``z`` from a stream of their own (independent of the templates), weighted to the yields."""
    n = settings.data_events
    return weighted(get_toy(TOY).sample(n, _rng(seed, "data"), "fixed", {NP: z}), settings, n)


def score_tables(model: ControlModel, samples: Mapping[str, ToySample], z: float
                 ) -> dict[tuple[str, str], pd.DataFrame]:  # fmt: skip
    """(process, variation) -> template-split score table of ``samples`` scored with the model at parameter ``z``."""
    out = {}
    for variation, sample in samples.items():
        score = np.asarray(model.score(sample.features, z), dtype=np.float64)
        for process, label in ((SIGNAL, 1), (BACKGROUND, 0)):
            rows = sample.label == label
            out[(process, variation)] = pd.DataFrame({
                "event_id": np.flatnonzero(rows), "weight": sample.weight[rows], "split": SPLITS["template"],
                "label": label, "score": score[rows],
            })  # fmt: skip
    return out


def workspace_settings() -> dict[str, Any]:
    """:func:`systlab.likelihood.workspace.build_workspace`'s settings of the toy: Z the only NP, no lumi."""
    return {"signal": SIGNAL, "backgrounds": [BACKGROUND], "shape_nps": {NP: False}, "norm_nps": {}, "lumi_sigma": None}


def build_grid(model: ControlModel, samples: Mapping[str, ToySample], settings: ControlSettings) -> GridWorkspaces:
    """One workspace and binning per grid point: a fixed classifier's signal-quantile edges of Z = 1 at every point,
    an aware classifier's of f(x; Z_k) on the Z_k sample at point k (with its neighbours scored at Z_k too)."""
    points = grid_points(settings)
    z_of = dict(zip((p.sample for p in points), settings.z_grid, strict=True))
    edges, specs = [], []
    if not model.parameterized:
        tables = score_tables(model, samples, get_toy(TOY).primary.nominal)
        fixed_edges = bin_edges(tables, settings.bins, "signal_quantiles", [SIGNAL])
        templates = Templates(np.asarray(fixed_edges, float), {"template": histograms(tables, fixed_edges, "template")},
                              (SIGNAL,))  # fmt: skip
    for k, point in enumerate(points):
        neighbours = grid_neighbours(points, k)
        if model.parameterized:
            wanted = {point.sample, NOMINAL, *(p.sample for p in neighbours if p is not None)}
            tables = score_tables(model, {v: samples[v] for v in wanted}, z_of[point.sample])
            at_point = point_templates(tables, point, neighbours, NP, {}, settings.bins, "signal_quantiles", SIGNAL)
        else:
            at_point = fixed_point_templates(templates, point, {}, NP, neighbours)
        edges.append(at_point.edges)
        specs.append(grid_point_workspace(at_point, workspace_settings(), NP, point.alpha))
    return GridWorkspaces(NP, np.array([p.alpha for p in points]), tuple(p.label for p in points), tuple(edges),
                          tuple(specs))  # fmt: skip


def data_events(model: ControlModel, sample: ToySample, settings: ControlSettings) -> TruthEvents:
    """The data sample as event-level pseudo-data: each event's score at every grid point (f(x; Z_k) for the aware
    classifier, the one score repeated for a fixed one)."""
    if model.parameterized:
        scores = np.vstack([model.score(sample.features, z) for z in settings.z_grid]).astype(np.float64)
    else:
        scores = np.repeat(np.asarray(model.score(sample.features, 1.0), np.float64)[None], len(settings.z_grid), 0)
    signal = sample.label == 1
    return TruthEvents(np.where(signal, SIGNAL, BACKGROUND).astype(object), np.arange(len(signal)), sample.weight,
                       signal, scores)  # fmt: skip


def morph(settings: ControlSettings) -> Morph | None:
    return Morph(NP, settings.morph_step, reach=0.0) if settings.morph_step > 0 else None


def asimov_profile(grid: GridWorkspaces, events: TruthEvents, settings: ControlSettings) -> GridProfile:
    """The profile of the expected counts of ``events`` at μ = 1 (Z's prior N(1, 0.5): auxiliary datum nominal)."""
    observed = binned_at_points(events, expected_multiplicities(events, 1.0), grid.edges)
    return grid_profile(grid.specs, observed, grid.alphas, 0.0, 1.0, settings.mu_range, settings.scan_points,
                        INTERPOLATION, half_grid=False, morph=morph(settings))  # fmt: skip


def toy_seed(seed: int) -> int:
    """The toys' seed: one for every method, so each method fits the same pseudo-experiments (paired)."""
    return int(np.random.SeedSequence([seed, sorted(TOYS).index(TOY), STREAMS["toys"]]).generate_state(1)[0])


def coverage_toys(grid: GridWorkspaces, events: TruthEvents, settings: ControlSettings, seed: int, true_z: float,
                  n_toys: int | None = None) -> Coverage:  # fmt: skip
    """Coverage of the 68% interval of μ = 1 over Poisson pseudo-experiments of ``events`` (one multiplicity per
    event), Z's auxiliary datum drawn from N(true Z, 0.5)."""
    n = settings.toys if n_toys is None else n_toys
    chunk = run_grid_toys(grid, events, 1.0, 0, n, toy_seed(seed), settings.mu_range, INTERPOLATION,
                          progress_every=0, morph=morph(settings), alpha0=float(alpha_of(true_z)))  # fmt: skip
    return merge_chunks([chunk])


def oracle_model(true_z: float) -> str:
    """The oracle of a true Z: the model trained at it."""
    return oracle_name(NP, true_z)


def method_models(models: Mapping[str, Any], true_z: float) -> dict[str, str]:
    """Method -> model name at ``true_z``: baseline, augmented, aware, and the oracle if one was trained there."""
    names = {method: oracle_model(true_z) if method == "oracle" else method for method in METHODS}
    return {method: name for method, name in names.items() if name in models}


def profile_payload(result: MethodResult) -> dict:
    """μ̂, interval, width, Ẑ and the scan −2ΔlnL(μ) of one profile (JSON-ready)."""
    p = result.profile
    z_hat = get_toy(TOY).primary.nominal + get_toy(TOY).primary.sigma * p.alpha_hat
    return {
        "mu_hat": json_float(p.mu_hat), "interval_68": [json_float(v) for v in p.interval_68],
        "interval_open": list(p.interval_open), "width": json_float(result.width),
        "alpha_hat": json_float(p.alpha_hat), "z_hat": json_float(z_hat), "converged": bool(p.converged),
        "notes": list(dict.fromkeys(p.notes)),
        "scan": {"mu": [json_float(v) for v in p.scan_mu], "q": [json_float(v) for v in p.scan_q]},
    }  # fmt: skip


def coverage_summary(result: Coverage) -> dict:
    """The coverage payload without the per-toy q_μ list, with its distance to 0.6827 in σ68."""
    payload = coverage_payload(result)
    payload.pop("q_mu_true", None)
    payload["within_3_sigma68"] = bool(abs(result.coverage - ONE_SIGMA) <= COVERAGE_SIGMAS * result.sigma68)
    return payload


def width_ratio(widths: Mapping[str, Sequence[float]], top: str, bottom: str) -> dict:
    """Ratio of the replica-mean widths, and the paired per-replica ratios (replica i of each model: the same
    samples and seeds) with their mean and spread."""
    a, b = np.asarray(widths[top], float), np.asarray(widths[bottom], float)
    paired = (a / b).tolist() if a.size == b.size else []
    spread = {k: json_float(v) for k, v in mean_std(paired).items()} if paired else {}
    return {"ratio": json_float(float(a.mean() / b.mean())), "paired": [json_float(v) for v in paired], **spread}


def control_checks(widths: Mapping[str, Sequence[float]], coverage: Mapping[str, Coverage], true_z: float
                   ) -> list[Check]:  # fmt: skip
    """The item's done-when at the toys' true Z: aware ≤ 1.05 × oracle and ≤ 0.9 × baseline (replica-mean widths),
    every method's coverage within 0.6827 ± 3σ68."""
    checks = []
    for other, limit in (("oracle", AWARE_OVER_ORACLE_MAX), ("baseline", AWARE_OVER_BASELINE_MAX)):
        if {"aware", other} <= set(widths):
            ratio = float(np.mean(widths["aware"]) / np.mean(widths[other]))
            checks.append(Check(f"aware_width_vs_{other}_Z{true_z:g}",
                                f"width(aware) <= {limit:g} x width({other}) on the Asimov data at Z = {true_z:g}",
                                {"ratio": ratio, "limit": limit}, bool(ratio <= limit)))  # fmt: skip
    for method, c in coverage.items():
        checks.append(Check(f"coverage_{method}_Z{true_z:g}",
                            f"coverage of {method} within {ONE_SIGMA} +- {COVERAGE_SIGMAS:g} sigma68",
                            {"coverage": c.coverage, "sigma68": c.sigma68, "n_toys": c.n_used,
                             "pull": c.coverage_pull},
                            bool(abs(c.coverage - ONE_SIGMA) <= COVERAGE_SIGMAS * c.sigma68)))  # fmt: skip
    return checks


def run_control(models: Mapping[str, Sequence[ControlModel]], settings: ControlSettings, seed: int,
                log: Callable[[str], None] = lambda message: None) -> dict:  # fmt: skip
    """The control.json payload: per method and true Z the Asimov profile of every replica, the toys' coverage
    at the first true Z (first replica), the width ratios and the done-when checks.

    ``models`` maps model names (baseline, augmented, aware, oracle_Z<z>) to their replicas (the same order)."""
    samples = template_samples(settings, seed)
    toy_z = settings.true_z[0]
    datasets: dict[str, dict] = {}
    widths_at: dict[float, dict[str, list[float]]] = {}
    coverage: dict[str, Coverage] = {}
    grids: dict[tuple[str, int], GridWorkspaces] = {}
    for true_z in settings.true_z:
        data = data_sample(settings, seed, true_z)
        per_method: dict[str, Any] = {}
        widths_at[true_z] = {}
        for method, name in method_models(models, true_z).items():
            rows = []
            for r, model in enumerate(models[name]):
                if (name, r) not in grids:
                    grids[(name, r)] = build_grid(model, samples, settings)
                grid = grids[(name, r)]
                events = data_events(model, data, settings)
                result = MethodResult(name, true_z, asimov_profile(grid, events, settings))
                rows.append(profile_payload(result))
                log(f"Z={true_z:g} {name} r{r}: mu_hat {result.profile.mu_hat:.4f}, width {result.width:.4f}, "
                    f"Z_hat {rows[-1]['z_hat']:.3f}")  # fmt: skip
                if true_z == toy_z and r == 0:
                    coverage[method] = coverage_toys(grid, events, settings, seed, true_z)
                    c = coverage[method]
                    log(f"toys Z={true_z:g} {name} r0: coverage {c.coverage:.4f} +- {c.sigma68:.4f} "
                        f"({c.n_used} of {c.n_toys}), mean width {c.mean_width:.4f}, bias {c.bias:.4f}")  # fmt: skip
            widths = [row["width"] for row in rows]
            widths_at[true_z][method] = widths
            per_method[method] = {"model": name, "replicas": rows, "width": mean_std(widths)}
            if method in coverage and true_z == toy_z:
                per_method[method]["coverage"] = coverage_summary(coverage[method])
        datasets[point_label({NP: true_z})] = {"true_z": true_z, "methods": per_method}
    checks = control_checks(widths_at[toy_z], coverage, toy_z)
    limits = {"oracle": AWARE_OVER_ORACLE_MAX, "baseline": AWARE_OVER_BASELINE_MAX}
    ratios = {f"aware/{b}": {**width_ratio(widths_at[toy_z], "aware", b), "limit": limit}
              for b, limit in limits.items() if {"aware", b} <= set(widths_at[toy_z])}  # fmt: skip
    toy = get_toy(TOY)
    return {
        "format": FORMAT,
        "toy": TOY,
        "np": NP,
        "prior": {"nominal": toy.primary.nominal, "sigma": toy.primary.sigma},
        "methods": [m for m in METHODS if any(m in d["methods"] for d in datasets.values())],
        "true_z": list(settings.true_z),
        "z_grid": list(settings.z_grid),
        "alphas": [float(a) for a in alpha_of(np.asarray(settings.z_grid))],
        "yields": {"signal": settings.signal, "background": settings.background},
        "template_events_per_class": settings.template_events,
        "data_events_per_class": settings.data_events,
        "bins": settings.bins,
        "binning": "signal_quantiles",
        "morph_step": settings.morph_step,
        "interpolation": INTERPOLATION,
        "mu_range": list(settings.mu_range),
        "asimov": "expected counts of the data sample at mu = 1 and the true Z; Z's auxiliary datum at nominal "
        "(prior N(1, 0.5))",
        "toys": {
            "true_z": toy_z,
            "n": settings.toys,
            "replica": "r0",
            "interpolation": INTERPOLATION,
            "pseudo_data": "event-level Poisson multiplicities of the data sample at mu = 1 (the same toys for "
            "every method)",
            "auxdata": f"Z's auxiliary datum ~ N({toy_z:g}, {toy.primary.sigma:g}) (the true Z)",
        },
        "datasets": datasets,
        "ratios": ratios,
        "checks": [c._asdict() for c in checks],
        "passed": all(c.passed for c in checks),
    }
