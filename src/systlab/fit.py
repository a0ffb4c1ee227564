"""Profile-likelihood fits of μ with pyhf (numpy backend, MINUIT): MLE, pulls, −2ΔlnL scan, 68% interval.

Every fit that fails is retried from other start points; what still fails is flagged in the
result (``converged`` false, ``notes``), never dropped.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import iminuit
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


def use_minuit() -> None:
    """Select pyhf's numpy backend and MINUIT optimiser (pyhf keeps this as global state)."""
    pyhf.set_backend("numpy", pyhf.optimize.minuit_optimizer(tolerance=TOLERANCE))


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
) -> FitResult:
    """MLE with pulls, the 68% profile interval (crossings found directly) and a −2ΔlnL scan for figures."""
    lik = Likelihood(workspace_spec, observed_counts, mu_range)
    notes: list[str] = []
    found = profile_interval(lik, notes=notes, hesse=True)
    best = found.best
    mu_grid = np.linspace(float(mu_range[0]), float(mu_range[1]), int(scan_points))
    scan = scan_likelihood(lik, mu_grid, best, notes)
    q = np.array([r.twice_nll for r in scan]) - best.twice_nll
    if np.nanmin(q, initial=0.0) < -10 * NLL_SLACK:
        notes.append(f"scan found a point {-np.nanmin(q):.3g} below the MLE: minimum not global")
    for end, flag in zip(("lower", "upper"), found.interval_open, strict=True):
        if flag:
            notes.append(f"{end} 68% crossing outside mu_range {list(map(float, mu_range))}: interval open")
    converged = found.converged and all(r.converged for r in scan) and not np.nanmin(q, initial=0.0) < -10 * NLL_SLACK
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


def scan_likelihood(lik: Likelihood, mu_grid: np.ndarray, best: Minimum, notes: list[str]) -> list[Minimum]:
    """Conditional fits on ``mu_grid``, walking outwards from μ̂ so each starts from its neighbour's NPs."""
    mu_hat = best.pars[lik.poi]
    scan: list[Minimum | None] = [None] * len(mu_grid)
    for side in (np.flatnonzero(mu_grid < mu_hat)[::-1], np.flatnonzero(mu_grid >= mu_hat)):
        start = best.pars
        for i in side:
            scan[i] = lik.fixed_mu(float(mu_grid[i]), start, notes)
            start = scan[i].pars if np.isfinite(scan[i].twice_nll) else start
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


# --------------------------------------------------------------------------------------------------
# Fast engine: one pyhf model reused for many fits (toys, impacts, grid profiles). Each minimisation is
# a damped Newton iteration on −2lnL whose gradient and Hessian come from finite differences evaluated
# in ONE batched pyhf call (k² + k + 1 points for k floating parameters); MINUIT (strategy 1, then 2)
# is the fallback. Newton matters here: the HistFactory likelihoods of this project are badly
# conditioned (lumi, normalisations and per-bin staterror nearly degenerate under ~1e5 counts per bin)
# and MIGRAD at strategy 0 stops with a "valid" minimum up to ~1 unit of −2lnL too high.
# The 68% crossings are found by a safeguarded secant on sqrt(−2ΔlnL) instead of a full scan.
# --------------------------------------------------------------------------------------------------

#: Finite-difference step in units of each parameter's prior width (1 for unconstrained parameters).
FD_STEP = 1e-3
#: Newton stops when the estimated distance to the minimum ½ gᵀH⁻¹g (in −2lnL) is below this.
NEWTON_EDM = 1e-8
#: Where the line search can no longer lower −2lnL (the decrease per step is at its rounding level) or the
#: iterations run out, an EDM below this is a minimum all the same (MINUIT's goal is 2e-5 at TOLERANCE).
#: Without it, 12 of 41 toy MLEs on the tiny workspace stalled at EDM 1e-8 … 5e-8 and went to MIGRAD.
NEWTON_EDM_STALLED = 1e-6
NEWTON_MAX_ITER = 50
#: A crossing is accepted when |−2ΔlnL − 1| is below this (≈ 1e-4 σ on μ).
Q_TOL = 2e-4
#: Most fixed-μ fits spent on one side of an interval before giving up (flagged).
MAX_CROSSING_FITS = 30


