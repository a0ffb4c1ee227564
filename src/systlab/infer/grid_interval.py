"""The scan-free interval of a grid-profiled likelihood (the toys' fast path) and its building blocks.

:func:`grid_interval` finds μ̂ by successive parabolas on the α-profiled −2lnL and the 68% crossings by a
safeguarded secant on √q (:class:`systlab.infer.crossing.CrossingSearch`, as for one binned model); with the "quadratic"
interpolation only the grid points a downhill walk in α visits are fitted (:func:`local_quadratic`). The
parabolas are :func:`systlab.likelihood.profile.parabolic_minimum`, shared with the grid's profile likelihood.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from systlab.infer.crossing import Q_TOL, CrossingSearch
from systlab.likelihood.grid import CONVERGENCE_MARGIN, GridLikelihood
from systlab.likelihood.grid_alpha import alpha_profile, best_grid_mle
from systlab.likelihood.profile import parabolic_minimum


class GridInterval(NamedTuple):
    """μ̂, α̂ and the 68% interval of a grid found without a scan (toys), and q_μ at a given μ."""

    mu_hat: float
    alpha_hat: float
    interval_68: tuple[float, float]
    interval_open: tuple[bool, bool]
    converged: bool
    n_fits: int  # conditional and unconditional fits, summed over grid points
    q_mu: float  # −2ΔlnL at the requested μ (NaN if none requested or outside the μ range)
    twice_nll_min: float = float("nan")  # −2lnL at μ̂ (saturated terms removed, prior added)


def _crossing(q, mu_hat: float, sigma: float, side: int, edge: float, q_tol: float = Q_TOL) -> tuple[float, bool, bool]:
    """(μ, open, converged) where q(μ) = 1 on ``side`` of μ̂ (:class:`CrossingSearch` on the profile ``q``)."""
    search = CrossingSearch(mu_hat, sigma, side, edge, q_tol)
    while True:
        index, mu = search.trials()
        if not index.size:
            return float(search.mu[0]), bool(search.open[0]), bool(search.converged[0])
        search.update(index, np.array([q(float(mu[0]))]))


def grid_interval(grid: GridLikelihood, interpolation: str = "cubic", mu: float | None = None,
                  q_tol: float = 1e-2) -> GridInterval:  # fmt: skip
    """μ̂, α̂ and the 68% interval of the grid's current data without a scan (the toys' fast path).

    μ̂: successive parabolas on the α-profiled −2lnL from the best grid point's MLE ± its Newton error;
    the crossings: a safeguarded secant on √q from μ̂ ± the parabola's width, accepted at
    |q − 1| < ``q_tol`` (1e-2: the end within ~0.005σ). ``mu`` also gets q_μ (the Wilks check).
    """
    lo_mu, hi_mu = grid.mu_range
    profile = alpha_profile(grid, interpolation)
    best = best_grid_mle(grid)
    poi = grid.liks[0].poi
    sigma = float(best.errors[poi])
    if not (np.isfinite(sigma) and sigma > 0):
        sigma = 0.1 * (hi_mu - lo_mu)
    seen: dict[float, float] = {}  # every profile value computed: a crossing search may find a lower minimum

    def twice_nll(m: float) -> float:
        seen[m] = profile(m)[0]
        return seen[m]

    start, width = float(best.pars[poi]), sigma
    for attempt in range(3):
        mu_hat, minimum, curvature = parabolic_minimum(twice_nll, start, width, (lo_mu, hi_mu), tol=1e-2 * sigma)
        if curvature > 0:
            width = 1.0 / np.sqrt(curvature)  # the profile's own width: the crossings' first guesses

        def q(m: float, minimum: float = minimum) -> float:
            return twice_nll(m) - minimum

        (lo, open_lo, ok_lo), (hi, open_hi, ok_hi) = (_crossing(q, mu_hat, width, s, e, q_tol)
                                                      for s, e in ((-1, lo_mu), (+1, hi_mu)))  # fmt: skip
        lowest = min(seen, key=lambda m: np.nan_to_num(seen[m], nan=np.inf))
        if not seen[lowest] < minimum - q_tol:
            break
        start = lowest  # a second, lower minimum (a bimodal profile): restart from it
        grid.notes.append(f"profile minimum moved from mu {mu_hat:.4g} to near {lowest:.4g} (attempt {attempt + 2})")
    alpha_hat = profile(mu_hat)[1]
    q_mu = float("nan") if mu is None or not lo_mu <= mu <= hi_mu else max(q(float(mu)), 0.0)
    settled = grid.converged_between(lo - 1e-6, hi + 1e-6, ceiling=minimum + CONVERGENCE_MARGIN)
    converged = bool(settled and ok_lo and ok_hi and np.isfinite(minimum))
    n_fits = sum(m is not None for m in grid.mles) + sum(len(c) for c in grid.cache)
    return GridInterval(
        mu_hat, float(alpha_hat), (lo, hi), (open_lo, open_hi), converged, n_fits, float(q_mu), float(minimum)
    )
