"""Profile-likelihood fits of μ with pyhf (numpy backend, MINUIT): MLE, pulls, −2ΔlnL scan, 68% interval.

Every fit that fails is retried from other start points; what still fails is flagged in the
result (``converged`` false, ``notes``), never dropped.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyhf
import scipy.optimize

from systlab.atomic import write_json
from systlab.templates import TRUTH_PREFIX, Templates, counts
from systlab.workspace import workspace_model

#: MINUIT tolerance (EDM goal 0.002·tol): tight enough for μ̂ to 1e-4 σ on smooth profiles.
TOLERANCE = 0.01
#: A scan point lower than the MLE minimum by more than this (in −2lnL) triggers a refit.
NLL_SLACK = 1e-4
#: Root-finder tolerance on the μ of a 68% interval end.
XTOL = 1e-5
#: Stand-in for −2ΔlnL where the model is undefined, while root finding.
Q_CAP = 1e3


class FitResult(NamedTuple):
    """One dataset's fit: μ̂, 68% interval, −2ΔlnL scan, pulls (θ̂ − θ0)/σ and post/prior width, status."""

    dataset: str
    mu_hat: float
    interval_68: tuple[float, float]  # an open end (crossing outside mu_range) is the range edge
    twice_dnll: tuple[np.ndarray, np.ndarray]  # (mu values, −2ΔlnL values; NaN where the model is undefined)
    pulls: dict[str, tuple[float, float]]  # constrained NP -> (pull, post-fit error / prior width)
    converged: bool
    nll_min: float  # −lnL at the MLE (full pyhf likelihood, constraint terms included)
    mu_error: float = float("nan")  # HESSE error on μ̂
    interval_open: tuple[bool, bool] = (False, False)  # (lower, upper) crossing outside mu_range
    notes: tuple[str, ...] = ()  # retries, non-convergence and refits, in order


class Minimum(NamedTuple):
    """One minimisation: all parameters, their HESSE errors, −2lnL and MINUIT's validity."""

    pars: np.ndarray
    errors: np.ndarray
    twice_nll: float
    converged: bool


class Problem(NamedTuple):
    """A model, its data (main + auxiliary) and the fit settings shared by every minimisation."""

    model: pyhf.pdf.Model
    data: np.ndarray
    init: np.ndarray
    bounds: list[tuple[float, float]]
    fixed: list[bool]


def use_minuit() -> None:
    """Select pyhf's numpy backend and MINUIT optimiser (pyhf keeps this as global state)."""
    pyhf.set_backend("numpy", pyhf.optimize.minuit_optimizer(tolerance=TOLERANCE))


def make_problem(
    workspace_spec: dict, observed_counts: Sequence[float], mu_range: tuple[float, float]
) -> Problem:
    """The model of ``workspace_spec`` with ``observed_counts`` as main data and μ bounded to ``mu_range``."""
    model = workspace_model(workspace_spec)
    observed = np.asarray(observed_counts, dtype=float)
    if observed.shape != (model.config.nmaindata,):
        raise ValueError(
            f"observed counts have shape {observed.shape}, model expects ({model.config.nmaindata},)"
        )
    lo, hi = map(float, mu_range)
    if not lo < hi:
        raise ValueError(f"mu_range {mu_range} is empty")
    poi = model.config.poi_index
    bounds = [tuple(map(float, b)) for b in model.config.suggested_bounds()]
    bounds[poi] = (lo, hi)
    init = np.asarray(model.config.suggested_init(), dtype=float)
    init[poi] = min(max(init[poi], lo), hi)
    data = np.concatenate([observed, np.asarray(model.config.auxdata, dtype=float)])
    return Problem(model, data, init, bounds, list(model.config.suggested_fixed()))


def twice_nll_at(problem: Problem, pars: np.ndarray) -> float:
    """−2lnL at ``pars``; NaN where the model is undefined (a negative expected count)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        value = float(-2.0 * problem.model.logpdf(pars, problem.data)[0])
    return value if np.isfinite(value) else float("nan")


@contextmanager
def quiet_pyhf_failures() -> Iterator[None]:
    """Silence pyhf's error log of a failed minimisation: failures are retried and recorded in the notes."""
    logger = logging.getLogger("pyhf.optimize.mixins")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def minimise_once(problem: Problem, start: np.ndarray, fixed: list[bool], strategy: int) -> Minimum:
    """One MINUIT minimisation of −2lnL from ``start``; a failed one returns MINUIT's last state, flagged."""
    if all(fixed):  # nothing to float (e.g. a scan point of a model without NPs)
        return Minimum(start.copy(), np.zeros_like(start), twice_nll_at(problem, start), True)
    try:
        with quiet_pyhf_failures(), np.errstate(invalid="ignore", divide="ignore"):
            pars, twice_nll = pyhf.infer.mle.fit(
                problem.data, problem.model, init_pars=start.tolist(), par_bounds=problem.bounds,
                fixed_params=fixed, return_uncertainties=True, return_fitted_val=True, strategy=strategy,
            )  # fmt: skip
    except pyhf.exceptions.FailedMinimization as failure:
        minuit = failure.result.minuit
        return Minimum(np.asarray(minuit.values), np.asarray(minuit.errors), float(minuit.fval), False)
    return Minimum(np.asarray(pars[:, 0]), np.asarray(pars[:, 1]), float(twice_nll), True)


