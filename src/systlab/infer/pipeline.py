"""The inference stages (fit, toys, limits) of one model replica, whatever its kind: the workflow's entry points.

A fixed classifier's likelihood is its pyhf workspace (inputs ``workspace`` and ``templates``); a parameterized
classifier f(x; α) is fitted through the grid-profiled likelihood of its grid workspaces (inputs ``workspaces`` and
``scores``, one score table per grid point: :mod:`systlab.likelihood.grid`), because its single workspace is not its
likelihood (the observable moves with α). Each function here picks the route with
:func:`systlab.likelihood.grid_points.parameterized_np` and returns the JSON payloads the rule writes, so the rule
scripts are the same for both kinds. Numerical modules are imported inside the functions: Snakemake imports this
module when it builds the DAG (:func:`toy_chunk_count`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from systlab.config import Config
from systlab.likelihood.grid_points import parameterized_np

log = logging.getLogger(__name__)

#: The Asimov inference payloads of a model replica (:func:`inference_all`), one file each.
INFERENCE_KINDS = ("limit", "significance", "impacts")

#: Inputs per route: a rule's named inputs (``snakemake.input``) as a mapping, file path or list of paths.
Inputs = Mapping[str, "str | Sequence[str]"]


def is_parameterized(cfg: Config, model: str) -> bool:
    """True if ``model`` goes through the grid-profiled likelihood, False for a fixed classifier's workspace."""
    return parameterized_np(cfg, model) is not None


def is_unbinned(cfg: Config, model: str) -> bool:
    """True if ``model`` goes through the unbinned likelihood of its learned per-event density ratios."""
    from systlab.methods.registry import get as get_method

    return get_method(cfg.model(model).method).unbinned


def unbinned_models(cfg: Config) -> tuple[str, ...]:
    """Model names whose likelihood is the unbinned one."""
    return tuple(m for m in cfg.model_names() if is_unbinned(cfg, m))


def read_unbinned(inputs: Inputs):
    """The unbinned model and event sets of an unbinned model's inputs (:mod:`systlab.likelihood.unbinned_inputs`)."""
    from systlab.likelihood.unbinned_inputs import read_inputs

    return read_inputs(inputs["tables"], inputs["unbinned"])


def toy_count(cfg: Config, model: str) -> int:
    """Toys per replica: ``toys.grid_n`` through the grid likelihood (a toy costs ~1 s there), else ``toys.n``."""
    return cfg.n_grid_toys if is_parameterized(cfg, model) else cfg.n_toys


def toy_chunk_count(cfg: Config, model: str) -> int:
    """Toy jobs per replica: ``toys.chunks``, at most one per toy (``toys.grid_n`` may be below ``toys.chunks``)."""
    return min(cfg.toy_chunks, toy_count(cfg, model))


def read_grid(inputs: Inputs):
    """(grid workspaces, score tables per grid point) of a parameterized model's inputs."""
    from systlab.likelihood.grid_inputs import read_grid_scores, read_grid_workspaces

    return read_grid_workspaces(inputs["workspaces"]), [read_grid_scores(p) for p in inputs["scores"]]


def fit_all(cfg: Config, model: str, inputs: Inputs, datasets: Sequence[str], surface: bool = True) -> dict[str, dict]:
    """Fit every dataset (``asimov``, ``truth_<t>``: Poisson pseudo-data, ``expected_<t>``: the toy-split expectation
    of truth t) -> {dataset: fit-result payload}; a parameterized model's payload has the grid profile under
    ``grid`` (:func:`systlab.infer.grid_fit.grid_fit_payload`), with the fine surface for the figure if ``surface``
    (the figure draws replica r0's: a third of a tiny aware fit's time)."""
    if is_parameterized(cfg, model):
        return _fit_grid(cfg, inputs, datasets, surface)
    if is_unbinned(cfg, model):
        return _fit_unbinned(cfg, inputs, datasets)
    return _fit_fixed(cfg, inputs, datasets)