class Likelihood:
    """−2lnL of one pyhf model, with the data settable so the same model serves many datasets.

    ``twice_nll`` is pyhf's ``-2 * model.logpdf`` (numpy backend). ``minimise`` runs a damped Newton
    iteration with a batched finite-difference Hessian (bounds by projection; the covariance is 2H⁻¹)
    and falls back to MINUIT (strategy 1, 2; suggested init) when Newton fails.
    """

    def __init__(self, workspace_spec: dict, observed_counts: Sequence[float] | None = None,
                 mu_range: tuple[float, float] | None = None) -> None:  # fmt: skip
        pyhf.set_backend("numpy")
        self.model = workspace_model(workspace_spec)
        n = self.model.config.npars
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            self.batch = pyhf.Workspace(workspace_spec).model(batch_size=n * n + n + 1)
            self.batch_grad = pyhf.Workspace(workspace_spec).model(batch_size=2 * n + 1)
        self.poi = self.model.config.poi_index
        self.npars = n
        self.bounds = np.array([tuple(map(float, b)) for b in self.model.config.suggested_bounds()])
        if mu_range is not None:
            lo, hi = map(float, mu_range)
            if not lo < hi:
                raise ValueError(f"mu_range {mu_range} is empty")
            self.bounds[self.poi] = (lo, hi)
        self.init = np.asarray(self.model.config.suggested_init(), dtype=float)
        self.init[self.poi] = min(max(self.init[self.poi], self.bounds[self.poi, 0]), self.bounds[self.poi, 1])
        self.fixed = np.asarray(self.model.config.suggested_fixed(), dtype=bool)
        self.auxdata = np.asarray(self.model.config.auxdata, dtype=float)
        self.widths = np.ones(n)
        for name in self.model.config.par_order:
            pset = self.model.config.param_set(name)
            if pset.constrained:
                self.widths[self.model.config.par_slice(name)] = np.asarray(pset.width(), dtype=float)
        self.data = np.concatenate([np.zeros(self.model.config.nmaindata), self.auxdata])
        if observed_counts is not None:
            self.set_observed(observed_counts)

    def pinned(self, name: str, value: float) -> Likelihood:
        """A view of this likelihood with the scalar parameter ``name`` fixed at ``value`` in every fit.

        The pyhf models are shared (building them is the expensive part); data, start and fixed flags are
        the view's own. ValueError naming the parameter if it is not scalar or ``value`` is out of bounds.
        """
        sl = self.model.config.par_slice(name)  # KeyError names the parameter
        if sl.stop - sl.start != 1:
            raise ValueError(f"{name!r} has {sl.stop - sl.start} parameters; only a scalar can be pinned")
        j = sl.start
        if not self.bounds[j, 0] <= value <= self.bounds[j, 1]:
            raise ValueError(f"{name!r} = {value} is outside its bounds {self.bounds[j].tolist()}")
        view = copy.copy(self)
        view.init, view.fixed, view.data = self.init.copy(), self.fixed.copy(), self.data.copy()
        view.init[j], view.fixed[j] = float(value), True
        return view

    @property
    def mu_range(self) -> tuple[float, float]:
        return float(self.bounds[self.poi, 0]), float(self.bounds[self.poi, 1])

    def set_observed(self, observed_counts: Sequence[float], auxdata: Sequence[float] | None = None) -> None:
        """Main-channel counts (and optionally auxiliary data, default the nominal auxdata) of the next fits."""
        observed = np.asarray(observed_counts, dtype=float)
        if observed.shape != (self.model.config.nmaindata,):
            raise ValueError(
                f"observed counts have shape {observed.shape}, model expects ({self.model.config.nmaindata},)"
            )
        aux = self.auxdata if auxdata is None else np.asarray(auxdata, dtype=float)
        if aux.shape != self.auxdata.shape:
            raise ValueError(f"auxdata have shape {aux.shape}, model expects {self.auxdata.shape}")
        self.data = np.concatenate([observed, aux])

    def twice_nll(self, pars: np.ndarray) -> float:
        """−2lnL at ``pars``; NaN where the model is undefined."""
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            value = float(-2.0 * self.model.logpdf(np.asarray(pars, float), self.data)[0])
        return value if np.isfinite(value) else float("nan")

    def derivatives(self, pars: np.ndarray, free: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """(−2lnL, gradient, Hessian) at ``pars`` in the ``free`` parameters: one batched pyhf call."""
        x = np.asarray(pars, dtype=float)
        idx = np.flatnonzero(free)
        k = idx.size
        h = FD_STEP * self.widths[idx]
        points = np.repeat(x[None, :], self.batch.batch_size, axis=0)
        points[1 + np.arange(k), idx] += h  # x + h_i
        points[1 + k + np.arange(k), idx] -= h  # x − h_i
        i, j = np.triu_indices(k, 1)
        m = i.size
        rows = 1 + 2 * k + np.arange(m)
        points[rows, idx[i]] += h[i]
        points[rows, idx[j]] += h[j]  # x + h_i + h_j
        points[rows + m, idx[i]] -= h[i]
        points[rows + m, idx[j]] -= h[j]  # x − h_i − h_j
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            f = -2.0 * np.asarray(self.batch.logpdf(points, self.data), dtype=float)
        f0, fp, fm = f[0], f[1 : 1 + k], f[1 + k : 1 + 2 * k]
        fpp, fmm = f[1 + 2 * k : 1 + 2 * k + m], f[1 + 2 * k + m : 1 + 2 * k + 2 * m]
        grad = (fp - fm) / (2.0 * h)
        hess = np.diag((fp - 2.0 * f0 + fm) / h**2)
        off = (fpp - fp[i] - fp[j] + 2.0 * f0 - fm[i] - fm[j] + fmm) / (2.0 * h[i] * h[j])
        hess[i, j] = off
        hess[j, i] = off
        return float(f0), grad, hess

    def gradient(self, pars: np.ndarray, free: np.ndarray) -> tuple[float, np.ndarray]:
        """(−2lnL, gradient) at ``pars`` in the ``free`` parameters: one batched call of 2k + 1 points."""
        x = np.asarray(pars, dtype=float)
        idx = np.flatnonzero(free)
        k = idx.size
        h = FD_STEP * self.widths[idx]
        points = np.repeat(x[None, :], self.batch_grad.batch_size, axis=0)
        points[1 + np.arange(k), idx] += h
        points[1 + k + np.arange(k), idx] -= h
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            f = -2.0 * np.asarray(self.batch_grad.logpdf(points, self.data), dtype=float)
        return float(f[0]), (f[1 : 1 + k] - f[1 + k : 1 + 2 * k]) / (2.0 * h)

    def newton(self, start: np.ndarray, fixed: np.ndarray, hesse: bool = True) -> Minimum | None:
        """Damped Newton minimisation with bounds by projection; None if it fails (NaN, no progress).

        ``hesse``: the errors come from a Hessian evaluated next to the minimum, never from one reused since the
        start point (that one gave σ_post/σ_prior 7–20% off on data far from the start).
        """
        x = np.clip(np.asarray(start, dtype=float), self.bounds[:, 0], self.bounds[:, 1])
        lo, hi = self.bounds[:, 0], self.bounds[:, 1]
        free = ~fixed
        if not free.any():
            return Minimum(x, np.zeros_like(x), self.twice_nll(x), True)
        hess, last_edm, near = None, np.inf, False  # near: the Hessian was evaluated close to the minimum
        for _ in range(NEWTON_MAX_ITER):
            fresh = hess is None
            if fresh:  # a fresh Hessian; later iterations reuse it while the EDM keeps falling fast
                f0, g, hess = self.derivatives(x, free)
            else:
                f0, g = self.gradient(x, free)
            if not (np.isfinite(f0) and np.isfinite(g).all() and np.isfinite(hess).all()):
                return None
            idx = np.flatnonzero(free)
            # bound constraints: parameters at a bound whose gradient pushes outwards stay put
            at_lo = (x[idx] <= lo[idx] + 1e-12) & (g > 0)
            at_hi = (x[idx] >= hi[idx] - 1e-12) & (g < 0)
            active = ~(at_lo | at_hi)
            if not active.any():  # every free parameter pinned at a bound by its gradient: a bounded minimum
                return Minimum(x, np.zeros_like(x), f0, True)
            ga, ha = g[active], hess[np.ix_(active, active)]
            step_a, edm = newton_step(ga, ha)
            if step_a is None:
                return None
            stalled = None  # the minimum to return if the steps stall from here: only below NEWTON_EDM_STALLED
            if edm < NEWTON_EDM_STALLED:
                if hesse and not (fresh or near):  # a Hessian reused from the start point gives wrong errors
                    _, _, hess = self.derivatives(x, free)
                    ha = hess[np.ix_(active, active)]
                near = near or fresh or hesse
                errors = np.zeros_like(x)  # from the Hessian at (or next to) the minimum
                errors[idx[active]] = np.sqrt(np.clip(np.diag(2.0 * inverse_pd(ha)), 0.0, None))
                stalled = Minimum(x, errors, f0, True)
            stale = edm > 0.25 * last_edm
            last_edm = edm
            if edm < NEWTON_EDM and not stale:
                last = x.copy()
                last[idx[active]] += step_a  # the final (already computed) step: quadratic convergence
                last = np.clip(last, lo, hi)
                f1 = self.twice_nll(last)
                return Minimum(last, errors, f1, True) if f1 <= f0 else stalled
            step = np.zeros_like(x)
            step[idx[active]] = step_a
            slope = float(ga @ step_a)
            t = 1.0
            for _ in range(4 if stalled is not None else 40):  # near the minimum, halving only finds rounding noise
                trial = np.clip(x + t * step, lo, hi)
                f1 = self.twice_nll(trial)
                if np.isfinite(f1) and f1 <= f0 + 1e-4 * t * slope + 1e-12:
                    break
                t *= 0.5
            else:
                return stalled
            if np.array_equal(trial, x):
                return stalled
            if t < 1.0 or stale:
                hess, last_edm = None, np.inf
            x = trial
        return stalled

    def hessian_errors(self, x: np.ndarray, fixed: np.ndarray) -> np.ndarray:
        """σ of every free parameter from 2H⁻¹ of −2lnL at ``x`` (the engine's finite-difference Hessian, as
        Newton uses; MINUIT's HESSE is unreliable at the kink of piecewise-linear histosys at an exact minimum)."""
        free = ~np.asarray(fixed, dtype=bool)
        errors = np.zeros_like(np.asarray(x, dtype=float))
        if free.any():
            _, _, hess = self.derivatives(np.asarray(x, dtype=float), free)
            errors[free] = np.sqrt(np.clip(np.diag(2.0 * inverse_pd(hess)), 0.0, None))
        return errors

    def _migrad(self, start: np.ndarray, fixed: np.ndarray, strategy: int, hesse: bool) -> Minimum:
        start = np.clip(np.asarray(start, dtype=float), self.bounds[:, 0], self.bounds[:, 1])
        if fixed.all():
            return Minimum(start, np.zeros_like(start), self.twice_nll(start), True)
        minuit = iminuit.Minuit(self.twice_nll, start)
        minuit.errordef = 1.0
        minuit.limits = [tuple(b) for b in self.bounds]
        minuit.fixed = fixed.tolist()
        minuit.tol = TOLERANCE
        minuit.strategy = strategy
        minuit.throw_nan = False
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            minuit.migrad()
            if hesse and minuit.valid:
                minuit.hesse()
        errors = np.where(fixed, 0.0, np.asarray(minuit.errors, dtype=float))
        twice_nll = float(minuit.fval) if np.isfinite(minuit.fval) else float("nan")
        return Minimum(np.asarray(minuit.values, dtype=float), errors, twice_nll, bool(minuit.valid))

    def minimise(self, start: np.ndarray, fixed: np.ndarray | None = None, notes: list[str] | None = None,
                 what: str = "fit", hesse: bool = False) -> Minimum:  # fmt: skip
        """Newton from ``start``; MINUIT (strategy 1, 2, then from the suggested init) if it fails."""
        fixed = self.fixed if fixed is None else np.asarray(fixed, dtype=bool)
        start = np.asarray(start, dtype=float)
        result = self.newton(start, fixed, hesse)
        if result is not None:
            return result
        reset = np.where(fixed, start, self.init)
        attempts = [(start, 1), (start, 2), (reset, 1), (reset, 2)]
        failures = []
        for k, (s, strategy) in enumerate(attempts):
            result = self._migrad(s, fixed, strategy, hesse)
            if result.converged and np.isfinite(result.twice_nll):
                if notes is not None:
                    notes.append(f"{what}: Newton failed; MINUIT converged on attempt {k + 1} of {len(attempts)}")
                return result._replace(errors=self.hessian_errors(result.pars, fixed)) if hesse else result
            failures.append(result)
        if notes is not None:
            notes.append(f"{what}: did not converge after Newton and {len(attempts)} MINUIT attempts; "
                         "best invalid minimum kept")  # fmt: skip
        return min(failures, key=lambda r: np.nan_to_num(r.twice_nll, nan=np.inf))

    def mle(self, start: np.ndarray | None = None, notes: list[str] | None = None, hesse: bool = True) -> Minimum:
        """The unconditional MLE (μ and every non-fixed NP floating), with errors (2H⁻¹) by default."""
        return self.minimise(self.init if start is None else start, self.fixed, notes, "MLE", hesse)

    def fixed_fit(self, index: int, value: float, start: np.ndarray, notes: list[str] | None = None,
                  hesse: bool = False) -> Minimum:  # fmt: skip
        """The conditional fit with parameter ``index`` held at ``value`` (the rest as usual)."""
        fixed = self.fixed.copy()
        fixed[index] = True
        start = np.asarray(start, dtype=float).copy()
        start[index] = value
        return self.minimise(start, fixed, notes, f"fixed {self.model.config.par_names[index]}={value:.6g}", hesse)

    def fixed_mu(self, mu: float, start: np.ndarray, notes: list[str] | None = None) -> Minimum:
        """The conditional fit at fixed μ."""
        return self.fixed_fit(self.poi, mu, start, notes)


def inverse_pd(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric matrix via its eigen-decomposition, tiny/negative eigenvalues floored."""
    values, vectors = np.linalg.eigh(0.5 * (matrix + matrix.T))
    floor = max(float(np.max(np.abs(values))) * 1e-14, 1e-300)
    return (vectors / np.maximum(values, floor)) @ vectors.T


def newton_step(grad: np.ndarray, hess: np.ndarray) -> tuple[np.ndarray | None, float]:
    """The Newton step −H⁻¹g (H made positive definite by shifting its spectrum) and ½gᵀH⁻¹g."""
    if grad.size == 0:
        return np.zeros(0), 0.0
    values, vectors = np.linalg.eigh(0.5 * (hess + hess.T))
    if not np.isfinite(values).all():
        return None, float("inf")
    scale = float(np.max(np.abs(values))) or 1.0
    values = np.where(values > 1e-10 * scale, values, np.abs(values) + 1e-6 * scale)
    proj = vectors.T @ grad
    step = -vectors @ (proj / values)
    return step, float(0.5 * np.sum(proj**2 / values))


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
    """The μ on ``side`` (−1/+1) of μ̂ where the profile −2ΔlnL = 1: safeguarded secant on √q.

    √q is nearly linear in μ, so the first step (μ̂ ± HESSE error) and one or two secant steps usually
    land within ``Q_TOL``; every step stays inside the bracket [q < 1, q ≥ 1] (bisection otherwise).
    Fixed-μ fits start from the nearest previous fit on the same side. Returns
    (μ, open, n_fits, converged); ``open`` means no crossing before the μ bound (μ = the bound).
    """
    poi = lik.poi
    mu_hat = float(best.pars[poi])
    edge = lik.mu_range[0] if side < 0 else lik.mu_range[1]
    if side * (edge - mu_hat) <= 0:
        return float(edge), True, 0, True
    sigma = float(best.errors[poi])
    if not (np.isfinite(sigma) and sigma > 0):
        sigma = 0.1 * (lik.mu_range[1] - lik.mu_range[0])
    inner, inner_root = mu_hat, 0.0  # √q < 1
    outer, outer_root = None, None  # √q ≥ 1
    start, converged = best.pars, True
    mu = mu_hat + side * sigma
    for n_fits in range(1, MAX_CROSSING_FITS + 1):
        if side * (mu - edge) >= 0:
            mu = float(edge)
        fit = lik.fixed_mu(mu, start, notes)
        converged &= fit.converged
        q = fit.twice_nll - best.twice_nll
        if not np.isfinite(q):
            q = Q_CAP
        elif q < -10 * NLL_SLACK:  # the conditional fit found a lower minimum: μ̂ is not the global one
            raise LowerMinimum(fit)
        q = max(q, 0.0)
        if abs(q - 1.0) < Q_TOL:
            return float(mu), False, n_fits, converged
        root = np.sqrt(q)
        if q < 1.0:
            if mu == edge:
                return float(edge), True, n_fits, converged
            inner, inner_root = mu, root
            start = fit.pars
        else:
            outer, outer_root = mu, root
        if outer is None:  # extrapolate through (μ̂, 0) and the inner point, overshoot slightly
            mu = mu_hat + (inner - mu_hat) / max(inner_root, 1e-3) * 1.02
        else:
            guess = inner + (1.0 - inner_root) * (outer - inner) / (outer_root - inner_root)
            lo, hi = sorted((inner, outer))
            width = hi - lo
            inside = lo + 0.01 * width < guess < hi - 0.01 * width
            mu = guess if inside else 0.5 * (inner + outer)
            if width < XTOL:
                return float(mu), False, n_fits, converged
    notes.append(f"{'lower' if side < 0 else 'upper'} crossing: no convergence in {MAX_CROSSING_FITS} fits")
    return float(mu), False, MAX_CROSSING_FITS, False


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
