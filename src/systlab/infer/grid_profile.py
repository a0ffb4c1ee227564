"""The profile of the grid likelihood over μ: μ̂, α̂, the 68% interval, the per-point rows and the surface.

:class:`systlab.likelihood.grid.GridLikelihood` gives −2lnL_k(μ) per grid point; here they are interpolated across
the points (:mod:`systlab.likelihood.grid_alpha`), minimised over α, scanned in μ and written for the figures.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import scipy.interpolate
import scipy.optimize

from systlab.atomic import write_json
from systlab.infer.fit import Q_STOP, bracket_side, json_float, refine_crossing
from systlab.infer.fit import pulls as np_pulls
from systlab.infer.lockstep import LockStep
from systlab.likelihood.grid import CONVERGENCE_MARGIN, GridBatch, GridLikelihood
from systlab.likelihood.grid_alpha import INTERPOLATIONS, alpha_profile, best_grid_mle, cell_window
from systlab.likelihood.morph import Morph


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
    histosys_code: str = "code4p",
) -> GridProfile:
    """Profile −2lnL(μ, α) over α (prior N(α0, α_sigma)) and every NP of the grid's workspaces.

    ``specs[k]``/``observed[k]`` are the workspace and observed counts at ``alphas[k]``. The half-grid
    summary (every second point, which needs an odd number of points to keep both ends) shows the
    effect of the grid spacing. ``surface_points`` > 0 adds a finer μ scan (that many points over the
    interval widened by 1.5 widths each side) of every grid point, for the likelihood-surface figure.
    ``morph`` moves the grid NP inside each point's workspace on a fine α grid (:class:`Morph`); the
    profile's ``alphas`` are then that fine grid. ``histosys_code``: the interpolation of every point's histosys NPs.
    """
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation {interpolation!r} is not one of {INTERPOLATIONS}")
    grid = GridLikelihood(specs, observed, alphas, alpha0, alpha_sigma, mu_range, morph=morph,
                          histosys_code=histosys_code)
    return profile_grid(grid, scan_points, interpolation, half_grid, surface_points, morph)


def grid_profiles(
    specs: Sequence[dict],
    observations: Sequence[Sequence[Sequence[float]]],
    alphas: Sequence[float],
    mu_range: tuple[float, float],
    scan_points: int,
    interpolation: str,
    half_grid: bool = True,
    surface_points: Sequence[int] | None = None,
    morph: Morph | None = None,
) -> list[GridProfile]:
    """:func:`grid_profile` (prior N(0, 1), nominal auxiliary data) of several datasets at once, e.g. every dataset
    of a rule: each dataset's profile runs in its own :class:`LockStep` task and the fits they ask for are made
    together, one batch per simulated grid point per round (:class:`GridBatch`). ``observations[j]`` are dataset
    j's counts per grid point, ``surface_points[j]`` its fine-scan points (default none)."""
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation {interpolation!r} is not one of {INTERPOLATIONS}")
    if not observations:
        return []
    grid = GridLikelihood(specs, observations[0], alphas, 0.0, 1.0, mu_range, morph=morph)
    warm = grid.warm_starts()  # every dataset starts where the first one's fits ended (their curvature reference)
    auxdata = [lik.auxdata.copy() for lik in grid.liks]
    step = LockStep(GridBatch(grid, observations, [auxdata] * len(observations), warm).answer)
    surfaces = [0] * len(observations) if surface_points is None else list(surface_points)

    def one(j: int) -> GridProfile:
        view = grid.view()
        view.batch = lambda requests: step.request_many([(j, *r) for r in requests])
        view.set_data(observations[j], auxdata, warm)
        return profile_grid(view, scan_points, interpolation, half_grid, surfaces[j], morph)

    return step.run(one, range(len(observations)))


def profile_grid(grid: GridLikelihood, scan_points: int, interpolation: str, half_grid: bool = True,
                 surface_points: int = 0, morph: Morph | None = None) -> GridProfile:  # fmt: skip
    """The profile of ``grid``'s current data (:func:`grid_profile` once the grid is built)."""
    mu_range = grid.mu_range
    mu_grid = np.linspace(float(mu_range[0]), float(mu_range[1]), int(scan_points))
    notes: list[str] = []
    points = np.arange(grid.alphas.size)
    summary, q, scan_alpha, minimum = _profile(grid, mu_grid, interpolation, notes)
    half = None
    if half_grid and grid.alphas.size >= 5:
        half, *_ = _profile(grid.subset(points[::2]), mu_grid, interpolation, [])
    evaluated = np.isfinite(q)
    shown = set(shown_points(grid, summary.mu_hat, minimum).tolist())
    grid.prefill(sorted(shown), mu_grid[evaluated])  # every row's fits in one batch per simulated point
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
        converged=grid.converged_between(*_padded(summary.interval_68, mu_grid), ceiling=minimum + CONVERGENCE_MARGIN),
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
    grid.prefill(shown, mu)
    values[shown] = np.array([grid.values(float(m), shown) for m in mu]).T - minimum
    alpha_at = alpha_profile(grid, interpolation)
    alpha_hat = [alpha_at(float(m))[1] for m in mu]
    return {"mu": mu.tolist(), "per_point": [[json_float(v) for v in row] for row in values],
            "alpha_hat": [json_float(a) for a in alpha_hat]}  # fmt: skip



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