def start_points(problem: Problem, start: np.ndarray, fixed: list[bool]) -> list[np.ndarray]:
    """``start``, then the model's suggested init, then μ at the middle and quarter points of its range."""
    poi = problem.model.config.poi_index
    lo, hi = problem.bounds[poi]
    starts = [start, problem.init]
    if not fixed[poi]:
        for mu in (0.5 * (lo + hi), lo + 0.25 * (hi - lo), lo + 0.75 * (hi - lo)):
            starts.append(np.where(np.arange(len(start)) == poi, mu, problem.init))
    else:  # keep the fixed μ, restart the NPs
        starts[1] = np.where(np.arange(len(start)) == poi, start[poi], problem.init)
    unique = [s for k, s in enumerate(starts) if not any(np.array_equal(s, t) for t in starts[:k])]
    return [np.asarray(s, dtype=float) for s in unique]


def minimise(problem: Problem, start: np.ndarray, fixed: list[bool], notes: list[str], what: str) -> Minimum:
    """Minimise with retries (other start points, then MINUIT strategy 2); the best failure if all fail."""
    starts = start_points(problem, start, fixed)
    if all(np.isnan(twice_nll_at(problem, s)) for s in starts):
        notes.append(f"{what}: undefined (negative expected counts at every start point)")
        return Minimum(np.asarray(start, float), np.full(len(start), np.nan), float("nan"), True)
    attempts = [(s, 1) for s in starts]
    attempts.append((starts[-1], 2))
    failures = []
    for k, (s, strategy) in enumerate(attempts):
        result = minimise_once(problem, np.asarray(s, dtype=float), fixed, strategy)
        if result.converged:
            if k:
                notes.append(f"{what}: converged on attempt {k + 1} of {len(attempts)}")
            return result
        failures.append(result)
    notes.append(f"{what}: did not converge after {len(attempts)} attempts; best invalid minimum kept")
    return min(failures, key=lambda r: np.nan_to_num(r.twice_nll, nan=np.inf))


def fit_mle(problem: Problem, notes: list[str], start: np.ndarray | None = None) -> Minimum:
    """The unconditional MLE (μ and all NPs floating)."""
    return minimise(problem, problem.init if start is None else start, problem.fixed, notes, "MLE")


def fit_fixed_mu(problem: Problem, mu: float, start: np.ndarray, notes: list[str]) -> Minimum:
    """The conditional fit at fixed μ (pyhf's fixed_poi_fit), starting the NPs from ``start``."""
    poi = problem.model.config.poi_index
    fixed = list(problem.fixed)
    fixed[poi] = True
    start = np.where(np.arange(len(start)) == poi, mu, start)
    return minimise(problem, start, fixed, notes, f"fixed mu={mu:.6g}")


def pulls(model: pyhf.pdf.Model, best: Minimum) -> dict[str, tuple[float, float]]:
    """(θ̂ − θ0)/σ_prior and post-fit error/σ_prior per floating constrained NP (``name[i]`` per bin)."""
    fixed = model.config.suggested_fixed()
    out = {}
    for name in model.config.par_order:
        pset = model.config.param_set(name)
        if name == model.config.poi_name or not pset.constrained:
            continue
        idx = np.arange(model.config.npars)[model.config.par_slice(name)]
        widths, centres = np.asarray(pset.width(), float), np.asarray(pset.auxdata, float)
        for i, (j, width, centre) in enumerate(zip(idx, widths, centres, strict=True)):
            if fixed[j] or not width > 0:
                continue
            label = name if pset.n_parameters == 1 else f"{name}[{i}]"
            out[label] = (float((best.pars[j] - centre) / width), float(best.errors[j] / width))
    return out


