"""Profile-likelihood fits of μ on the binned likelihood: MLE, pulls, −2ΔlnL scan, 68% interval, result files.

Every fit that fails is retried from other start points; what still fails is flagged in the
result (``converged`` false, ``notes``), never dropped.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyhf
import scipy.optimize

from systlab.atomic import write_json
from systlab.infer.crossing import MAX_CROSSING_FITS, Q_CAP, XTOL, CrossingSearch
from systlab.likelihood.binned import Likelihood, Minimum
from systlab.likelihood.workspace import workspace_model
from systlab.templates.histograms import TRUTH_PREFIX, Templates, counts

#: A profile scan walks outwards from μ̂ and stops after the first point this far above the minimum (5σ).
Q_STOP = 25.0
#: A scan point lower than the MLE minimum by more than this (in −2lnL) triggers a refit.
NLL_SLACK = 1e-4


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


def fit_dataset(
    workspace_spec: dict,
    observed_counts: Sequence[float],
    mu_range: tuple[float, float],
    scan_points: int,
    dataset_name: str,
    histosys_code: str = "code4p",
) -> FitResult:
    """MLE with pulls, the 68% profile interval (crossings found directly) and a −2ΔlnL scan for figures
    (``histosys_code``: the workspace's histosys interpolation, :data:`systlab.likelihood.workspace.HISTOSYS_CODES`)."""
    lik = Likelihood(workspace_spec, observed_counts, mu_range, histosys_code)
    notes: list[str] = []
    found = profile_interval(lik, notes=notes, hesse=True)
    best = found.best
    mu_grid = np.linspace(float(mu_range[0]), float(mu_range[1]), int(scan_points))
    scan = scan_likelihood(lik, mu_grid, best, notes)
    q = np.array([np.nan if r is None else r.twice_nll for r in scan]) - best.twice_nll
    if np.nanmin(q, initial=0.0) < -10 * NLL_SLACK:
        notes.append(f"scan found a point {-np.nanmin(q):.3g} below the MLE: minimum not global")
    for end, flag in zip(("lower", "upper"), found.interval_open, strict=True):
        if flag:
            notes.append(f"{end} 68% crossing outside mu_range {list(map(float, mu_range))}: interval open")
    scan_ok = all(r.converged for r in scan if r is not None) and not np.nanmin(q, initial=0.0) < -10 * NLL_SLACK
    converged = found.converged and scan_ok
    return FitResult(
        dataset=dataset_name,
        mu_hat=found.mu_hat,
        interval_68=found.interval_68,
        twice_dnll=(mu_grid, q),
        pulls=pulls(lik.model, best),
        converged=bool(converged),
        nll_min=0.5 * best.twice_nll,
        mu_error=float(best.errors[lik.poi]),
        interval_open=found.interval_open,
        notes=tuple(dict.fromkeys(notes)),
    )


def scan_likelihood(lik: Likelihood, mu_grid: np.ndarray, best: Minimum, notes: list[str]) -> list[Minimum | None]:
    """Conditional fits on ``mu_grid``, walking outwards from μ̂ so each starts from its neighbour's NPs; a side stops
    after the first point more than ``Q_STOP`` above the MLE (None beyond: far out, where a figure never looks, the
    fits end at parameter bounds and take MINUIT)."""
    mu_hat = best.pars[lik.poi]
    scan: list[Minimum | None] = [None] * len(mu_grid)
    for side in (np.flatnonzero(mu_grid < mu_hat)[::-1], np.flatnonzero(mu_grid >= mu_hat)):
        start = best.pars
        for i in side:
            scan[i] = lik.fixed_mu(float(mu_grid[i]), start, notes)
            start = scan[i].pars if np.isfinite(scan[i].twice_nll) else start
            if scan[i].twice_nll - best.twice_nll > Q_STOP:
                break
    return scan


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




class LowerMinimum(Exception):
    """A conditional fit went below the MLE: refit the MLE from its parameters."""

    def __init__(self, fit: Minimum) -> None:
        super().__init__(f"conditional fit below the MLE (-2lnL {fit.twice_nll:.6g})")
        self.fit = fit


class Interval(NamedTuple):
    """μ̂ and the 68% profile interval from the crossing search (no scan)."""

    mu_hat: float
    interval_68: tuple[float, float]
    interval_open: tuple[bool, bool]
    converged: bool
    n_fits: int
    best: Minimum
    notes: tuple[str, ...] = ()


def find_crossing(lik: Likelihood, best: Minimum, side: int, notes: list[str]) -> tuple[float, bool, int, bool]:
    """The μ on ``side`` (−1/+1) of μ̂ where the profile −2ΔlnL = 1 (:class:`CrossingSearch` on fixed-μ fits).

    Fixed-μ fits start from the nearest previous fit below the crossing on the same side. Returns
    (μ, open, n_fits, converged); ``open`` means no crossing before the μ bound (μ = the bound).
    """
    mu_hat = float(best.pars[lik.poi])
    edge = lik.mu_range[0] if side < 0 else lik.mu_range[1]
    sigma = float(best.errors[lik.poi])
    if not (np.isfinite(sigma) and sigma > 0):
        sigma = 0.1 * (lik.mu_range[1] - lik.mu_range[0])
    search = CrossingSearch(mu_hat, sigma, side, edge, max_evals=MAX_CROSSING_FITS)
    start, converged = best.pars, True
    while True:
        index, mu = search.trials()
        if not index.size:
            break
        fit = lik.fixed_mu(float(mu[0]), start, notes)
        converged &= fit.converged
        q = fit.twice_nll - best.twice_nll
        if q < -10 * NLL_SLACK:  # the conditional fit found a lower minimum: μ̂ is not the global one
            raise LowerMinimum(fit)
        if search.update(index, np.array([q]))[0]:
            start = fit.pars
    if not search.converged[0]:
        notes.append(f"{'lower' if side < 0 else 'upper'} crossing: no convergence in {MAX_CROSSING_FITS} fits")
    return float(search.mu[0]), bool(search.open[0]), int(search.n_evals[0]), bool(converged and search.converged[0])


def profile_interval(
    lik: Likelihood, start: np.ndarray | None = None, notes: list[str] | None = None, hesse: bool = False
) -> Interval:
    """μ̂ and the 68% profile-likelihood interval of the likelihood's current data (HESSE optional)."""
    notes = [] if notes is None else notes
    best = lik.mle(start, notes, hesse=hesse)
    n_fits = 1
    for attempt in range(3):
        ends, opens, ok_all = [], [], True
        try:
            for side in (-1, +1):
                mu, open_, n, ok = find_crossing(lik, best, side, notes)
                ends.append(mu)
                opens.append(open_)
                n_fits += n
                ok_all &= ok
            break
        except LowerMinimum as lower:
            notes.append(f"MLE above a conditional fit by {best.twice_nll - lower.fit.twice_nll:.3g}; refitted from it")
            refit = lik.mle(lower.fit.pars, notes, hesse=hesse)
            n_fits += 1
            best = refit if refit.twice_nll < best.twice_nll else lower.fit._replace(errors=best.errors)
            if attempt == 2:
                raise
    best = best._replace(converged=best.converged and ok_all)
    failed = any("did not converge" in n or "no convergence" in n for n in notes)
    return Interval(
        mu_hat=float(best.pars[lik.poi]),
        interval_68=(ends[0], ends[1]),
        interval_open=(opens[0], opens[1]),
        converged=bool(best.converged and not failed and np.isfinite(best.twice_nll)),
        n_fits=n_fits,
        best=best,
        notes=tuple(notes),
    )