def _fit_fixed(cfg: Config, inputs: Inputs, datasets: Sequence[str]) -> dict[str, dict]:
    from systlab.infer.fit import asimov_counts, fit_dataset, fit_result_payload, pseudo_data_counts
    from systlab.infer.toys import toy_expectation
    from systlab.likelihood.workspace import read_workspace
    from systlab.templates.histograms import read_templates

    spec, templates = read_workspace(inputs["workspace"]), read_templates(inputs["templates"])
    out = {}
    for dataset in datasets:
        kind, _, name = dataset.partition("_")
        if dataset == "asimov":
            observed = asimov_counts(spec)
        elif kind == "expected":
            truth = next(t for t in cfg.truths if t.name == name)
            observed = toy_expectation(templates, f"truth_{name}", mu=truth.mu, signal=cfg.signal)
        else:
            truth = next(t for t in cfg.truths if t.name == name)
            observed = pseudo_data_counts(templates, dataset, mu=truth.mu, seed=cfg.seed_stream(dataset),
                                          signal=cfg.signal)  # fmt: skip
        result = fit_dataset(spec, observed, cfg.mu_range, cfg.scan_points, dataset)
        out[dataset] = fit_result_payload(result)
        log.info("%s: mu_hat = %.4f, 68%% interval [%.4f, %.4f], converged %s", dataset, result.mu_hat,
                 *result.interval_68, result.converged)  # fmt: skip
    return out


def _fit_grid(cfg: Config, inputs: Inputs, datasets: Sequence[str], surface: bool) -> dict[str, dict]:
    from systlab.infer.grid_fit import grid_fit_payload, grid_fits, grid_observations

    grid, per_point = read_grid(inputs)
    t0 = time.perf_counter()
    observed = {dataset: grid_observations(cfg, grid, per_point, dataset) for dataset in datasets}
    fits = grid_fits(cfg, grid, observed, cfg.grid_interpolation, surface)  # every dataset at once, in lock step
    out = {}
    for dataset, (result, profile) in fits.items():
        out[dataset] = grid_fit_payload(result, profile, grid.np_name)
        log.info("%s: mu_hat = %.4f, 68%% interval [%.4f, %.4f], alpha_hat = %.3f sigma, converged %s",
                 dataset, result.mu_hat, *result.interval_68, profile.alpha_hat, result.converged)  # fmt: skip
    log.info("%d datasets through the grid in %.1f s", len(fits), time.perf_counter() - t0)
    return out


def unbinned_dataset(cfg: Config, sets, dataset: str):
    """One dataset of the unbinned route as weighted events: ``asimov`` the template events at μ = 1,
    ``expected_<t>`` truth t's toy-split events at their expected weights, ``truth_<t>`` one event-level Poisson
    draw of those (stream ``seed_stream(dataset)``, as the binned pseudo-data's)."""
    import numpy as np

    from systlab.infer.unbinned import expectation

    if dataset == "asimov":
        events, mu = sets["template"], 1.0
    else:
        name = dataset.partition("_")[2]
        truth = next(t for t in cfg.truths if t.name == name)
        events, mu = sets[f"truth_{name}"], truth.mu
    weights = events.expected_weights(mu)
    if dataset.startswith("truth_"):
        weights = np.random.default_rng(cfg.seed_stream(dataset)).poisson(weights).astype(float)
        keep = weights > 0
        return expectation(events.tables.take(np.flatnonzero(keep)), weights[keep])
    return expectation(events.tables, weights)


