"""The α-profile at fixed μ of a grid likelihood (:class:`systlab.likelihood.grid.GridLikelihood`).

Between grid points −2lnL is interpolated (:func:`minimise_over_alpha`: cubic spline, or a parabola through
the lowest point and its neighbours, kept inside one cell of the morph); :func:`alpha_profile` gives μ ↦
(min over α, α̂), fitting only the points a downhill walk visits with the parabola (:func:`local_quadratic`), or
("quadratic_global") every point before the same parabola, for α landscapes with more than one minimum.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import scipy.interpolate
import scipy.optimize

from systlab.likelihood.binned import Minimum

if TYPE_CHECKING:
    from systlab.likelihood.grid import GridLikelihood

#: "quadratic_global" is "quadratic" with every grid point fitted at each μ instead of a downhill walk's: the walk
#: stops in the first local minimum (on the rotating Gaussians' mirror-symmetric landscape the deeper one was missed).
INTERPOLATIONS = ("cubic", "quadratic", "quadratic_global")
#: Points of the dense α grid on which the interpolated −2lnL is first minimised.
ALPHA_DENSE = 401


def cell_window(cells: np.ndarray | None, k: int, size: int) -> np.ndarray | None:
    """Three consecutive points around ``k`` for a parabola: inside k's cell when there are cells (None if the
    cell has fewer than 3 points), else anywhere on the grid."""
    if cells is None:
        centre = int(np.clip(k, 1, size - 2))
    else:
        same = np.flatnonzero(np.asarray(cells) == cells[k])
        if same.size < 3:
            return None
        centre = int(np.clip(k, same[0] + 1, same[-1] - 1))
    return np.arange(centre - 1, centre + 2)


def minimise_over_alpha(alphas: np.ndarray, values: np.ndarray, interpolation: str,
                        cells: np.ndarray | None = None) -> tuple[float, float]:  # fmt: skip
    """(min over α, α̂) of the interpolated values on [α_1, α_K].

    A grid point whose fit is undefined (NaN) at this μ is left out of the interpolation (it counts as
    excluded); fewer than 3 defined points make the result NaN. With ``cells`` (the morph: one observable
    per cell) the "quadratic" parabola joins points of the lowest point's cell only: across a cell boundary
    −2lnL jumps where the observable changes, and a parabola over the jump would invent a minimum.
    """
    if interpolation == "quadratic_global":  # the same parabola; the difference is which points were fitted
        interpolation = "quadratic"
    alphas, values = np.asarray(alphas, dtype=float), np.asarray(values, dtype=float)
    defined = np.isfinite(values)
    if defined.sum() < 3:
        return float("nan"), float("nan")
    alphas, values = alphas[defined], values[defined]
    if cells is not None:
        cells = np.asarray(cells)[defined]
        if interpolation != "quadratic":
            raise ValueError(f"cells (the morph) need the 'quadratic' interpolation, not {interpolation!r}")
    if interpolation == "cubic":
        spline = scipy.interpolate.CubicSpline(alphas, values)
        dense = np.linspace(alphas[0], alphas[-1], ALPHA_DENSE)
        i = int(np.argmin(spline(dense)))
        lo, hi = dense[max(i - 1, 0)], dense[min(i + 1, dense.size - 1)]
        if i in (0, dense.size - 1):
            return float(spline(dense[i])), float(dense[i])
        res = scipy.optimize.minimize_scalar(lambda a: float(spline(a)), bounds=(lo, hi), method="bounded",
                                             options={"xatol": 1e-7})  # fmt: skip
        return float(res.fun), float(res.x)
    if interpolation == "quadratic":
        j = int(np.argmin(values))
        window = cell_window(cells, j, alphas.size)
        if window is None:
            return float(values[j]), float(alphas[j])
        a, v = alphas[window], values[window]
        c2, c1, c0 = np.polyfit(a, v, 2)
        if c2 > 0 and a[0] <= -c1 / (2 * c2) <= a[2]:
            x = -c1 / (2 * c2)
            return float(c0 + c1 * x + c2 * x * x), float(x)
        j = int(np.argmin(values))
        return float(values[j]), float(alphas[j])
    raise ValueError(f"interpolation {interpolation!r} is not one of {INTERPOLATIONS}")


def _walk_down(v, k: int, lo: int, hi: int) -> int:
    """From point ``k`` move to the lower neighbour inside [lo, hi] until none is lower."""
    while True:
        neighbours = [j for j in (k - 1, k + 1) if lo <= j <= hi]
        lower = min(neighbours, key=v, default=k)
        if v(lower) < v(k):
            k = lower
            continue
        return k


def neighbourhood(cells: np.ndarray | None, k: int, size: int) -> np.ndarray:
    """The points a downhill walk from ``k`` usually visits: k ± 2, or with cells k's cell and the two beside it."""
    if cells is None:
        return np.arange(max(k - 2, 0), min(k + 3, size))
    labels = np.unique(cells)
    at = int(np.searchsorted(labels, cells[k]))
    near = labels[max(at - 1, 0) : at + 2]
    return np.flatnonzero(np.isin(cells, near))


