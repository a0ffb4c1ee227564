"""The grid-profiled likelihood of a parameterized classifier f(x; α), profiled continuously over α.

At every grid point α_k the caller gives a full pyhf workspace (templates of f(x; α_k); every other
NP inside as usual) and the observed counts re-binned with f(x; α_k). Per k and μ, everything but μ
is profiled (a pyhf conditional fit) → −2lnL_k(μ). Because the binned data differ between grid
points, each −2lnL_k is taken relative to its saturated Poisson term (the deviance
2Σ[ν − n + n ln(n/ν)] plus the constraint terms), which removes the data-only terms
(ln n!, n ln n) that change with the binning. Adding the Gaussian prior ((α_k − α0)/σ)² and
interpolating across k (cubic spline, or a parabola through the lowest point and its neighbours)
gives −2lnL(μ, α), minimised over α → the profile −2ΔlnL(μ), μ̂, α̂ and the 68% interval.

Interpolating −2lnL between grid points fails where the data pin α more tightly than the grid spacing:
each point's templates carry their own MC noise and the parabola through three points spaced wider than
the α width does not follow the likelihood. :class:`Morph` cures it: every point's workspace carries α as a
histosys towards its neighbours' samples (scored with the same f(x; α_k)), so inside a point's cell α
moves the templates at a fixed observable, and the profile is taken on a fine α grid of pinned values.

The same construction for a fixed classifier (:func:`histosys_grid_specs`: the workspace at α_k
with one histosys NP replaced by its interpolated templates, identical observed counts) is the
cross-check of pyhf's histosys interpolation. The grid-spacing effect is reported by redoing the
profile with every second grid point (no new fits except at μ not yet visited).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import scipy.interpolate
import scipy.optimize
import scipy.special

from systlab.atomic import write_json
from systlab.fit import Likelihood, Minimum, bracket_side, json_float, refine_crossing
from systlab.fit import pulls as np_pulls
from systlab.grid_alpha import (  # noqa: F401  (re-exported)
    ALPHA_DENSE,
    INTERPOLATIONS,
    alpha_profile,
    best_grid_mle,
    cell_window,
    minimise_over_alpha,
)

#: The μ scan walks outwards from the best grid point's μ̂ and stops where −2ΔlnL exceeds this (5σ).
Q_STOP = 25.0


class GridSummary(NamedTuple):
    """μ̂, α̂ and the 68% interval of one grid (used for the half-density comparison)."""

    mu_hat: float
    alpha_hat: float
    interval_68: tuple[float, float]
    interval_open: tuple[bool, bool]


class GridProfile(NamedTuple):
    """The α-profiled likelihood of a grid of workspaces."""

    mu_hat: float
    alpha_hat: float
    interval_68: tuple[float, float]
    interval_open: tuple[bool, bool]
    scan_mu: np.ndarray
    scan_q: np.ndarray  # −2ΔlnL(μ), profiled over α and every NP
    scan_alpha: np.ndarray  # α̂(μ)
    alphas: np.ndarray
    per_point: np.ndarray  # (K, len(scan_mu)): −2lnL_k(μ) + prior_k − global minimum
    interpolation: str
    half_grid: GridSummary | None  # the same profile from alphas[::2]
    alpha_at_edge: bool  # α̂ on the first/last grid point: widen the grid
    converged: bool
    notes: tuple[str, ...]
    twice_nll_min: float = float("nan")  # the global minimum of −2lnL (saturated terms removed, prior added)
    pulls: dict[str, tuple[float, float]] = {}  # NP pulls of the fixed-μ̂ fit at the grid point nearest α̂
    surface: dict | None = None  # a finer μ scan around the interval for figures: mu, per_point, alpha_hat
    simulated_alphas: np.ndarray | None = None  # the grid points with simulated samples (alphas: the morph's grid)
    morph_step: float | None = None  # None: −2lnL interpolated between the simulated points


def saturated_twice_nll(observed: np.ndarray) -> float:
    """−2 Σ ln Poisson(n | n): the main-data part of −2lnL of the saturated model."""
    n = np.asarray(observed, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        logn = np.where(n > 0, n * np.log(np.where(n > 0, n, 1.0)), 0.0)
    return float(-2.0 * np.sum(logn - n - scipy.special.gammaln(n + 1.0)))


def saturated_constraint(lik: Likelihood) -> float:
    """−2 ln of the constraint terms at their maximum (each constrained NP at its auxiliary datum).

    Gaussian constraints carry ln σ normalisations; the per-bin MC-statistics widths differ between
    grid points (different binnings), so this term must leave −2lnL_k like the data-only terms do.
    """
    config = lik.model.config
    if not config.auxdata_order:
        return 0.0
    pars = np.asarray(lik.init, dtype=float).copy()
    aux = lik.data[config.nmaindata :]
    i = 0
    for name in config.auxdata_order:
        sl = config.par_slice(name)
        n = sl.stop - sl.start
        pars[sl] = aux[i : i + n]
        i += n
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(-2.0 * lik.model.constraint_logpdf(aux, pars))


class Morph(NamedTuple):
    """The grid NP as a fit parameter between grid points (the cure for the noisy −2lnL interpolation).

    Every point's workspace carries the NP as a histosys whose ±1 templates extend, per unit α, the
    neighbouring grid points' samples scored with the point's own f(x; α_k) (:func:`systlab.grid_inputs.unit_shifts`),
    and an auxiliary datum α0 − α_k: pyhf's piecewise-linear interpolation then moves the templates
    continuously in α with the observable held fixed. The NP is pinned on a fine grid of ``step`` inside each
    point's cell (half-way to its neighbours), so −2lnL varies smoothly in α except where the observable
    changes at a cell boundary. ``step`` 0 keeps only the grid points (the interpolation of −2lnL alone).
    """

    np_name: str
    step: float  # σ units


def morph_points(alphas: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """(owning grid point k, shift δ) of every fine-grid point α_k + i·step inside the cell of α_k.

    The cell of α_k reaches half-way to each neighbour (lower end included) and to the grid's end points.
    """
    if step < 0:
        raise ValueError(f"morph step {step} must be >= 0")
    alphas = np.asarray(alphas, dtype=float)
    owner, shifts = [], []
    for k, a in enumerate(alphas):
        lo = alphas[0] if k == 0 else 0.5 * (alphas[k - 1] + a)
        hi = alphas[-1] if k == alphas.size - 1 else 0.5 * (a + alphas[k + 1])
        if step == 0:
            deltas = np.zeros(1)
        else:
            i = np.arange(np.ceil((lo - a) / step - 1e-9), np.floor((hi - a) / step + 1e-9) + 1)
            deltas = i * step
            keep = (a + deltas >= lo - 1e-9) & ((a + deltas < hi - 1e-9) | (k == alphas.size - 1))
            deltas = deltas[keep]
        owner += [k] * deltas.size
        shifts += deltas.tolist()
    return np.asarray(owner, dtype=int), np.asarray(shifts, dtype=float)


def _morph_view(lik: Likelihood, np_name: str, alpha_k: float, delta: float, alpha0: float) -> Likelihood:
    """Point k's likelihood with the grid NP pinned at δ and its auxiliary datum at α0 − α_k (prior N(α0, 1))."""
    config = lik.model.config
    if np_name not in config.auxdata_order:
        raise KeyError(f"morph: no constrained parameter {np_name!r} in the grid point's workspace")
    view = lik.pinned(np_name, delta)
    i = sum(config.param_set(n).n_parameters for n in config.auxdata_order[: config.auxdata_order.index(np_name)])
    view.auxdata = lik.auxdata.copy()
    view.auxdata[i] = alpha0 - alpha_k
    view.data[config.nmaindata + i] = alpha0 - alpha_k
    return view


