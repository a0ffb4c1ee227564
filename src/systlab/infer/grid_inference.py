"""CLs upper limit, discovery significance and impacts of a grid-profiled likelihood (a parameterized classifier).

The profile −2lnL(μ) is the one the grid fits use (:func:`systlab.infer.grid_interval.alpha_profile`: every
NP profiled inside each α_k, α profiled across the grid with its prior), with μ bounded below by 0 as
q̃_μ and q0 require. The asymptotic formulae are those of the fixed classifiers
(:func:`systlab.infer.limits.limit_from_profiles`, Cowan et al. 2011). The background-only Asimov data are
the template-split nominal events at μ = 0 binned with f(x; α_k) at every grid point: the expected
background at α = 0 with nominal NPs (for a fixed classifier pyhf takes the NPs of the μ = 0 fit to
the data; on μ = 1 Asimov data that fit moves them by a fraction of their prior width).

Impacts (:func:`grid_impacts`): the grid's own NP α is held at α̂ ± σ_α (post-fit, μ profiled) and α̂ ± 1 (its
prior) with −2lnL interpolated at that α; every other scalar NP is held at θ̂ ± σ_post and θ̂ ± σ_prior inside
every grid point's fits, and α is profiled as usual. θ̂ and σ_post are the vertex and width of a parabola
through the profile minimum with the NP held at two points, so they include its correlation with α.
Per-bin MC-statistics NPs are left out: the bins differ between grid points.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import scipy.interpolate
import scipy.stats

from systlab.infer.grid_interval import grid_interval, parabolic_minimum
from systlab.infer.impacts import OVER_CONSTRAINT, Impact, Impacts, Pull, constrained_parameters
from systlab.infer.limits import UpperLimit, limit_from_profiles
from systlab.infer.significance import Significance, p_to_z
from systlab.likelihood.grid import GridLikelihood, Morph
from systlab.likelihood.grid_alpha import alpha_profile, best_grid_mle, cell_window


def bounded_profile(grid: GridLikelihood, interpolation: str) -> tuple[Callable[[float], float], float]:
    """(μ ↦ −2ΔlnL(μ) relative to the minimum inside the grid's μ range, μ̂): values cached per μ."""
    profile = alpha_profile(grid, interpolation)
    cache: dict[float, float] = {}

    def twice_nll(mu: float) -> float:
        if mu not in cache:
            cache[mu] = profile(float(mu))[0]
        return cache[mu]

    best = best_grid_mle(grid)
    poi = grid.liks[0].poi
    lo, hi = grid.mu_range
    sigma = float(best.errors[poi])
    if not (np.isfinite(sigma) and sigma > 0):
        sigma = 0.1 * (hi - lo)
    mu_hat, minimum, _ = parabolic_minimum(twice_nll, float(best.pars[poi]), sigma, (lo, hi), tol=1e-3 * sigma)
    if not np.isfinite(minimum):
        raise ValueError(f"the grid profile is undefined at every mu tried in [{lo}, {hi}]")

    def q(mu: float) -> float:
        value = twice_nll(float(mu)) - minimum
        return float(max(value, 0.0)) if np.isfinite(value) else float("nan")

    return q, float(mu_hat)


def grid_upper_limit(
    specs: Sequence[dict],
    observed: Sequence[np.ndarray],
    background_asimov: Sequence[np.ndarray],
    alphas: Sequence[float],
    high: float,
    max_high: float,
    interpolation: str = "quadratic",
    cl: float = 0.95,
    morph: Morph | None = None,
) -> UpperLimit:
    """Asymptotic CLs limit on μ of the grid likelihood; the upper μ bound doubles from ``high`` while a limit sits
    at it (up to ``max_high``). ``observed`` and ``background_asimov``: counts at every grid point."""
    if not 0.0 < high <= max_high:
        raise ValueError(f"upper POI bound {high} not in (0, {max_high}]")
    while True:
        data = GridLikelihood(specs, observed, alphas, 0.0, 1.0, (0.0, high), morph=morph)
        asimov = GridLikelihood(specs, background_asimov, alphas, 0.0, 1.0, (0.0, high), morph=morph)
        q_data, mu_hat = bounded_profile(data, interpolation)
        q_asimov, _ = bounded_profile(asimov, interpolation)
        result = limit_from_profiles(q_data, q_asimov, mu_hat, cl, (0.0, high))
        if not result.at_bound or high >= max_high:
            return result
        high = min(2.0 * high, max_high)


def grid_significance(
    specs: Sequence[dict],
    observed: Sequence[np.ndarray],
    alphas: Sequence[float],
    high: float,
    interpolation: str = "quadratic",
    morph: Morph | None = None,
) -> Significance:
    """q0 = −2ΔlnL(μ = 0) of the grid likelihood (μ̂ ≥ 0) → p0, Z0. ``observed`` is the μ = 1 Asimov data of the
    grid, so the observed and the expected (median at μ = 1) significance are the same number here."""
    grid = GridLikelihood(specs, observed, alphas, 0.0, 1.0, (0.0, high), morph=morph)
    q, mu_hat = bounded_profile(grid, interpolation)
    q0 = q(0.0)
    p0 = float(scipy.stats.norm.sf(np.sqrt(q0))) if np.isfinite(q0) else float("nan")
    z0 = p_to_z(p0)
    return Significance(q0=q0, p0=p0, z0=z0, p0_expected=p0, z0_expected=z0, mu_hat=mu_hat)


def value_at_alpha(grid: GridLikelihood, mu: float, alpha: float, interpolation: str) -> float:
    """−2lnL_k(μ) + prior_k interpolated at ``alpha``: a cubic spline through every grid point, or ("quadratic")
    the parabola through the three grid points nearest ``alpha`` (with the morph: in the nearest point's cell)."""
    if interpolation == "cubic":
        points = np.arange(grid.alphas.size)
    elif grid.cells is not None:
        nearest = int(np.argmin(np.abs(grid.alphas - alpha)))
        points = cell_window(grid.cells, nearest, grid.alphas.size)
        if points is None:
            return grid.value(nearest, float(mu))
    else:
        points = np.sort(np.argsort(np.abs(grid.alphas - alpha))[:3])
    values = grid.values(float(mu), points)
    if not np.isfinite(values).all():
        return float("nan")
    if interpolation == "cubic":
        return float(scipy.interpolate.CubicSpline(grid.alphas, values)(alpha))
    return float(np.polyval(np.polyfit(grid.alphas[points], values, 2), alpha))


def grid_impacts(
    specs: Sequence[dict],
    observed: Sequence[np.ndarray],
    alphas: Sequence[float],
    mu_range: tuple[float, float],
    np_name: str,
    interpolation: str = "quadratic",
    over_constraint: float = OVER_CONSTRAINT,
    morph: Morph | None = None,
) -> Impacts:
    """Pulls, constraints and the impact ranking on μ̂ of the grid likelihood (see the module docstring)."""
    grid = GridLikelihood(specs, observed, alphas, 0.0, 1.0, mu_range, morph=morph)
    found = grid_interval(grid, interpolation)
    mu_hat, alpha_hat = found.mu_hat, found.alpha_hat
    sigma_mu = 0.5 * (found.interval_68[1] - found.interval_68[0])
    tol = 1e-3 * sigma_mu

    def argmin_mu(twice_nll) -> tuple[float, float]:
        x, value, _ = parabolic_minimum(twice_nll, mu_hat, sigma_mu, grid.mu_range, tol=tol)
        return x, value

    def profiled() -> tuple[float, float]:
        """(μ̂, min −2lnL) with α and every NP not held profiled."""
        profile = alpha_profile(grid, interpolation)
        return argmin_mu(lambda m: profile(m)[0])

    # α: its μ-profiled width from a parabola through α̂ and α̂ ± ¼, then again through α̂ ± that width
    lo_a, hi_a = float(grid.alphas[0]), float(grid.alphas[-1])
    sigma_alpha = 0.25
    for _ in range(2):
        probes = np.clip(alpha_hat + np.array([-sigma_alpha, 0.0, sigma_alpha]), lo_a, hi_a)
        heights = [argmin_mu(lambda m, a=a: value_at_alpha(grid, m, a, interpolation))[1] for a in probes]
        c2 = np.polyfit(probes, heights, 2)[0] if np.ptp(probes) > 0 and np.isfinite(heights).all() else np.nan
        sigma_alpha = float(1.0 / np.sqrt(c2)) if c2 > 0 else float("nan")
        if not np.isfinite(sigma_alpha):
            break
    pulls = [Pull(np_name, float(alpha_hat), sigma_alpha, bool(sigma_alpha < over_constraint))]
    shifts = []
    for delta in (sigma_alpha, -sigma_alpha, 1.0, -1.0):
        if not np.isfinite(delta):
            shifts.append(float("nan"))
            continue
        a = float(np.clip(alpha_hat + delta, lo_a, hi_a))
        shifts.append(argmin_mu(lambda m, a=a: value_at_alpha(grid, m, a, interpolation))[0] - mu_hat)
    ranking = [Impact(np_name, *shifts)]
    # the other scalar NPs, held inside every grid point's fits; θ̂ and σ_post from the profile in θ (α profiled):
    # a parabola through θ̂_k ± σ_k, the fit and Hessian at the grid point nearest α̂ (α fixed there)
    k = int(np.argmin(np.abs(grid.alphas - alpha_hat)))
    lik = grid.liks[k]
    best = grid.conditional(k, mu_hat, grid.mles[k].pars if grid.mles[k] is not None else lik.init)
    errors = lik.hessian_errors(best.pars, lik.fixed)

    def held_minimum(label: str, value: float) -> tuple[float, float]:
        grid.hold(label, value)
        return profiled()

    for label, j, centre, width in constrained_parameters(lik, include_staterror=False):
        theta, step = float(best.pars[j]), float(errors[j]) if errors[j] > 0 else width
        lo_b, hi_b = lik.bounds[j]
        probes = [float(np.clip(theta - step, lo_b, hi_b)), theta, float(np.clip(theta + step, lo_b, hi_b))]
        heights = [held_minimum(label, value)[1] for value in probes]
        c2, c1, _ = np.polyfit(probes, heights, 2)
        if c2 > 0:
            theta, sigma_post = float(np.clip(-c1 / (2 * c2), lo_b, hi_b)), float(1.0 / np.sqrt(c2))
        else:
            sigma_post = step
            grid.notes.append(f"{label}: the profile in it is not convex near its fit; Hessian width kept")
        constraint = sigma_post / width
        pulls.append(Pull(label, (theta - centre) / width, constraint, bool(constraint < over_constraint)))
        shifts = [held_minimum(label, float(np.clip(theta + d, lo_b, hi_b)))[0] - mu_hat
                  for d in (sigma_post, -sigma_post, width, -width)]  # fmt: skip
        ranking.append(Impact(label, *shifts))
    grid.hold(None)
    ranking.sort(key=lambda r: (-r.size, r.name))
    return Impacts(mu_hat=float(mu_hat), mu_error=float(sigma_mu), pulls=tuple(pulls), ranking=tuple(ranking),
                   over_constraint=float(over_constraint), converged=bool(found.converged),
                   notes=tuple(grid.notes))  # fmt: skip
