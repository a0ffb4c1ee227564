"""Limits and Z0 of the grid-profiled likelihood reproduce the one-workspace answers for a linear histosys."""

from __future__ import annotations

import numpy as np
import pytest

from systlab.infer.grid_inference import grid_impacts, grid_significance, grid_upper_limit
from systlab.infer.impacts import impacts
from systlab.infer.limits import UpperLimit, profile_upper_limit, upper_limit
from systlab.infer.significance import discovery_significance
from systlab.likelihood.binned import Likelihood
from systlab.likelihood.morph import histosys_grid_specs
from systlab.likelihood.profile import BinnedProfileLikelihood
from test_grid import ALPHAS, B1, B2, SIG, TILT, histosys_spec

WEAK = 0.1 * SIG  # S/B <= 0.1: the mu = 0 fit to the mu = 1 Asimov data hardly pulls the NPs
EXPECTED = WEAK + B1 + B2  # μ = 1, α = 0: the Asimov data of both constructions
BACKGROUND = B1 + B2


def nominal_asimov_limit(spec: dict, bounds: tuple[float, float]) -> UpperLimit:
    """The one-workspace limit with the background-only Asimov data at nominal NPs (the grid's convention): the same
    limit implementation on the binned profile of each dataset."""
    data, background = Likelihood(spec, EXPECTED, bounds), Likelihood(spec, BACKGROUND, bounds)
    return profile_upper_limit(BinnedProfileLikelihood(data), BinnedProfileLikelihood(background), 0.95)


# the parabola through the three lowest of 13 grid points (0.5 sigma apart) misses -2lnL(alpha) by up to
# ~0.05 (q0 0.78 vs 0.74)
@pytest.mark.parametrize(("interpolation", "rel"), [("cubic", 1e-3), ("quadratic", 0.04)])
def test_grid_limit_and_z0_equal_the_histosys_workspace_for_a_linear_variation(interpolation, rel):
    spec = histosys_spec(WEAK)
    specs = histosys_grid_specs(spec, "tes", ALPHAS)
    ref = upper_limit(spec, EXPECTED, poi_bounds=(0.0, 5.0))
    grid = grid_upper_limit(specs, [EXPECTED] * ALPHAS.size, [BACKGROUND] * ALPHAS.size, ALPHAS, 5.0, 40.0,
                            interpolation)  # fmt: skip
    assert not grid.at_bound and 0.1 < ref.expected[2] < 5.0
    same = nominal_asimov_limit(spec, (0.0, 5.0))  # the workspace with the grid's background-only Asimov data
    assert grid.expected == pytest.approx(same.expected, rel=rel)
    assert grid.observed == pytest.approx(same.observed, rel=rel)
    # pyhf's convention takes the Asimov NPs from the mu = 0 fit to the data: a few per cent apart here
    assert grid.expected == pytest.approx(ref.expected, rel=0.05)
    z_ref = discovery_significance(spec, EXPECTED, (0.0, 5.0))
    z = grid_significance(specs, [EXPECTED] * ALPHAS.size, ALPHAS, 5.0, interpolation)
    assert z.z0 == pytest.approx(z_ref.z0, rel=rel) and z.z0 == z.z0_expected
    assert z.mu_hat == pytest.approx(1.0, abs=rel)  # quadratic: 1.034, 0.03 of the 68% half-width


def test_grid_limit_widens_its_range_when_the_limit_sits_at_the_bound():
    specs = histosys_grid_specs(histosys_spec(WEAK), "tes", ALPHAS)
    data = [np.round(1.8 * WEAK * (1 + 0.3 * TILT) + B1 + B2)] * ALPHAS.size  # an excess: the limit is above 1.8
    result = grid_upper_limit(specs, data, [BACKGROUND] * ALPHAS.size, ALPHAS, 1.0, 16.0)
    assert result.poi_bounds[1] > 1.0 and not result.at_bound and result.observed > 1.8
    with pytest.raises(ValueError, match="upper POI bound"):
        grid_upper_limit(specs, data, [BACKGROUND] * ALPHAS.size, ALPHAS, 0.0, 16.0)


def test_grid_impacts_equal_the_histosys_workspace_for_a_linear_variation():
    spec = histosys_spec(WEAK)
    observed = np.round((1.2 * WEAK + B1 + B2) * (1 + 0.7 * TILT))  # truth mu = 1.2, tes = 0.7
    ref = impacts(spec, observed, (-3.0, 5.0))
    grid = grid_impacts(histosys_grid_specs(spec, "tes", ALPHAS), [observed] * ALPHAS.size, ALPHAS, (-3.0, 5.0),
                        "tes", "cubic")  # fmt: skip
    assert grid.mu_hat == pytest.approx(ref.mu_hat, abs=0.01 * ref.mu_error)
    assert grid.mu_error == pytest.approx(ref.mu_error, rel=0.02)  # profile half-width vs Hessian error
    want = {r.name: r for r in ref.ranking}
    have = {r.name: r for r in grid.ranking}
    assert set(have) == {"tes", "xs"}  # per-bin MC-statistics NPs are left out of the grid's impacts
    for name in have:
        for field in ("postfit_up", "postfit_down", "prefit_up", "prefit_down"):
            assert getattr(have[name], field) == pytest.approx(getattr(want[name], field), abs=0.03 * ref.mu_error), (
                name, field)
    pulls = {p.name: p for p in grid.pulls}
    ref_pulls = {p.name: p for p in ref.pulls}
    for name in ("tes", "xs"):
        assert pulls[name].pull == pytest.approx(ref_pulls[name].pull, abs=0.02)
        assert pulls[name].constraint == pytest.approx(ref_pulls[name].constraint, rel=0.05)
