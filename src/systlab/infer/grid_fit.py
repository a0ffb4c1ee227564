"""Fits and toys of a parameterized classifier through its grid-profiled likelihood (:mod:`systlab.likelihood.grid`).

Datasets, each binned at every α_k with f(x; α_k) and that point's edges: ``asimov`` (the nominal-TES
template split at μ = 1: the model's own expectation at α = 0), ``expected_<t>`` (toy-split events of
truth t weighted by their expectation) and ``truth_<t>`` (one event-level Poisson pseudo-experiment of
truth t, :mod:`systlab.infer.event_toys`). Results keep the JSON schema of :func:`systlab.infer.fit.fit_result_payload`
with the grid extras under ``grid``; toys give a :class:`systlab.infer.toys.ToyChunk`.
"""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from systlab.atomic import write_json
from systlab.config import Config
from systlab.events import SPLITS
from systlab.infer.event_toys import (
    TruthEvents,
    binned,
    binned_at_points,
    bootstrapped_multiplicities,
    expected_multiplicities,
    poisson_multiplicities,
    truth_events,
)
from systlab.infer.fit import FitResult, fit_result_payload
from systlab.infer.grid_interval import grid_interval
from systlab.infer.grid_profile import GridProfile, grid_payload, grid_profile, grid_profiles
from systlab.infer.lockstep import LockStep
from systlab.infer.toys import ToyChunk, aux_widths
from systlab.likelihood.grid import GridBatch, GridLikelihood
from systlab.likelihood.grid_inputs import GridWorkspaces, grid_morph
from systlab.likelihood.morph import Morph
from systlab.templates.histograms import NOMINAL, TRUTH_PREFIX

log = logging.getLogger(__name__)

Tables = Mapping[tuple[str, str], pd.DataFrame]


def asimov_at_points(per_point: Sequence[Tables], edges: Sequence[np.ndarray], signal: str,
                     mu: float = 1.0) -> list[np.ndarray]:  # fmt: skip
    """Template-split nominal-TES events at μ binned with each f(x; α_k): the Asimov data of α = 0."""
    out = []
    for tables, e in zip(per_point, edges, strict=True):
        total = np.zeros(len(e) - 1)
        for (process, variation), t in tables.items():
            if variation != NOMINAL:
                continue
            rows = t[t["split"].to_numpy() == SPLITS["template"]]
            scale = mu if process == signal else 1.0
            total += binned(rows["score"].to_numpy(), scale * rows["weight"].to_numpy(dtype=float), e)
        out.append(total)
    return out


def dataset_seed(cfg: Config, dataset: str) -> int:
    """The seed of a dataset's pseudo-experiment (as rule fit seeds fixed classifiers' pseudo-data)."""
    return cfg.seed_stream(dataset)


def grid_observations(cfg: Config, grid: GridWorkspaces, per_point: Sequence[Tables], dataset: str) -> list[np.ndarray]:
    """Observed counts of ``dataset`` at every grid point (see the module docstring)."""
    if dataset == "asimov":
        return asimov_at_points(per_point, grid.edges, cfg.signal)
    kind, _, name = dataset.partition("_")
    truth = next((t for t in cfg.truths if t.name == name), None)
    if truth is None or kind not in ("expected", "truth"):
        raise ValueError(f"unknown dataset {dataset!r} (asimov, expected_<truth>, truth_<truth>)")
    events = truth_events(per_point, TRUTH_PREFIX + name, [cfg.signal])
    expected = expected_multiplicities(events, truth.mu)
    if kind == "truth":
        expected = poisson_multiplicities(expected, np.random.default_rng(dataset_seed(cfg, dataset)))
    return binned_at_points(events, expected, grid.edges)


#: Points of the fine μ scan kept for the likelihood-surface figure (expectation datasets only).
SURFACE_POINTS = 31


def grid_fit(cfg: Config, grid: GridWorkspaces, observed: Sequence[np.ndarray], dataset: str,
             interpolation: str = "cubic", surface: bool = True) -> tuple[FitResult, GridProfile]:  # fmt: skip
    """The α-profiled fit (prior N(0, 1) in σ units; α morphed between grid points as configured) as a FitResult
    and the full grid profile.

    Asimov and expected_* fits also keep a fine (μ, α_k) surface for the figure, unless ``surface`` is False.
    """
    profile = grid_profile(grid.specs, observed, grid.alphas, 0.0, 1.0, cfg.mu_range, cfg.scan_points,
                           interpolation, half_grid=True, surface_points=_surface_points(dataset, surface),
                           morph=grid_morph(cfg, grid.np_name))  # fmt: skip
    return _fit_result(dataset, profile, grid.np_name), profile