def local_quadratic(grid: GridLikelihood, mu: float, k_start: int) -> tuple[float, float, int]:
    """The "quadratic" α-profile at ``mu`` evaluating only the grid points a downhill walk visits.

    From ``k_start`` the walk moves to the lower neighbour until a local minimum k; the parabola through
    k and its neighbours is :func:`minimise_over_alpha`'s "quadratic" answer whenever −2lnL_k(μ) + prior_k
    is unimodal in k (the prior makes it so away from pathological data). With the morph's cells (one
    observable each, −2lnL jumping at their boundaries) the walk goes down inside a cell, then compares the
    minima of the two adjacent cells and moves to a lower one until its cell's minimum is the lowest of the
    three; the parabola stays inside that cell. Returns (value, α̂, k).
    """
    size = grid.alphas.size

    def v(j: int) -> float:
        value = grid.value(j, mu)
        return value if np.isfinite(value) else np.inf

    k = int(np.clip(k_start, 0, size - 1))
    if grid.batch is None:  # the points the walk is likely to visit, fitted at once
        grid.prefill(neighbourhood(grid.cells, k, size), [mu])
    if grid.cells is None:
        k = _walk_down(v, k, 0, size - 1)
    else:
        cells = grid.cells

        def cell_minimum(j: int) -> int:
            same = np.flatnonzero(cells == cells[j])
            return _walk_down(v, j, int(same[0]), int(same[-1]))

        k = cell_minimum(k)
        while True:
            same = np.flatnonzero(cells == cells[k])
            adjacent = [cell_minimum(j) for j in (int(same[0]) - 1, int(same[-1]) + 1) if 0 <= j < size]
            best = min([k, *adjacent], key=v)
            if best == k:
                break
            k = best
    window = cell_window(grid.cells, k, size)
    if window is None:  # a cell of fewer than 3 points: its lowest point
        return v(k), float(grid.alphas[k]), k
    value, alpha = minimise_over_alpha(grid.alphas[window], np.array([v(int(j)) for j in window]), "quadratic")
    return value, alpha, k


def best_grid_point(grid: GridLikelihood) -> int:
    """The grid point whose unconditional fit has the lowest −2lnL_k + prior_k (points without an MLE skipped)."""
    totals = np.array([np.nan if m is None else m.twice_nll for m in grid.mles]) - grid.offsets + grid.prior
    return int(np.nanargmin(totals))


def best_grid_mle(grid: GridLikelihood) -> Minimum:
    """The unconditional fit of :func:`best_grid_point`."""
    return grid.mles[best_grid_point(grid)]


def alpha_profile(grid: GridLikelihood, interpolation: str) -> Callable[[float], tuple[float, float]]:
    """μ ↦ (−2lnL profiled over α and every NP, α̂) of the grid's current data.

    "quadratic" fits only the grid points a downhill walk in α visits (:func:`local_quadratic`), starting
    from the last μ's lowest point; "cubic" and "quadratic_global" fit every point. Without a batch hook the points
    a μ needs are fitted at once first (:meth:`GridLikelihood.prefill`); with one (toys or datasets in lock step)
    each fit joins the shared batch as the walk asks for it (prefilling the walk's neighbourhood there made the
    tiny aware toys 2x slower: fits of points the walk never visits).
    """
    if interpolation == "quadratic":  # the parabola needs the lowest point and its neighbours only
        nearest = [best_grid_point(grid)]

        def profile(m: float) -> tuple[float, float]:
            value, alpha, nearest[0] = local_quadratic(grid, float(m), nearest[0])
            return value, alpha

        return profile
    points = np.arange(grid.alphas.size)

    def every_point(m: float) -> tuple[float, float]:
        if grid.batch is None:
            grid.prefill(points, [float(m)])
        return minimise_over_alpha(grid.alphas, grid.values(float(m), points), interpolation, grid.cells)

    return every_point