def _fit_unbinned(cfg: Config, inputs: Inputs, datasets: Sequence[str]) -> dict[str, dict]:
    from systlab.infer.fit import fit_result_payload
    from systlab.infer.unbinned import fit_events, with_mu_range

    model, sets = read_unbinned(inputs)[:2]
    model = with_mu_range(model, cfg.mu_range)
    out = {}
    t0 = time.perf_counter()
    for dataset in datasets:
        result = fit_events(model, unbinned_dataset(cfg, sets, dataset), dataset, cfg.scan_points)
        out[dataset] = fit_result_payload(result)
        log.info("%s: mu_hat = %.4f, 68%% interval [%.4f, %.4f], converged %s", dataset, result.mu_hat,
                 *result.interval_68, result.converged)  # fmt: skip
    log.info("%d datasets through the unbinned likelihood in %.1f s", len(out), time.perf_counter() - t0)
    return out


def toy_chunk(cfg: Config, model: str, replica: str, inputs: Inputs, chunk: int) -> dict:
    """Chunk ``chunk`` of the two toy studies of one replica at the toy truth (``Config.toy_truth``: μ = 1, no NP
    shift, auxiliary data fluctuated) -> {"held_out": chunk payload, "model": chunk payload} (+ ``grid``: how a
    parameterized model's toys were made).

    Held-out toys draw from the toy split (an independent MC sample: their coverage includes its non-closure with
    the templates), model toys from the model's own expectation (the statistical procedure alone). Toy i draws from
    streams of (seed, i) only, so any chunking gives the same toys. Fixed classifiers: Poisson counts around the
    expected bin counts. Parameterized: event-level Poisson multiplicities, each event Poisson(1)-bootstrapped (the
    grid's MC-statistics auxiliary data cannot be fluctuated, each point has its own bins; the bootstrap puts in the
    MC-statistical fluctuation the staterror NPs describe).
    """
    from systlab.infer.toy_io import chunk_payload
    from systlab.infer.toys import chunk_bounds, toy_truth

    truth = toy_truth(cfg)
    seed = cfg.seed_stream(model, replica)
    first, stop = chunk_bounds(toy_count(cfg, model), toy_chunk_count(cfg, model))[chunk]
    run = _toys_grid if is_parameterized(cfg, model) else _toys_unbinned if is_unbinned(cfg, model) else _toys_fixed
    chunks, extra = run(cfg, inputs, truth, first, stop, seed)
    for name, c in chunks.items():
        log.info("%s toys %d-%d: %.3f s/toy", name, first, stop, c.seconds / max(stop - first, 1))
    payload = {name: chunk_payload(c) for name, c in chunks.items()}
    return payload if extra is None else {**payload, "grid": extra}


STUDIES = ("held_out", "model")  # the two toy studies; model toys draw from stream seed + 1


def _toys_fixed(cfg: Config, inputs: Inputs, truth, first: int, stop: int, seed: int):
    from systlab.infer.toys import run_toys, study_expectations
    from systlab.likelihood.workspace import read_workspace
    from systlab.templates.histograms import read_templates

    spec = read_workspace(inputs["workspace"])
    expected = study_expectations(read_templates(inputs["templates"]), spec, truth, cfg.signal)
    return {name: run_toys(spec, expected[name], truth.mu, first, stop, seed + k, cfg.mu_range, fluctuate_aux=True)
            for k, name in enumerate(STUDIES)}, None  # fmt: skip


def _toys_grid(cfg: Config, inputs: Inputs, truth, first: int, stop: int, seed: int):
    from systlab.infer.event_toys import truth_events
    from systlab.infer.grid_fit import TOY_INTERPOLATION, run_grid_toys
    from systlab.infer.toys import TOY_STUDY_SPLITS, truth_sample
    from systlab.likelihood.grid_inputs import grid_morph

    grid, per_point = read_grid(inputs)
    chunks = {}
    for k, name in enumerate(STUDIES):
        events = truth_events(per_point, truth_sample(truth), [cfg.signal], split=TOY_STUDY_SPLITS[name])
        chunks[name] = run_grid_toys(grid, events, truth.mu, first, stop, seed + k, cfg.mu_range, TOY_INTERPOLATION,
                                     morph=grid_morph(cfg, grid.np_name), bootstrap=True)  # fmt: skip
    extra = {"np": grid.np_name, "alphas": grid.alphas.tolist(), "interpolation": TOY_INTERPOLATION,
             "morph_step": cfg.grid_morph_step,
             "pseudo_data": "event-level Poisson multiplicities of the nominal toy split (held_out) and template "
                            f"split (model), each event Poisson(1)-bootstrapped, mu = {truth.mu:g}, "
                            f"alpha = {truth.shifts.get(grid.np_name, 0.0):g}",
             "auxdata": "Gaussian, one draw per scalar NP shared by all grid points; MC-stat aux nominal"}  # fmt: skip
    return chunks, extra