def grid_fits(
    cfg: Config, grid: GridWorkspaces, observed: Mapping[str, Sequence[np.ndarray]], interpolation: str = "cubic",
    surface: bool = True,
) -> dict[str, tuple[FitResult, GridProfile]]:
    """:func:`grid_fit` of every dataset of ``observed`` ({dataset: counts per grid point}) at once, in lock step
    (:func:`systlab.infer.grid_profile.grid_profiles`): the same profiles, their fits made in shared batches."""
    names = list(observed)
    profiles = grid_profiles(grid.specs, [observed[d] for d in names], grid.alphas, cfg.mu_range, cfg.scan_points,
                             interpolation, half_grid=True, surface_points=[_surface_points(d, surface) for d in names],
                             morph=grid_morph(cfg, grid.np_name))  # fmt: skip
    return {d: (_fit_result(d, p, grid.np_name), p) for d, p in zip(names, profiles, strict=True)}


def _surface_points(dataset: str, surface: bool) -> int:
    """Fine-scan points of a dataset's profile: Asimov and expected_* keep a surface for the figure if asked."""
    return SURFACE_POINTS if surface and (dataset == "asimov" or dataset.startswith("expected_")) else 0


def _fit_result(dataset: str, profile: GridProfile, np_name: str) -> FitResult:
    lo, hi = profile.interval_68
    pulls = {np_name: (profile.alpha_hat, float("nan")), **profile.pulls}
    return FitResult(
        dataset=dataset,
        mu_hat=profile.mu_hat,
        interval_68=profile.interval_68,
        twice_dnll=(profile.scan_mu, profile.scan_q),
        pulls=pulls,
        converged=profile.converged,
        nll_min=0.5 * profile.twice_nll_min,
        mu_error=0.5 * (hi - lo),  # symmetrised 68% half-width: the grid profile has no Hessian in μ
        interval_open=profile.interval_open,
        notes=profile.notes,
    )


def grid_fit_payload(result: FitResult, profile: GridProfile, np_name: str) -> dict:
    """The fit-result JSON of :func:`systlab.infer.fit.fit_result_payload` plus the grid profile under ``grid``."""
    payload = fit_result_payload(result)
    extras = grid_payload(profile)
    for key in ("interval_68", "interval_open", "converged", "notes", "mu_hat"):
        extras.pop(key)
    extras["np"] = np_name
    extras["alpha_units"] = "sigma"
    extras["nll_min_meaning"] = (
        "half the global minimum over alpha of -2lnL(mu, alpha) with alpha's prior, "
        "saturated data and constraint terms removed"
    )
    payload["grid"] = extras
    return payload


def write_grid_fit(result: FitResult, profile: GridProfile, np_name: str, path) -> None:
    write_json(path, grid_fit_payload(result, profile, np_name))


def toy_auxdata(grid: GridLikelihood, seed: int, index: int) -> list[np.ndarray]:
    """Gaussian auxiliary data of toy ``index`` at every grid point.

    One standard-normal draw per named scalar NP (lumi, normalisations, shape NPs), shared by every grid
    point: it is one auxiliary measurement. The per-bin MC-statistics auxiliary data stay nominal: each
    grid point has its own bins, so there is no one measurement to fluctuate, and independent draws per
    point would add point-to-point noise to the α profile.
    """
    draws: dict[str, float] = {}
    out = []
    for lik in grid.liks:
        config = lik.model.config
        widths, aux, i = aux_widths(lik), lik.auxdata.copy(), 0
        for name in config.auxdata_order:
            n = config.param_set(name).n_parameters
            if n == 1:
                if name not in draws:
                    rng = np.random.default_rng([int(seed), int(index), 1, zlib.crc32(name.encode())])
                    draws[name] = rng.standard_normal()
                aux[i] += widths[i] * draws[name]
            i += n
        out.append(aux)
    return out


#: The toys' interpolation between grid points: a parabola through the lowest point and its neighbours needs
#: fits at ~3-4 grid points per μ instead of all K (the fits use the configured one, cubic by default).
TOY_INTERPOLATION = "quadratic"


