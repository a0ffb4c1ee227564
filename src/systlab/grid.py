"""The grid-profiled likelihood of a parameterized classifier f(x; α), profiled continuously over α.

At every grid point α_k the caller gives a full pyhf workspace (templates of f(x; α_k); every other
NP inside as usual) and the observed counts re-binned with f(x; α_k). Per k and μ, everything but μ
is profiled (a pyhf conditional fit) → −2lnL_k(μ). Because the binned data differ between grid
points, each −2lnL_k is taken relative to its saturated Poisson term (the deviance
2Σ[ν − n + n ln(n/ν)] plus the constraint terms), which removes the data-only terms
(ln n!, n ln n) that change with the binning. Adding the Gaussian prior ((α_k − α0)/σ)² and
interpolating across k (cubic spline, or a parabola through the lowest point and its neighbours)
gives −2lnL(μ, α), minimised over α → the profile −2ΔlnL(μ), μ̂, α̂ and the 68% interval.

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

INTERPOLATIONS = ("cubic", "quadratic")
#: Points of the dense α grid on which the interpolated −2lnL is first minimised.
ALPHA_DENSE = 401


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


def saturated_twice_nll(observed: np.ndarray) -> float:
    """−2 Σ ln Poisson(n | n): the main-data part of −2lnL of the saturated model."""
    n = np.asarray(observed, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        logn = np.where(n > 0, n * np.log(np.where(n > 0, n, 1.0)), 0.0)
    return float(-2.0 * np.sum(logn - n - scipy.special.gammaln(n + 1.0)))


class GridLikelihood:
    """−2lnL_k(μ) + prior_k for every grid point, each conditional fit cached and warm-started."""

    def __init__(self, specs: Sequence[dict], observed: Sequence[Sequence[float]], alphas: Sequence[float],
                 alpha0: float, alpha_sigma: float, mu_range: tuple[float, float]) -> None:  # fmt: skip
        if not len(specs) == len(observed) == len(alphas):
            raise ValueError(f"{len(specs)} specs, {len(observed)} observations and {len(alphas)} alphas differ")
        self.alphas = np.asarray(alphas, dtype=float)
        if self.alphas.size < 3 or not np.all(np.diff(self.alphas) > 0):
            raise ValueError(f"alphas must be >= 3 increasing grid points, got {self.alphas.tolist()}")
        if not alpha_sigma > 0:
            raise ValueError(f"alpha_sigma {alpha_sigma} must be > 0")
        self.liks = [Likelihood(s, o, mu_range) for s, o in zip(specs, observed, strict=True)]
        self.offsets = np.array([saturated_twice_nll(o) for o in observed])
        self.prior = ((self.alphas - alpha0) / alpha_sigma) ** 2
        self.mu_range = tuple(map(float, mu_range))
        self.notes: list[str] = []
        self.mles: list[Minimum] = [lik.mle(notes=self.notes, hesse=False) for lik in self.liks]
        self.cache: list[dict[float, Minimum]] = [{} for _ in self.liks]
        self.converged = all(m.converged for m in self.mles)

    def value(self, k: int, mu: float) -> float:
        """−2lnL_k(μ) (conditional fit, saturated term removed) + prior_k."""
        cache = self.cache[k]
        if mu not in cache:
            near = min(cache, key=lambda m: abs(m - mu), default=None)
            start = self.mles[k].pars if near is None else cache[near].pars
            cache[mu] = self.liks[k].fixed_mu(mu, start, self.notes)
            self.converged &= cache[mu].converged
        return cache[mu].twice_nll - self.offsets[k] + self.prior[k]

    def values(self, mu: float, points: np.ndarray) -> np.ndarray:
        return np.array([self.value(int(k), float(mu)) for k in points])


def minimise_over_alpha(alphas: np.ndarray, values: np.ndarray, interpolation: str) -> tuple[float, float]:
    """(min over α, α̂) of the interpolated values on [α_1, α_K]; NaN values make the result NaN."""
    if not np.isfinite(values).all():
        return float("nan"), float("nan")
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
        k = int(np.clip(np.argmin(values), 1, alphas.size - 2))
        a, v = alphas[k - 1 : k + 2], values[k - 1 : k + 2]
        c2, c1, c0 = np.polyfit(a, v, 2)
        if c2 > 0 and a[0] <= -c1 / (2 * c2) <= a[2]:
            x = -c1 / (2 * c2)
            return float(c0 + c1 * x + c2 * x * x), float(x)
        j = int(np.argmin(values))
        return float(values[j]), float(alphas[j])
    raise ValueError(f"interpolation {interpolation!r} is not one of {INTERPOLATIONS}")


def _profile(grid: GridLikelihood, points: np.ndarray, mu_grid: np.ndarray, interpolation: str,
             notes: list[str]) -> tuple[GridSummary, np.ndarray, np.ndarray, float]:  # fmt: skip
    """μ̂, α̂, interval, scan (−2lnL) and α̂(μ) of the grid restricted to ``points``."""
    alphas = grid.alphas[points]

    def twice_nll(mu: float) -> tuple[float, float]:
        return minimise_over_alpha(alphas, grid.values(mu, points), interpolation)

    scan = np.array([twice_nll(float(m)) for m in mu_grid])
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
) -> GridProfile:
    """Profile −2lnL(μ, α) over α (prior N(α0, α_sigma)) and every NP of the grid's workspaces.

    ``specs[k]``/``observed[k]`` are the workspace and observed counts at ``alphas[k]``. The half-grid
    summary (every second point, which needs an odd number of points to keep both ends) shows the
    effect of the grid spacing.
    """
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation {interpolation!r} is not one of {INTERPOLATIONS}")
    grid = GridLikelihood(specs, observed, alphas, alpha0, alpha_sigma, mu_range)
    mu_grid = np.linspace(float(mu_range[0]), float(mu_range[1]), int(scan_points))
    notes: list[str] = []
    points = np.arange(grid.alphas.size)
    summary, q, scan_alpha, minimum = _profile(grid, points, mu_grid, interpolation, notes)
    half = None
    if half_grid and grid.alphas.size >= 5:
        half, *_ = _profile(grid, points[::2], mu_grid, interpolation, [])
    per_point = np.array([[grid.value(int(k), float(m)) for m in mu_grid] for k in points]) - minimum
    at_edge = bool(np.isclose(summary.alpha_hat, grid.alphas[0]) or np.isclose(summary.alpha_hat, grid.alphas[-1]))
    if at_edge:
        notes.append(f"alpha_hat {summary.alpha_hat:g} on the edge of the grid: widen it")
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
        converged=bool(grid.converged and not any("did not converge" in n for n in grid.notes)),
        notes=tuple(grid.notes + notes),
    )


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
        "per_point": [[json_float(v) for v in row] for row in result.per_point],
        "interpolation": result.interpolation,
        "half_grid": half,
        "alpha_at_edge": result.alpha_at_edge,
        "converged": result.converged,
        "notes": list(result.notes),
    }


def write_grid_profile(result: GridProfile, path: str | os.PathLike) -> None:
    """Write a grid profile as sorted-key JSON, atomically."""
    write_json(path, grid_payload(result))
