"""CLs upper limit, discovery significance and impacts of a grid-profiled likelihood (a parameterized classifier).

Each function builds the grid's :class:`systlab.likelihood.profile.GridProfileLikelihood` and runs the one
implementation the fixed classifiers use too (:func:`systlab.infer.limits.profile_upper_limit`,
:func:`systlab.infer.significance.profile_significance`, :func:`systlab.infer.impacts.profile_impacts`). The profile
−2lnL(μ) is the one the grid fits use (every NP profiled inside each α_k, α profiled across the grid with its prior),
with μ bounded below by 0 as q̃_μ and q0 require. What stays the grid's own:

- the background-only Asimov data are the caller's: the template-split nominal events at μ = 0 binned with
  f(x; α_k) at every grid point, i.e. the expected background at α = 0 with nominal NPs (for a fixed classifier pyhf
  takes the NPs of the μ = 0 fit to the data; on μ = 1 Asimov data that fit moves them by a fraction of their prior
  width), and the expected Z0 is the observed one (the observed data are the μ = 1 Asimov data);
- μ̂ of the limits and Z0 comes from successive parabolas (to 1e-3 σ), that of the impacts from the scan-free 68%
  interval (:func:`systlab.infer.grid_interval.grid_interval`), whose half-width is σ_μ;
- in the impacts θ̂ and σ_post are parabolas of the profile, not a Hessian, and the per-bin MC-statistics NPs are
  left out: the bins differ between grid points (see :class:`GridProfileLikelihood`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from systlab.infer.grid_interval import grid_interval
from systlab.infer.impacts import OVER_CONSTRAINT, Impacts, profile_impacts
from systlab.infer.limits import UpperLimit, limit_in_range, profile_upper_limit
from systlab.infer.significance import Significance, profile_significance
from systlab.likelihood.grid import GridLikelihood
from systlab.likelihood.morph import Morph
from systlab.likelihood.profile import GridProfileLikelihood


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

    def limit_at(hi: float) -> UpperLimit:
        data = GridLikelihood(specs, observed, alphas, 0.0, 1.0, (0.0, hi), morph=morph)
        background = GridLikelihood(specs, background_asimov, alphas, 0.0, 1.0, (0.0, hi), morph=morph)
        return profile_upper_limit(GridProfileLikelihood(data, interpolation),
                                   GridProfileLikelihood(background, interpolation), cl)  # fmt: skip

    return limit_in_range(limit_at, high, max_high)


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
    return profile_significance(GridProfileLikelihood(grid, interpolation))


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
    """Pulls, constraints and the impact ranking on μ̂ of the grid likelihood (α's prior N(0, 1); see the module
    docstring): μ̂, α̂ and σ_μ from the scan-free 68% interval."""
    grid = GridLikelihood(specs, observed, alphas, 0.0, 1.0, mu_range, morph=morph)
    found = grid_interval(grid, interpolation)
    return profile_impacts(GridProfileLikelihood(grid, interpolation, np_name, interval=found), over_constraint)