def run_grid_toys(grid_ws: GridWorkspaces, events: TruthEvents, mu_true: float | Sequence[float], start: int,
                  stop: int, seed: int, mu_range: tuple[float, float], interpolation: str = TOY_INTERPOLATION,
                  progress_every: int = 10, morph: Morph | None = None, bootstrap: bool = False, alpha0: float = 0.0,
                  observed: Sequence[Sequence[np.ndarray]] | None = None) -> ToyChunk:  # fmt: skip
    """Toys ``start`` … ``stop``−1 through the grid: event-level Poisson data, aux fluctuated, fast interval.

    ``alpha0`` (σ units) centres the grid NP's auxiliary datum: 0 the nominal, the true α for the frequentist toys
    of a truth off nominal (as ``aux_centre`` of :func:`systlab.infer.toys.run_toys`).

    Toy i draws its multiplicities from ``default_rng([seed, i])`` (chunking does not change a toy).
    ``bootstrap`` first reweights every event by Poisson(1) (:func:`bootstrapped_multiplicities`): toys from
    the templates' own events then carry the MC-statistical fluctuation their staterror NPs describe (the
    grid's MC-statistics auxiliary data cannot be fluctuated: each point has its own bins). Every toy runs the
    one-dataset interval (:func:`grid_interval`) on its own view of the grid; all toys run in lock step and the
    fits they ask for are made together, one batch per grid point (:class:`GridBatch`).

    ``observed`` (per toy index, the counts at every grid point, binned from one set of events) replaces the
    event-level draws: toy i fits ``observed[i]`` as it is with the auxiliary data nominal (the FAIR protocol,
    :mod:`systlab.infer.fair_protocol`), ``mu_true`` one value per toy index; ``events`` at the mean true μ then
    only give the warm starts.
    """
    n = stop - start
    if observed is not None and len(observed) < stop:
        raise ValueError(f"observed has {len(observed)} toys, toys up to index {stop - 1} requested")
    mu_arr = np.asarray(mu_true, dtype=float)
    truths = (np.full(n, float(mu_arr)) if mu_arr.ndim == 0 else mu_arr[start:stop]).reshape(n)
    expected = expected_multiplicities(events, float(np.mean(mu_arr)))
    asimov = binned_at_points(events, expected, grid_ws.edges)
    grid = GridLikelihood(grid_ws.specs, asimov, grid_ws.alphas, alpha0, 1.0, mu_range, morph=morph)
    warm = grid.warm_starts()
    centre = [grid.centre]  # toys fit one MLE, at the prior's centre; the rest warm-start
    t0 = time.perf_counter()
    if observed is not None:
        nominal_aux = [lik.auxdata.copy() for lik in grid.liks]
        observed, auxdata = [list(observed[i]) for i in range(start, stop)], [nominal_aux] * n
    else:
        observed, auxdata = [], []
        for index in range(start, stop):
            rng = np.random.default_rng([int(seed), int(index)])
            counts = bootstrapped_multiplicities(expected, rng) if bootstrap else poisson_multiplicities(expected, rng)
            observed.append(binned_at_points(events, counts, grid_ws.edges))
            auxdata.append(toy_auxdata(grid, seed, index))
    batch = GridBatch(grid, observed, auxdata, warm)
    step = LockStep(batch.answer)

    def one(j: int):
        toy = grid.view()
        toy.batch = lambda requests: step.request_many([(j, *r) for r in requests])
        toy.set_data(observed[j], auxdata[j], warm, centre)
        return grid_interval(toy, interpolation, mu=float(truths[j]))

    found = step.run(one, range(n))
    seconds = time.perf_counter() - t0
    if progress_every:
        log.info("grid toys %d-%d: %.3f s/toy, %d rounds of batched fits", start, stop, seconds / max(n, 1),
                 step.rounds)  # fmt: skip
    arrays = {k: np.array([getattr(f, k) for f in found], dtype=float).reshape(n) for k in ("mu_hat", "q_mu")}
    ends = np.array([f.interval_68 for f in found], dtype=float).reshape(n, 2)
    opens = np.array([f.interval_open for f in found], dtype=bool).reshape(n, 2)
    return ToyChunk(start, stop, int(seed), truths, arrays["mu_hat"], ends[:, 0], ends[:, 1],
                    np.array([f.converged for f in found], dtype=bool).reshape(n), opens[:, 0], opens[:, 1],
                    np.array([f.n_fits for f in found], dtype=int).reshape(n), seconds,
                    q_mu_true=arrays["q_mu"])  # fmt: skip
