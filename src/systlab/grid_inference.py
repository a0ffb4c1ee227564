"""CLs upper limit and discovery significance of a grid-profiled likelihood (a parameterized classifier).

The profile −2lnL(μ) is the one the grid fits use (:func:`systlab.grid_interval.alpha_profile`: every
NP profiled inside each α_k, α profiled across the grid with its prior), with μ bounded below by 0 as
q̃_μ and q0 require. The asymptotic formulae are those of the fixed classifiers
(:func:`systlab.limits.limit_from_profiles`, Cowan et al. 2011). The background-only Asimov data are
the template-split nominal events at μ = 0 binned with f(x; α_k) at every grid point: the expected
background at α = 0 with nominal NPs (for a fixed classifier pyhf takes the NPs of the μ = 0 fit to
the data; on μ = 1 Asimov data that fit moves them by a fraction of their prior width).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import scipy.stats

from systlab.grid import GridLikelihood
from systlab.grid_interval import alpha_profile, best_grid_mle, parabolic_minimum
from systlab.limits import UpperLimit, limit_from_profiles
from systlab.significance import Significance, p_to_z


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
) -> UpperLimit:
    """Asymptotic CLs limit on μ of the grid likelihood; the upper μ bound doubles from ``high`` while a limit sits
    at it (up to ``max_high``). ``observed`` and ``background_asimov``: counts at every grid point."""
    if not 0.0 < high <= max_high:
        raise ValueError(f"upper POI bound {high} not in (0, {max_high}]")
    while True:
        data = GridLikelihood(specs, observed, alphas, 0.0, 1.0, (0.0, high))
        asimov = GridLikelihood(specs, background_asimov, alphas, 0.0, 1.0, (0.0, high))
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
) -> Significance:
    """q0 = −2ΔlnL(μ = 0) of the grid likelihood (μ̂ ≥ 0) → p0, Z0. ``observed`` is the μ = 1 Asimov data of the
    grid, so the observed and the expected (median at μ = 1) significance are the same number here."""
    grid = GridLikelihood(specs, observed, alphas, 0.0, 1.0, (0.0, high))
    q, mu_hat = bounded_profile(grid, interpolation)
    q0 = q(0.0)
    p0 = float(scipy.stats.norm.sf(np.sqrt(q0))) if np.isfinite(q0) else float("nan")
    z0 = p_to_z(p0)
    return Significance(q0=q0, p0=p0, z0=z0, p0_expected=p0, z0_expected=z0, mu_hat=mu_hat)