def bracket_side(mu: np.ndarray, q: np.ndarray, mu_hat: float, side: int) -> tuple[float, float] | None:
    """(outer, inner) scan μ bracketing the q = 1 crossing nearest μ̂ on ``side`` (−1 or +1), or None."""
    order = np.flatnonzero(mu < mu_hat)[::-1] if side < 0 else np.flatnonzero(mu > mu_hat)
    inner = mu_hat
    for i in order:
        if not q[i] < 1.0:  # an undefined (NaN) point counts as excluded
            return float(mu[i]), float(inner)
        inner = mu[i]
    return None


def refine_crossing(profile: Callable[[float], float], outer: float, inner: float) -> float:
    """The μ where the profile −2ΔlnL crosses 1 between ``outer`` (≥ 1) and ``inner`` (< 1).

    Starts from linear interpolation to narrow the bracket, then Brent's method on the profile itself;
    undefined points (NaN) count as Q_CAP so the root finder stays in the defined region.
    """

    def capped(m: float) -> float:
        return min(float(np.nan_to_num(profile(m), nan=Q_CAP)), Q_CAP)

    q_out, q_in = capped(outer), capped(inner)
    if q_out < 1.0 or q_in >= 1.0:  # refits moved the profile: fall back to interpolation
        return float(outer + (1.0 - q_out) * (inner - outer) / (q_in - q_out))
    guess = outer + (1.0 - q_out) * (inner - outer) / (q_in - q_out)
    q_guess = capped(guess)
    outer, inner = (guess, inner) if q_guess >= 1.0 else (outer, guess)
    return float(scipy.optimize.brentq(lambda m: capped(m) - 1.0, outer, inner, xtol=XTOL))


def interval_68(
    mu: np.ndarray,
    q: np.ndarray,
    mu_hat: float,
    mu_range: tuple[float, float],
    profile: Callable[[float], float],
) -> tuple[tuple[float, float], tuple[bool, bool]]:
    """The 68% interval from the −2ΔlnL = 1 crossings; an end without a crossing in ``mu_range`` is open."""
    ends, open_ = [], []
    for side, edge in ((-1, mu_range[0]), (+1, mu_range[1])):
        bracket = bracket_side(mu, q, mu_hat, side)
        ends.append(float(edge) if bracket is None else refine_crossing(profile, *bracket))
        open_.append(bracket is None)
    return (ends[0], ends[1]), (open_[0], open_[1])


def scan_profile(problem: Problem, mu_grid: np.ndarray, best: Minimum, notes: list[str]) -> list[Minimum]:
    """Conditional fits on ``mu_grid``, walking outwards from μ̂ so each starts from its neighbour's NPs."""
    mu_hat = best.pars[problem.model.config.poi_index]
    scan: list[Minimum | None] = [None] * len(mu_grid)
    for side in (np.flatnonzero(mu_grid < mu_hat)[::-1], np.flatnonzero(mu_grid >= mu_hat)):
        start = best.pars
        for i in side:
            scan[i] = fit_fixed_mu(problem, float(mu_grid[i]), start, notes)
            start = scan[i].pars if np.isfinite(scan[i].twice_nll) else start
    return scan


def fit_dataset(
    workspace_spec: dict,
    observed_counts: Sequence[float],
    mu_range: tuple[float, float],
    scan_points: int,
    dataset_name: str,
) -> FitResult:
    """MLE with pulls, a profile scan of −2ΔlnL over ``mu_range`` and the 68% interval of one dataset."""
    use_minuit()
    problem = make_problem(workspace_spec, observed_counts, mu_range)
    notes: list[str] = []
    best = fit_mle(problem, notes)
    mu_grid = np.linspace(float(mu_range[0]), float(mu_range[1]), int(scan_points))
    scan = scan_profile(problem, mu_grid, best, notes)
    lowest = min(scan, key=lambda r: np.nan_to_num(r.twice_nll, nan=np.inf))
    if lowest.twice_nll < best.twice_nll - NLL_SLACK:
        notes.append(f"MLE above scan minimum by {best.twice_nll - lowest.twice_nll:.3g}; refitted from it")
        refit = fit_mle(problem, notes, start=lowest.pars)
        best = refit if refit.twice_nll < best.twice_nll else best
    poi = problem.model.config.poi_index
    mu_hat = float(best.pars[poi])
    q = np.array([r.twice_nll for r in scan]) - best.twice_nll
    cache: dict[float, float] = {mu_hat: 0.0}

    def profile(m: float) -> float:
        if m not in cache:
            cache[m] = fit_fixed_mu(problem, m, best.pars, notes).twice_nll - best.twice_nll
        return cache[m]

    cache.update(zip(mu_grid.tolist(), q.tolist(), strict=True))
    interval, open_ = interval_68(mu_grid, q, mu_hat, (mu_grid[0], mu_grid[-1]), profile)
    for end, flag in zip(("lower", "upper"), open_, strict=True):
        if flag:
            notes.append(f"{end} 68% crossing outside mu_range {list(map(float, mu_range))}: interval open")
    failed = any("did not converge" in n for n in notes) or not np.isfinite(best.twice_nll)
    converged = best.converged and all(r.converged for r in scan) and not failed
    return FitResult(
        dataset=dataset_name,
        mu_hat=mu_hat,
        interval_68=interval,
        twice_dnll=(mu_grid, q),
        pulls=pulls(problem.model, best),
        converged=bool(converged),
        nll_min=0.5 * best.twice_nll,
        mu_error=float(best.errors[poi]),
        interval_open=open_,
        notes=tuple(notes),
    )