class GridLikelihood:
    """−2lnL_k(μ) + prior_k for every grid point, each conditional fit cached and warm-started.

    One pyhf model per grid point serves many datasets (:meth:`set_data`), e.g. the toys of a grid.
    """

    def __init__(self, specs: Sequence[dict], observed: Sequence[Sequence[float]], alphas: Sequence[float],
                 alpha0: float, alpha_sigma: float, mu_range: tuple[float, float],
                 auxdata: Sequence[Sequence[float]] | None = None, morph: Morph | None = None) -> None:  # fmt: skip
        if not len(specs) == len(observed) == len(alphas):
            raise ValueError(f"{len(specs)} specs, {len(observed)} observations and {len(alphas)} alphas differ")
        grid_alphas = np.asarray(alphas, dtype=float)
        if grid_alphas.size < 3 or not np.all(np.diff(grid_alphas) > 0):
            raise ValueError(f"alphas must be >= 3 increasing grid points, got {grid_alphas.tolist()}")
        if not alpha_sigma > 0:
            raise ValueError(f"alpha_sigma {alpha_sigma} must be > 0")
        base = [Likelihood(s, None, mu_range) for s in specs]
        self.grid_alphas, self.alpha0 = grid_alphas, float(alpha0)
        if morph is None:
            self.owner, shifts = np.arange(grid_alphas.size), np.zeros(grid_alphas.size)
            self.liks = base
            self.prior = ((grid_alphas - alpha0) / alpha_sigma) ** 2
        else:
            if alpha_sigma != 1.0:
                raise ValueError(f"morph: the grid NP's constraint is pyhf's unit Gaussian, alpha_sigma {alpha_sigma}")
            self.owner, shifts = morph_points(grid_alphas, morph.step)
            self.liks = [_morph_view(base[k], morph.np_name, grid_alphas[k], d, self.alpha0)
                         for k, d in zip(self.owner, shifts, strict=True)]  # fmt: skip
            self.prior = np.zeros(self.owner.size)  # the prior is each model's own constraint term
        self.alphas = grid_alphas[self.owner] + shifts
        #: Points of one cell share an observable (a parabola may join them); None: every point its own observable
        #: and −2lnL interpolated across them
        self.cells = None if morph is None or morph.step == 0 else self.owner
        self.mu_range = tuple(map(float, mu_range))
        self.held: dict[str, float] = {}  # scalar NPs held fixed in every conditional fit (impacts)
        self.set_data(observed, auxdata)

    def subset(self, points: Sequence[int]) -> GridLikelihood:
        """A view on ``points`` only (e.g. every second one: the spacing effect); fits and caches are shared."""
        points = np.asarray(points, dtype=int)
        view = copy.copy(self)
        for name in ("alphas", "prior", "offsets", "owner"):
            setattr(view, name, getattr(self, name)[points])
        view.cells = None if self.cells is None else self.cells[points]
        for name in ("liks", "mles", "cache", "starts"):
            setattr(view, name, [getattr(self, name)[k] for k in points])
        return view

    @property
    def centre(self) -> int:
        """The point nearest the prior's centre α0."""
        return int(np.argmin(np.abs(self.alphas - self.alpha0)))

    def hold(self, name: str | None, value: float = 0.0) -> None:
        """Hold the scalar NP ``name`` at ``value`` in every conditional fit from now on (None releases all).

        The conditional-fit caches start afresh; the MLEs stay (they only serve as start points).
        """
        if name is None:
            self.held = {}
        else:
            for lik in self.liks:
                sl = lik.model.config.par_slice(name)  # KeyError names the parameter
                if sl.stop - sl.start != 1:
                    raise ValueError(f"{name!r} has {sl.stop - sl.start} parameters; only scalar NPs can be held")
            self.held = {name: float(value)}
        self.cache = [{} for _ in self.liks]

    def _with_held(self, lik: Likelihood, pars: np.ndarray, fixed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pars, fixed = np.asarray(pars, dtype=float).copy(), fixed.copy()
        for name, value in self.held.items():
            j = lik.model.config.par_slice(name).start
            pars[j], fixed[j] = value, True
        return pars, fixed

    def set_data(self, observed: Sequence[Sequence[float]], auxdata: Sequence[Sequence[float]] | None = None,
                 starts: Sequence[np.ndarray] | None = None,
                 mle_points: Sequence[int] | None = None) -> None:  # fmt: skip
        """New observed counts (and auxiliary data) per grid point: offsets, MLEs and caches start afresh.

        ``starts`` are per-point start parameters (default the suggested init); ``mle_points`` limits the
        unconditional fits to those points (default all; toys need one), the others warm-start from ``starts``.
        """
        observed, auxdata = self._per_point(observed, "observations"), self._per_point(auxdata, "auxdata")
        for lik, obs, aux in zip(self.liks, observed, auxdata, strict=True):
            lik.set_observed(obs, aux)
        self.offsets = np.array([saturated_twice_nll(o) + saturated_constraint(lik)
                                 for o, lik in zip(observed, self.liks, strict=True)])  # fmt: skip
        self.notes: list[str] = []
        self.starts = [lik.init if s is None else np.asarray(s, float)
                       for lik, s in zip(self.liks, starts or [None] * len(self.liks), strict=True)]  # fmt: skip
        wanted = set(range(len(self.liks)) if mle_points is None else mle_points)
        self.mles: list[Minimum | None] = [
            lik.mle(s, notes=self.notes, hesse=False) if k in wanted else None
            for k, (lik, s) in enumerate(zip(self.liks, self.starts, strict=True))
        ]
        self.cache: list[dict[float, Minimum]] = [{} for _ in self.liks]
        self.converged = all(m.converged for m in self.mles if m is not None)

    def _per_point(self, values: Sequence | None, what: str) -> list:
        """One entry per point: given per grid point (repeated over each point's fine α grid) or per point."""
        if values is None:
            return [None] * len(self.liks)
        if len(values) == self.grid_alphas.size:
            return [values[k] for k in self.owner]
        if len(values) != len(self.liks):
            raise ValueError(f"{len(values)} {what} for {self.grid_alphas.size} grid points ({len(self.liks)} points)")
        return list(values)

    def value(self, k: int, mu: float) -> float:
        """−2lnL_k(μ) (conditional fit, saturated term removed) + prior_k; NaN where the model is undefined."""
        cache = self.cache[k]
        if mu not in cache:
            near = min(cache, key=lambda m: abs(m - mu), default=None)
            fallback = self.starts[k] if self.mles[k] is None else self.mles[k].pars
            start = fallback if near is None or not np.isfinite(cache[near].twice_nll) else cache[near].pars
            cache[mu] = self.conditional(k, mu, start)
        return cache[mu].twice_nll - self.offsets[k] + self.prior[k]

    def conditional(self, k: int, mu: float, start: np.ndarray) -> Minimum:
        """The fixed-μ fit at grid point k: Newton, MINUIT only if the model is defined at the start point.

        Where the expected counts are negative at the start (μ far below 0) the fit is undefined: NaN,
        without the costly MINUIT retries (an undefined scan point counts as excluded).
        """
        lik = self.liks[k]
        fixed = lik.fixed.copy()
        fixed[lik.poi] = True

        def at_mu(pars: np.ndarray) -> np.ndarray:
            out, _ = self._with_held(lik, pars, fixed)
            out[lik.poi] = mu
            return out

        fixed = self._with_held(lik, start, fixed)[1]
        first = at_mu(start)
        found = lik.newton(first, fixed, hesse=False)
        if found is not None:
            return found
        if not np.isfinite(lik.twice_nll(first)):  # try the point's own MLE and the suggested init as starts
            mle = self.mles[k].pars if self.mles[k] is not None else self.starts[k]
            for other in (mle, lik.init):
                retry = at_mu(other)
                if np.isfinite(lik.twice_nll(retry)):
                    return lik.newton(retry, fixed, hesse=False) or lik.minimise(retry, fixed, self.notes,
                                                                             f"fixed mu={mu:.6g}")
            return Minimum(first, np.zeros_like(first), float("nan"), True)
        reset = at_mu(lik.init)
        found = lik.newton(reset, fixed, hesse=False)  # e.g. a start exactly at the minimum stalls the line search
        if found is not None and found.twice_nll <= lik.twice_nll(first) + 1e-6:
            return found
        return lik.minimise(first, fixed, self.notes, f"fixed mu={mu:.6g}")

    def converged_between(self, lo: float, hi: float) -> bool:
        """Whether every MLE and every conditional fit at μ in [lo, hi] converged."""
        fits = [m for cache in self.cache for mu, m in cache.items() if lo <= mu <= hi]
        return all(m.converged for m in [*self.mles, *fits] if m is not None)

    def values(self, mu: float, points: np.ndarray) -> np.ndarray:
        return np.array([self.value(int(k), float(mu)) for k in points])


def _profile(grid: GridLikelihood, mu_grid: np.ndarray, interpolation: str,
             notes: list[str]) -> tuple[GridSummary, np.ndarray, np.ndarray, float]:  # fmt: skip
    """μ̂, α̂, interval, scan (−2lnL) and α̂(μ) of the grid (the α-profile of :func:`alpha_profile`)."""
    alpha_at = alpha_profile(grid, interpolation)

    def twice_nll(mu: float) -> tuple[float, float]:
        return alpha_at(float(mu))

    scan = np.full((mu_grid.size, 2), np.nan)
    mu_best = best_grid_mle(grid).pars[grid.liks[0].poi]
    start = int(np.argmin(np.abs(mu_grid - mu_best)))
    scan[start] = twice_nll(float(mu_grid[start]))
    for side in (range(start - 1, -1, -1), range(start + 1, mu_grid.size)):
        for j in side:  # walk outwards; stop once the profile is Q_STOP above its lowest value so far
            scan[j] = twice_nll(float(mu_grid[j]))
            if scan[j, 0] - np.nanmin(scan[:, 0]) > Q_STOP:
                break
    q_raw, a_raw = scan[:, 0], scan[:, 1]
    i = int(np.nanargmin(q_raw))
    lo, hi = mu_grid[max(i - 1, 0)], mu_grid[min(i + 1, mu_grid.size - 1)]
    res = scipy.optimize.minimize_scalar(lambda m: np.nan_to_num(twice_nll(float(m))[0], nan=np.inf),
                                         bounds=(lo, hi), method="bounded", options={"xatol": 1e-6})  # fmt: skip
    mu_hat, minimum = (float(res.x), float(res.fun)) if res.fun <= q_raw[i] else (float(mu_grid[i]), float(q_raw[i]))
    alpha_hat = twice_nll(mu_hat)[1]
    q = q_raw - minimum

    def profile(m: float) -> float:
        return twice_nll(float(m))[0] - minimum

    ends, opens = [], []
    for side, edge in ((-1, mu_grid[0]), (+1, mu_grid[-1])):
        bracket = bracket_side(mu_grid, q, mu_hat, side)
        ends.append(float(edge) if bracket is None else refine_crossing(profile, *bracket))
        opens.append(bracket is None)
        if bracket is None:
            notes.append(f"{'lower' if side < 0 else 'upper'} 68% crossing outside mu_range: interval open")
    summary = GridSummary(mu_hat, float(alpha_hat), (ends[0], ends[1]), (opens[0], opens[1]))
    return summary, q, a_raw, minimum


#: With the morph, the figures' per-point rows are kept where −2ΔlnL at μ̂ is below this (others: NaN, not fitted).
ROW_KEEP = 2.0 * Q_STOP


def shown_points(grid: GridLikelihood, mu_hat: float, minimum: float) -> np.ndarray:
    """The points whose −2lnL(μ) rows go into the payload: all, or with the morph's fine grid those near α̂."""
    every = np.arange(grid.alphas.size)
    if grid.cells is None:
        return every
    return every[grid.values(float(mu_hat), every) - minimum <= ROW_KEEP]


def posterior_alpha_width(grid: GridLikelihood, mu: float, k: int) -> float:
    """The α width (−2ΔlnL = 1) at fixed μ from the parabola through grid point k and its neighbours (in its cell)."""
    window = cell_window(grid.cells, k, grid.alphas.size)
    if window is None:
        return float("nan")
    values = grid.values(float(mu), window)
    if not np.isfinite(values).all():
        return float("nan")
    c2 = np.polyfit(grid.alphas[window], values, 2)[0]
    return float(1.0 / np.sqrt(c2)) if c2 > 0 else float("nan")


def _padded(interval: tuple[float, float], mu_grid: np.ndarray) -> tuple[float, float]:
    """The interval widened by one scan step on each side: the fits its ends depend on."""
    step = float(mu_grid[1] - mu_grid[0]) if mu_grid.size > 1 else 0.0
    return interval[0] - step, interval[1] + step


def grid_profile(
    specs: Sequence[dict],
    observed: Sequence[Sequence[float]],
    alphas: Sequence[float],
    alpha0: float = 0.0,
    alpha_sigma: float = 1.0,
    mu_range: tuple[float, float] = (-1.0, 3.0),
    scan_points: int = 41,
    interpolation: str = "cubic",
    half_grid: bool = True,
    surface_points: int = 0,
    morph: Morph | None = None,
) -> GridProfile:
    """Profile −2lnL(μ, α) over α (prior N(α0, α_sigma)) and every NP of the grid's workspaces.

    ``specs[k]``/``observed[k]`` are the workspace and observed counts at ``alphas[k]``. The half-grid
    summary (every second point, which needs an odd number of points to keep both ends) shows the
    effect of the grid spacing. ``surface_points`` > 0 adds a finer μ scan (that many points over the
    interval widened by 1.5 widths each side) of every grid point, for the likelihood-surface figure.
    ``morph`` moves the grid NP inside each point's workspace on a fine α grid (:class:`Morph`); the
    profile's ``alphas`` are then that fine grid.
    """
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation {interpolation!r} is not one of {INTERPOLATIONS}")
    grid = GridLikelihood(specs, observed, alphas, alpha0, alpha_sigma, mu_range, morph=morph)
    mu_grid = np.linspace(float(mu_range[0]), float(mu_range[1]), int(scan_points))
    notes: list[str] = []
    points = np.arange(grid.alphas.size)
    summary, q, scan_alpha, minimum = _profile(grid, mu_grid, interpolation, notes)
    half = None
    if half_grid and grid.alphas.size >= 5:
        half, *_ = _profile(grid.subset(points[::2]), mu_grid, interpolation, [])
    evaluated = np.isfinite(q)
    shown = set(shown_points(grid, summary.mu_hat, minimum).tolist())
    per_point = np.array([[grid.value(int(k), float(m)) if e and k in shown else np.nan
                           for m, e in zip(mu_grid, evaluated, strict=True)] for k in points]) - minimum  # fmt: skip
    at_edge = bool(np.isclose(summary.alpha_hat, grid.alphas[0]) or np.isclose(summary.alpha_hat, grid.alphas[-1]))
    if at_edge:
        notes.append(f"alpha_hat {summary.alpha_hat:g} on the edge of the grid: widen it")
    nearest = int(np.nanargmin(np.abs(grid.alphas - summary.alpha_hat))) if np.isfinite(summary.alpha_hat) else 0
    alpha_width = posterior_alpha_width(grid, summary.mu_hat, nearest)
    spacing = float(np.max(np.diff(grid.alphas[max(nearest - 1, 0) : nearest + 2])))
    if np.isfinite(alpha_width) and spacing > alpha_width:
        notes.append(f"grid spacing {spacing:g} near alpha_hat exceeds the fitted alpha width {alpha_width:.3g}: "
                     "the interpolation between grid points drives the result; refine the grid there")  # fmt: skip
    grid.value(nearest, summary.mu_hat)
    point_pulls = np_pulls(grid.liks[nearest].model, grid.cache[nearest][summary.mu_hat])
    if morph is not None:  # the grid NP is pinned in every point's fits: its pull is α̂, set by the caller
        point_pulls.pop(morph.np_name, None)
    return GridProfile(
        mu_hat=summary.mu_hat,
        alpha_hat=summary.alpha_hat,
        interval_68=summary.interval_68,
        interval_open=summary.interval_open,
        scan_mu=mu_grid,
        scan_q=q,
        scan_alpha=scan_alpha,
        alphas=grid.alphas,
        per_point=per_point,
        interpolation=interpolation,
        half_grid=half,
        alpha_at_edge=at_edge,
        converged=grid.converged_between(*_padded(summary.interval_68, mu_grid)),
        notes=tuple(grid.notes + notes),
        twice_nll_min=float(minimum),
        pulls=point_pulls,
        surface=_surface(grid, summary, minimum, interpolation, surface_points) if surface_points > 0 else None,
        simulated_alphas=grid.grid_alphas,
        morph_step=None if morph is None else float(morph.step),
    )


def _surface(grid: GridLikelihood, summary: GridSummary, minimum: float, interpolation: str, points: int) -> dict:
    """−2lnL_k(μ) + prior_k − minimum on a fine μ grid around the interval, and α̂(μ) there."""
    lo, hi = summary.interval_68
    width = max(hi - lo, 1e-3)
    mu = np.linspace(max(grid.mu_range[0], lo - 1.5 * width), min(grid.mu_range[1], hi + 1.5 * width), points)
    shown = shown_points(grid, summary.mu_hat, minimum)
    values = np.full((grid.alphas.size, mu.size), np.nan)
    values[shown] = np.array([grid.values(float(m), shown) for m in mu]).T - minimum
    alpha_at = alpha_profile(grid, interpolation)
    alpha_hat = [alpha_at(float(m))[1] for m in mu]
    return {"mu": mu.tolist(), "per_point": [[json_float(v) for v in row] for row in values],
            "alpha_hat": [json_float(a) for a in alpha_hat]}  # fmt: skip


def histosys_yields(nominal: np.ndarray, hi: np.ndarray, lo: np.ndarray, alpha: float) -> np.ndarray:
    """pyhf's default histosys interpolation (code 0, piecewise linear) at ``alpha``."""
    nominal, hi, lo = (np.asarray(a, dtype=float) for a in (nominal, hi, lo))
    return nominal + alpha * (hi - nominal) if alpha >= 0 else nominal + alpha * (nominal - lo)


def histosys_grid_specs(workspace_spec: dict, np_name: str, alphas: Sequence[float]) -> list[dict]:
    """The workspace at each α_k with histosys ``np_name`` replaced by its interpolated templates.

    Staterror widths scale with each sample's yield so the relative MC uncertainty is unchanged.
    The observed counts are the same at every α_k (a fixed classifier).
    """
    out = []
    found = False
    for alpha in alphas:
        spec = copy.deepcopy(workspace_spec)
        for channel in spec["channels"]:
            for sample in channel["samples"]:
                mods = sample["modifiers"]
                hist_mods = [m for m in mods if m["name"] == np_name and m["type"] == "histosys"]
                if not hist_mods:
                    continue
                found = True
                nominal = np.asarray(sample["data"], dtype=float)
                data = hist_mods[0]["data"]
                shifted = histosys_yields(nominal, data["hi_data"], data["lo_data"], float(alpha))
                ratio = np.divide(shifted, nominal, out=np.ones_like(nominal), where=nominal != 0)
                sample["data"] = shifted.tolist()
                sample["modifiers"] = [m for m in mods if m is not hist_mods[0]]
                for m in sample["modifiers"]:
                    if m["type"] == "staterror":
                        m["data"] = (np.asarray(m["data"], dtype=float) * ratio).tolist()
        for m in spec["measurements"]:
            m["config"]["parameters"] = [p for p in m["config"]["parameters"] if p["name"] != np_name]
        out.append(spec)
    if not found:
        raise KeyError(f"no histosys modifier {np_name!r} in the workspace")
    return out


def grid_payload(result: GridProfile) -> dict:
    """JSON-ready grid profile (NaN as null)."""
    half = None
    if result.half_grid is not None:
        h = result.half_grid
        half = {"mu_hat": h.mu_hat, "alpha_hat": h.alpha_hat, "interval_68": list(h.interval_68),
                "interval_open": list(h.interval_open), "width": h.interval_68[1] - h.interval_68[0]}  # fmt: skip
    return {
        "mu_hat": result.mu_hat,
        "alpha_hat": result.alpha_hat,
        "interval_68": list(result.interval_68),
        "interval_open": list(result.interval_open),
        "width": result.interval_68[1] - result.interval_68[0],
        "scan": {
            "mu": result.scan_mu.tolist(),
            "twice_dnll": [json_float(v) for v in result.scan_q],
            "alpha_hat": [json_float(v) for v in result.scan_alpha],
        },
        "alphas": result.alphas.tolist(),
        "simulated_alphas": (result.alphas if result.simulated_alphas is None else result.simulated_alphas).tolist(),
        "morph_step": result.morph_step,
        "per_point": [[json_float(v) for v in row] for row in result.per_point],
        "interpolation": result.interpolation,
        "half_grid": half,
        "surface": result.surface,
        "alpha_at_edge": result.alpha_at_edge,
        "converged": result.converged,
        "notes": list(result.notes),
    }


def write_grid_profile(result: GridProfile, path: str | os.PathLike) -> None:
    """Write a grid profile as sorted-key JSON, atomically."""
    write_json(path, grid_payload(result))


class Surface(NamedTuple):
    """−2ΔlnL(μ, α) of a grid fit on a dense α grid (the fit's own interpolation) and the profiled path."""

    mu: np.ndarray
    alpha: np.ndarray
    q: np.ndarray  # (alpha, mu); NaN where a column was not evaluated
    path_alpha: np.ndarray  # α̂(μ) at each μ
    grid_alphas: np.ndarray  # the simulated grid points
    mu_hat: float
    alpha_hat: float


def local_parabolas(alphas: np.ndarray, values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Values at ``at`` of the parabola through the grid point nearest each α and its two neighbours."""
    nearest = np.abs(np.asarray(at)[:, None] - alphas[None, :]).argmin(axis=1)
    centre = np.clip(nearest, 1, alphas.size - 2)
    out = np.empty(len(at))
    for c in np.unique(centre):
        rows = centre == c
        out[rows] = np.polyval(np.polyfit(alphas[c - 1 : c + 2], values[c - 1 : c + 2], 2), np.asarray(at)[rows])
    return out


def likelihood_surface(fit_payload: dict, points: int = 201) -> Surface:
    """The 2-D surface of a grid-fit JSON (``grid.surface``, else the scan's ``grid.per_point``, interpolated in α:
    the fit's cubic spline, or its local parabolas when the fit used the "quadratic" interpolation).

    ValueError naming the field when the payload is not a grid fit.
    """
    grid = fit_payload.get("grid")
    if not grid or "per_point" not in grid:
        raise ValueError(f"fit result {fit_payload.get('dataset')!r}: no 'grid.per_point' (not a grid fit)")
    fine = grid.get("surface") or {"mu": fit_payload["scan"]["mu"], "per_point": grid["per_point"],
                                   "alpha_hat": grid["scan"]["alpha_hat"]}  # fmt: skip
    mu = np.asarray(fine["mu"], dtype=float)
    alphas = np.asarray(grid["alphas"], dtype=float)
    per_point = np.array([[np.nan if v is None else v for v in row] for row in fine["per_point"]], dtype=float)
    dense = np.linspace(alphas[0], alphas[-1], points)
    q = np.full((points, mu.size), np.nan)
    for j in range(mu.size):
        column = per_point[:, j]
        finite = np.isfinite(column)
        if grid.get("morph_step") and finite.sum() >= 2:  # the morph's fine grid (rows near α̂): straight lines
            q[:, j] = np.interp(dense, alphas[finite], column[finite], left=np.nan, right=np.nan)
        elif finite.all():
            if grid.get("interpolation", "cubic") == "cubic":
                q[:, j] = scipy.interpolate.CubicSpline(alphas, column)(dense)
            else:  # the fit's parabolas: through the grid point nearest each α and its two neighbours
                q[:, j] = local_parabolas(alphas, column, dense)
    path = np.array([np.nan if v is None else v for v in fine["alpha_hat"]], dtype=float)
    simulated = np.asarray(grid.get("simulated_alphas", alphas), dtype=float)
    return Surface(mu, dense, q, path, simulated, float(fit_payload["mu_hat"]), float(grid["alpha_hat"]))
