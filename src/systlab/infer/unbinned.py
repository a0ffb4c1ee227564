"""Fits, toys, CLs limit, Z0 and impacts of the unbinned learned likelihood (:mod:`systlab.likelihood.unbinned`).

Every number comes from the code the binned models use: the MLE and both 68 % crossings of many datasets at once
from :func:`systlab.infer.intervals.profile_intervals` (the batched toys' engine), the limits, Z0 and impacts from
:func:`systlab.infer.limits.profile_upper_limit`, :func:`systlab.infer.significance.profile_significance` and
:func:`systlab.infer.impacts.profile_impacts` through :class:`systlab.likelihood.unbinned.UnbinnedProfileLikelihood`.
What is the unbinned route's own: datasets are weighted event lists (an expectation: every event with its expected
weight; a toy: Poisson multiplicities), and there are no MC-statistics nuisances (the per-event ratios are learned,
not histogrammed; their training noise shows as the replica spread).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence

import numpy as np

from systlab.infer.crossing import Q_TOL
from systlab.infer.fit import Q_STOP, FitResult
from systlab.infer.impacts import OVER_CONSTRAINT, Impacts, profile_impacts
from systlab.infer.intervals import profile_intervals
from systlab.infer.limits import UpperLimit, limit_in_range, profile_upper_limit
from systlab.infer.significance import Significance, profile_significance
from systlab.infer.toys import ToyChunk, concatenate
from systlab.likelihood.unbinned import (
    EventTables,
    UnbinnedBatch,
    UnbinnedData,
    UnbinnedModel,
    UnbinnedProfileLikelihood,
)

#: Toys fitted together (bounds the memory of their event tables; the fit runs dataset by dataset anyway).
TOY_BATCH = 250


def expectation(tables: EventTables, weights: np.ndarray, aux: np.ndarray | None = None) -> UnbinnedData:
    """One dataset: every event with its (expected) weight; auxiliary data nominal unless given."""
    k = tables.fractions.shape[0]
    aux = np.zeros((1, 0)) if aux is None else np.atleast_2d(aux)
    return UnbinnedData(tables, np.asarray(weights, dtype=float), np.array([0, k]), aux)


def _with_aux(model: UnbinnedModel, data: UnbinnedData) -> UnbinnedData:
    if data.aux.shape[1] == model.npars - 1:
        return data
    return data._replace(aux=np.broadcast_to(model.auxdata, (data.n_datasets, model.npars - 1)).copy())


def fit_events(model: UnbinnedModel, data: UnbinnedData, dataset: str, scan_points: int) -> FitResult:
    """The MLE, 68 % interval, pulls and a −2ΔlnL scan (for the figures; each side stops past ``Q_STOP``) of one
    weighted event list, as a :class:`systlab.infer.fit.FitResult`. Where the scan finds a point below the MLE, the
    fit starts once more from that point's parameters (μ free): the Newton from the nominal start can stop in a
    local minimum (the tiny run's MC-starved unbinned model on its +1σ truth did, 449 units of −2lnL above the
    global one)."""
    data = _with_aux(model, data)
    batch = UnbinnedBatch(model, data)
    found, profile, grid, q = _fit_and_scan(batch, model.init, scan_points)
    restarted = None
    if np.nanmin(q, initial=0.0) < -10 * Q_TOL:
        j = int(np.nanargmin(q))
        restarted = float(grid[j])
        found, profile, grid, q = _fit_and_scan(batch, profile.fits[restarted].pars[0], scan_points)
    best = profile.minimum()
    notes = list(profile.notes)
    if restarted is not None:
        notes.append(f"the MLE from the nominal start was a local minimum: refitted from the scan's point at mu = "
                     f"{restarted:g}")  # fmt: skip
    if found.fallback[0]:
        notes.append("the batched interval search did not converge")
    if np.nanmin(q, initial=0.0) < -10 * Q_TOL:
        notes.append(f"scan found a point {-np.nanmin(q):.3g} below the MLE: minimum not global")
    opens = (bool(found.open_lo[0]), bool(found.open_hi[0]))
    for end, flag in zip(("lower", "upper"), opens, strict=True):
        if flag:
            notes.append(f"{end} 68% crossing outside mu_range {list(map(float, model.mu_range))}: interval open")
    pulls = {model.names[j]: (float(best.pars[0, j]), float(best.errors[0, j])) for j in model.constrained}
    return FitResult(
        dataset=dataset, mu_hat=float(found.mu_hat[0]), interval_68=(float(found.lo[0]), float(found.hi[0])),
        twice_dnll=(grid, q), pulls=pulls,
        converged=bool(best.converged[0] and not found.fallback[0] and profile.converged),
        nll_min=0.5 * float(best.twice_nll[0]), mu_error=float(best.errors[0, 0]), interval_open=opens,
        notes=tuple(dict.fromkeys(notes)),
    )  # fmt: skip


def _fit_and_scan(batch: UnbinnedBatch, start: np.ndarray, scan_points: int):
    """The batched MLE and interval of dataset 0 from ``start``, its profile and the −2ΔlnL scan outwards from μ̂."""
    model = batch.model
    found = profile_intervals(batch, start)
    profile = UnbinnedProfileLikelihood(batch, start=start)
    best = profile.minimum()
    grid = np.linspace(*map(float, model.mu_range), int(scan_points))
    q = np.full(grid.size, np.nan)
    mu_hat = float(found.mu_hat[0])
    for side in (grid >= mu_hat, grid < mu_hat):
        order = np.flatnonzero(side)[:: 1 if side[-1] else -1]
        for j in order:  # outwards from μ̂, each fit warm-started from its neighbour (the profile keeps them)
            q[j] = profile.profiled(grid[j]) - float(best.twice_nll[0])
            if q[j] > Q_STOP:
                break
    return found, profile, grid, q


def run_unbinned_toys(model: UnbinnedModel, tables: EventTables, weights: np.ndarray, mu_true: float, start: int,
                      stop: int, seed: int, aux_centre: np.ndarray | None = None) -> ToyChunk:  # fmt: skip
    """Toys ``start`` … ``stop``−1 of one event pool at its expected ``weights`` (μ = ``mu_true``): each draws
    Poisson multiplicities per event and its auxiliary data from N(``aux_centre``, 1) (default nominal) from
    ``default_rng([seed, i])``, so chunking does not change a toy; fitted :data:`TOY_BATCH` at a time (the toys'
    event tables are copies: 1,000 default toys hold ~1.3 GB of them)."""
    t0 = time.perf_counter()
    centre = model.auxdata if aux_centre is None else np.asarray(aux_centre, dtype=float)
    chunks = []
    for first in range(start, stop, TOY_BATCH) or [start]:  # no toys: one empty chunk
        last = min(first + TOY_BATCH, stop)
        index, counts, aux = [], [], np.zeros((last - first, centre.size))
        for j, toy in enumerate(range(first, last)):
            rng = np.random.default_rng([int(seed), int(toy)])
            drawn = rng.poisson(weights)
            aux[j] = rng.normal(centre, 1.0)
            index.append(np.flatnonzero(drawn))
            counts.append(drawn[index[-1]])
        data = UnbinnedData.from_events(tables, index, counts, aux)
        chunks.append(fit_unbinned_datasets(model, data, np.full(last - first, float(mu_true)), first, seed, t0))
        t0 = time.perf_counter()
    return concatenate(chunks)


def fit_unbinned_datasets(model: UnbinnedModel, data: UnbinnedData, mu_true: np.ndarray, start: int, seed: int,
                          t0: float) -> ToyChunk:  # fmt: skip
    """Every dataset of ``data`` fitted at once (MLE, 68 % interval, q_μ at its ``mu_true``) as the toys
    ``start`` … of a :class:`systlab.infer.toys.ToyChunk`; ``t0``: when the work began (its seconds)."""
    mu_true = np.asarray(mu_true, dtype=float)
    n = len(mu_true)
    found = profile_intervals(UnbinnedBatch(model, data), model.init, mu=mu_true)
    ok = ~found.fallback
    nan = np.where(ok, 1.0, np.nan)
    # datasets the batch could not decide are reported as not converged (there is no one-toy path to fall back to)
    return ToyChunk(start, start + n, int(seed), mu_true, found.mu_hat * nan, found.lo * nan, found.hi * nan, ok,
                    found.open_lo & ok, found.open_hi & ok, found.n_fits, time.perf_counter() - t0,
                    found.q_mu * nan, 0)  # fmt: skip


def with_mu_range(model: UnbinnedModel, mu_range: Sequence[float]) -> UnbinnedModel:
    """``model`` with μ bounded to ``mu_range`` (the config's, or a limit's scan range)."""
    return dataclasses.replace(model, mu_range=(float(mu_range[0]), float(mu_range[1])))


def unbinned_upper_limit(model: UnbinnedModel, observed: UnbinnedData, background: UnbinnedData, high: float,
                         max_high: float, cl: float = 0.95) -> UpperLimit:  # fmt: skip
    """Asymptotic CLs limit on μ; ``background``: the background-only Asimov events (μ = 0, NPs nominal); the upper
    μ bound doubles from ``high`` while a limit sits at it."""

    def limit_at(hi: float) -> UpperLimit:
        m = with_mu_range(model, (0.0, hi))
        data = UnbinnedProfileLikelihood(UnbinnedBatch(m, _with_aux(m, observed)))
        asimov = UnbinnedProfileLikelihood(UnbinnedBatch(m, _with_aux(m, background)), minimum_at=0.0)
        return profile_upper_limit(data, asimov, cl)

    return limit_in_range(limit_at, high, max_high)


def unbinned_significance(model: UnbinnedModel, observed: UnbinnedData, high: float) -> Significance:
    """q0, p0, Z0 of ``observed`` (the μ = 1 Asimov events: observed and expected are the same number)."""
    m = with_mu_range(model, (0.0, high))
    return profile_significance(UnbinnedProfileLikelihood(UnbinnedBatch(m, _with_aux(m, observed))))


def unbinned_impacts(model: UnbinnedModel, observed: UnbinnedData,
                     over_constraint: float = OVER_CONSTRAINT) -> Impacts:  # fmt: skip
    """Pulls, constraints and the impact ranking on μ̂ (θ̂ and σ_post from the exact Hessian at the MLE)."""
    return profile_impacts(UnbinnedProfileLikelihood(UnbinnedBatch(model, _with_aux(model, observed))),
                           over_constraint)  # fmt: skip