def asimov_counts(workspace_spec: dict) -> np.ndarray:
    """Expected main-channel counts at the suggested init (μ = 1, NPs nominal): the Asimov dataset."""
    model = workspace_model(workspace_spec)
    return np.asarray(model.expected_actualdata(model.config.suggested_init()), dtype=float)


def truth_variation(templates: Templates, truth_name: str) -> str:
    """The toy-split variation of a truth: ``truth_name`` itself if present, else ``truth_<truth_name>``."""
    have = list(templates.splits["toy"].axes["variation"])
    for name in (truth_name, TRUTH_PREFIX + truth_name):
        if name in have:
            return name
    raise KeyError(f"no pseudo-data truth {truth_name!r} in toy-split templates (have {have})")


def pseudo_data_counts(
    templates: Templates, truth_name: str, mu: float, seed: int, signal: Sequence[str] | str | None = None
) -> np.ndarray:
    """A Poisson draw (seeded numpy Generator) of the toy-split expectation of a truth, signal scaled by μ."""
    variation = truth_variation(templates, truth_name)
    signals = (signal,) if isinstance(signal, str) else tuple(signal or templates.signal)
    if not signals:
        raise ValueError("no signal process known: pass signal= or build templates with labelled events")
    processes = list(templates.splits["toy"].axes["process"])
    expected = sum((mu if p in signals else 1.0) * counts(templates, p, variation, "toy") for p in processes)
    return np.random.default_rng(seed).poisson(np.clip(expected, 0.0, None)).astype(float)


def json_float(x: float) -> float | None:
    """``x`` as a float, or None (JSON null) where it is NaN/inf, e.g. an undefined scan point."""
    return float(x) if np.isfinite(x) else None


def from_json_float(x: float | None) -> float:
    """Inverse of :func:`json_float`: null back to NaN."""
    return float("nan") if x is None else float(x)


def fit_result_payload(result: FitResult) -> dict:
    """The JSON-ready form of a fit result; undefined scan points and errors are null."""
    mu, q = result.twice_dnll
    return {
        "dataset": result.dataset,
        "mu_hat": result.mu_hat,
        "mu_error": json_float(result.mu_error),
        "interval_68": list(result.interval_68),
        "interval_open": list(result.interval_open),
        "scan": {"mu": np.asarray(mu, float).tolist(), "twice_dnll": [json_float(v) for v in q]},
        "pulls": {
            name: {"value": json_float(v), "error": json_float(e)} for name, (v, e) in result.pulls.items()
        },
        "converged": result.converged,
        "nll_min": json_float(result.nll_min),
        "notes": list(result.notes),
    }


def write_fit_result(result: FitResult, path: str | os.PathLike) -> None:
    """Write a fit result as sorted-key JSON, atomically."""
    write_json(path, fit_result_payload(result))


def read_fit_result(path: str | os.PathLike) -> FitResult:
    """Read a fit result written by :func:`write_fit_result`."""
    p = json.loads(Path(path).read_text())
    return FitResult(
        dataset=p["dataset"],
        mu_hat=p["mu_hat"],
        interval_68=tuple(p["interval_68"]),
        twice_dnll=(
            np.asarray(p["scan"]["mu"]),
            np.array([from_json_float(v) for v in p["scan"]["twice_dnll"]]),
        ),
        pulls={k: (from_json_float(v["value"]), from_json_float(v["error"])) for k, v in p["pulls"].items()},
        converged=p["converged"],
        nll_min=from_json_float(p["nll_min"]),
        mu_error=from_json_float(p["mu_error"]),
        interval_open=tuple(p["interval_open"]),
        notes=tuple(p["notes"]),
    )