def _toys_unbinned(cfg: Config, inputs: Inputs, truth, first: int, stop: int, seed: int):
    from systlab.infer.unbinned import run_unbinned_toys, with_mu_range

    model, sets = read_unbinned(inputs)[:2]
    model = with_mu_range(model, cfg.mu_range)
    pools = {"held_out": sets["toy"], "model": sets["template"]}
    centre = model.auxdata.copy()
    for j, name in enumerate(model.names[1:]):
        centre[j] = truth.shifts.get(name, 0.0)  # the aux data fluctuate around the truth's NP values
    chunks = {name: run_unbinned_toys(model, pools[name].tables, pools[name].expected_weights(truth.mu), truth.mu,
                                      first, stop, seed + k, centre)
              for k, name in enumerate(STUDIES)}  # fmt: skip
    return chunks, None


def merge_toys(chunk_files: Sequence[tuple[str | Path, dict]]) -> dict:
    """The chunk payloads of :func:`toy_chunk` (with their file names, for errors) -> the coverage payload of
    :func:`systlab.infer.toy_io.write_coverage`: held-out coverage, mean width, FAIR score, the model toys under
    ``model``, and for a parameterized model ``grid`` (with the mean fits per toy, ``n_fits_mean[_model]``)."""
    from systlab.infer.toy_io import coverage_payload, toy_chunk_from_payload
    from systlab.infer.toys import concatenate, merge_chunks

    chunks = {name: [toy_chunk_from_payload(p.get(name, {}), path) for path, p in chunk_files] for name in STUDIES}
    results = {name: merge_chunks(c) for name, c in chunks.items()}
    for name, c in results.items():
        log.info("%s toys (%d): coverage %.3f (sigma68 %.3f), mean width %.3f, bias %.3f, score %.3f",
                 name, c.n_toys, c.coverage, c.sigma68, c.mean_width, c.bias, c.score)
    payload = {**coverage_payload(results["held_out"]), "model": coverage_payload(results["model"])}
    grid = chunk_files[0][1].get("grid") if chunk_files else None
    if grid is not None:
        n_fits = {name: float(concatenate(c).n_fits.mean()) for name, c in chunks.items()}
        payload["grid"] = {**grid, "n_fits_mean": n_fits["held_out"], "n_fits_mean_model": n_fits["model"]}
    return payload


def inference_all(cfg: Config, model: str, inputs: Inputs) -> dict[str, dict]:
    """The Asimov data (μ = 1, NPs nominal) -> {"limit": 95% CLs upper limit, "significance": expected Z0,
    "impacts": pulls and impacts} payloads. Parameterized models: through the grid profile, impacts without the
    per-bin MC-statistics NPs (:mod:`systlab.infer.grid_inference`)."""
    from systlab.infer.impacts import impacts_payload
    from systlab.infer.limits import upper_limit_payload
    from systlab.infer.significance import significance_payload

    high = max(cfg.mu_range[1], 2.0)
    run = (_inference_grid if is_parameterized(cfg, model) else _inference_unbinned if is_unbinned(cfg, model)
           else _inference_fixed)  # fmt: skip
    limit, significance, impacts = run(cfg, inputs, high)
    return {"limit": upper_limit_payload(limit), "significance": significance_payload(significance),
            "impacts": impacts_payload(impacts)}  # fmt: skip


def _inference_fixed(cfg: Config, inputs: Inputs, high: float):
    from systlab.infer.fit import asimov_counts
    from systlab.infer.impacts import impacts
    from systlab.infer.limits import upper_limit_in_range
    from systlab.infer.significance import discovery_significance
    from systlab.likelihood.workspace import read_workspace

    spec = read_workspace(inputs["workspace"])
    asimov = asimov_counts(spec)
    t0 = time.perf_counter()
    limit = upper_limit_in_range(spec, asimov, high, max_high=64.0 * high)
    _log_limit(limit, t0)
    t1 = time.perf_counter()
    significance = discovery_significance(spec, asimov, (0.0, high))
    _log_significance(significance, t1)
    t2 = time.perf_counter()
    result = impacts(spec, asimov, cfg.mu_range)
    _log_impacts(result, t2)
    return limit, significance, result


def _inference_grid(cfg: Config, inputs: Inputs, high: float):
    from systlab.infer.grid_fit import asimov_at_points, grid_observations
    from systlab.infer.grid_inference import grid_impacts, grid_significance, grid_upper_limit
    from systlab.likelihood.grid_inputs import grid_morph

    grid, per_point = read_grid(inputs)
    observed = grid_observations(cfg, grid, per_point, "asimov")
    background = asimov_at_points(per_point, grid.edges, cfg.signal, mu=0.0)
    interpolation, morph = cfg.grid_interpolation, grid_morph(cfg, grid.np_name)
    t0 = time.perf_counter()
    limit = grid_upper_limit(grid.specs, observed, background, grid.alphas, high, 64.0 * high, interpolation,
                             morph=morph)  # fmt: skip
    _log_limit(limit, t0)
    t1 = time.perf_counter()
    significance = grid_significance(grid.specs, observed, grid.alphas, high, interpolation, morph=morph)
    _log_significance(significance, t1)
    t2 = time.perf_counter()
    result = grid_impacts(grid.specs, observed, grid.alphas, cfg.mu_range, grid.np_name, interpolation, morph=morph)
    _log_impacts(result, t2)
    return limit, significance, result


def _inference_unbinned(cfg: Config, inputs: Inputs, high: float):
    from systlab.infer.unbinned import (
        expectation,
        unbinned_impacts,
        unbinned_significance,
        unbinned_upper_limit,
        with_mu_range,
    )

    model, sets = read_unbinned(inputs)[:2]
    template = sets["template"]
    asimov = expectation(template.tables, template.expected_weights(1.0))
    background = expectation(template.tables, template.expected_weights(0.0))
    t0 = time.perf_counter()
    limit = unbinned_upper_limit(model, asimov, background, high, 64.0 * high)
    _log_limit(limit, t0)
    t1 = time.perf_counter()
    significance = unbinned_significance(model, asimov, high)
    _log_significance(significance, t1)
    t2 = time.perf_counter()
    result = unbinned_impacts(with_mu_range(model, cfg.mu_range), asimov)
    _log_impacts(result, t2)
    return limit, significance, result


def _log_limit(limit, t0: float) -> None:
    log.info("95%% CLs limit: expected %.4f [-1s %.4f, +1s %.4f], observed (Asimov mu = 1) %.4f; %.2f s",
             limit.expected[2], limit.expected[1], limit.expected[3], limit.observed, time.perf_counter() - t0)


def _log_significance(significance, t0: float) -> None:
    log.info("expected Z0 at mu = 1: %.4f (p0 %.3g); %.2f s", significance.z0_expected, significance.p0_expected,
             time.perf_counter() - t0)


def _log_impacts(result, t0: float) -> None:
    log.info("impacts: mu_hat %.4f, top %s; converged %s; %.2f s", result.mu_hat,
             [(r.name, round(r.size, 4)) for r in result.ranking[:3]], result.converged, time.perf_counter() - t0)
