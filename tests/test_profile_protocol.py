"""The profile-likelihood protocol: limits, Z0 and impacts written once run on any implementation (a closed-form
Gaussian here), and the binned and grid adapters answer its questions alike."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from systlab.infer.impacts import profile_impacts
from systlab.infer.limits import profile_upper_limit
from systlab.infer.significance import discovery_q0, profile_significance
from systlab.likelihood.binned import Likelihood
from systlab.likelihood.grid import GridLikelihood
from systlab.likelihood.morph import histosys_grid_specs
from systlab.likelihood.profile import (
    BinnedProfileLikelihood,
    GridProfileLikelihood,
    Nuisance,
    ProfileLikelihood,
    ProfileMinimum,
)
from test_grid import B1, B2, SIG, TILT, histosys_spec
from test_limits import one_bin_spec

S, B, SIGMA_N, SIGMA_B = 10.0, 50.0, 5.0, 3.0
SIGMA = np.hypot(SIGMA_N, SIGMA_B)  # the profiled width of the count


class GaussianProfile:
    """−2lnL = ((n − μs − b − θσ_b)/σ_n)² + θ², profiled over θ in closed form: a third implementation."""

    def __init__(self, n: float, mu_range: tuple[float, float] = (0.0, 10.0)) -> None:
        self.n, self.mu_range, self.notes, self.converged = n, mu_range, [], True

    def _clip(self, mu: float) -> float:
        return float(np.clip(mu, *self.mu_range))

    def profiled(self, mu: float) -> float:
        return (self.n - mu * S - B) ** 2 / SIGMA**2

    def mle(self) -> ProfileMinimum:
        mu = self._clip((self.n - B) / S)
        return ProfileMinimum(mu, self.profiled(mu))

    def mu_error(self) -> float:
        return SIGMA / S

    def nuisances(self) -> list[Nuisance]:
        return [Nuisance("theta", 0.0, 1.0, (-5.0, 5.0))]

    def postfit(self, nuisance: Nuisance) -> tuple[float, float]:
        r = self.n - self.mle().mu_hat * S - B
        return SIGMA_B * r / SIGMA**2, 1.0  # one count: μ absorbs θ, only the prior constrains it

    def held_mle(self, label: str, value: float) -> ProfileMinimum:
        mu = self._clip((self.n - B - value * SIGMA_B) / S)
        return ProfileMinimum(mu, ((self.n - mu * S - B - value * SIGMA_B) / SIGMA_N) ** 2 + value**2)


@pytest.mark.parametrize("n", [62.0, 45.0])
def test_limit_of_any_profile_is_the_closed_form_gaussian_cls(n):
    data, background = GaussianProfile(n), GaussianProfile(B)
    assert isinstance(data, ProfileLikelihood)
    r = profile_upper_limit(data, background)

    def limit(k: float) -> float:  # √q_A = μs/σ: Φ(−(k + √q_A))/Φ(−k) = 0.05
        return SIGMA / S * (norm.isf(0.05 * norm.sf(k)) - k)

    # the data a shift k = (b − n)/σ from the background: q̃_μ ≤ q_A (n ≥ b) and q̃_μ > q_A (n < b, μ̂ clipped to 0)
    # both give CLs = Φ(−(k + √q_A))/Φ(−k), the band formula at N = k
    assert r.observed == pytest.approx(limit((B - n) / SIGMA), rel=1e-3)
    bands = sorted(limit(k) for k in (2, 1, 0, -1, -2))
    assert r.expected == pytest.approx(bands, rel=1e-3) and not r.at_bound
    with pytest.raises(ValueError, match="mu ranges differ"):
        profile_upper_limit(data, GaussianProfile(B, (0.0, 5.0)))
    with pytest.raises(ValueError, match="lower POI bound"):
        profile_upper_limit(GaussianProfile(n, (-1.0, 10.0)), GaussianProfile(B, (-1.0, 10.0)))


def test_significance_and_impacts_of_any_profile_are_the_closed_form_gaussian_ones():
    z = profile_significance(GaussianProfile(B + 1.5 * S), GaussianProfile(B + S))
    assert z.z0 == pytest.approx(1.5 * S / SIGMA, rel=1e-12) and z.mu_hat == pytest.approx(1.5)
    assert z.z0_expected == pytest.approx(S / SIGMA, rel=1e-12)
    deficit = profile_significance(GaussianProfile(B - S))
    assert deficit.q0 == 0.0 and deficit.p0 == 0.5 and deficit.z0_expected == deficit.z0
    with pytest.raises(ValueError, match="lower bound at 0"):
        discovery_q0(GaussianProfile(B, (-1.0, 5.0)))
    r = profile_impacts(GaussianProfile(B + S, (-5.0, 10.0)))
    (pull,) = r.pulls
    assert pull.pull == pytest.approx(0.0, abs=1e-12) and pull.constraint == 1.0 and not pull.over_constrained
    (imp,) = r.ranking
    shift = SIGMA_B / S  # θ up by one prior width takes σ_b of the count from the signal
    assert (imp.postfit_up, imp.postfit_down, imp.prefit_up, imp.prefit_down) == pytest.approx(
        (-shift, shift, -shift, shift), rel=1e-12)  # fmt: skip
    assert r.mu_hat == pytest.approx(1.0) and r.mu_error == SIGMA / S and r.converged


def test_binned_adapter_profile_and_asimov_views():
    n = 62.0
    lik = Likelihood(one_bin_spec(S, B, n), [n], (0.0, 10.0))
    data = BinnedProfileLikelihood(lik)
    assert isinstance(data, ProfileLikelihood)
    best = data.mle()
    assert best.mu_hat == pytest.approx((n - B) / S, abs=1e-5)

    def nll(m: float) -> float:  # the Poisson count, the 1e-6 normsys aside
        return m * S + B - n * np.log(m * S + B)

    for mu in (0.0, 0.5, 3.0):
        assert data.profiled(mu) - best.twice_nll == pytest.approx(2 * (nll(mu) - nll(best.mu_hat)), abs=1e-6)
    assert [x.label for x in data.nuisances()] == ["bnorm"]
    assert data.held_mle("bnorm", 0.0).mu_hat == pytest.approx(best.mu_hat, abs=1e-4)
    observed = lik.data.copy()
    signal = data.asimov(1.0, start=lik.init)  # the μ = 1 Asimov data: their MLE is μ = 1
    assert signal.mle().mu_hat == pytest.approx(1.0, abs=1e-5) and signal.lik.model is lik.model
    null = data.asimov(0.0, minimum_at_mu=True)  # the background-only Asimov data, minimum at μ = 0 by construction
    assert null.mle().mu_hat == 0.0 and null.profiled(0.0) == pytest.approx(null.mle().twice_nll, abs=1e-9)
    assert np.array_equal(lik.data, observed)  # the views have their own data
    assert data.converged and data.mu_error() > 0


def test_grid_adapter_answers_like_the_binned_one_for_a_linear_variation():
    """A linear histosys: the grid of its interpolated workspaces is the same likelihood, so both adapters agree."""
    weak = 0.1 * SIG
    observed = np.round((1.2 * weak + B1 + B2) * (1 + 0.7 * TILT))
    alphas = np.linspace(-3.0, 3.0, 13)
    spec = histosys_spec(weak)
    grid = GridLikelihood(histosys_grid_specs(spec, "tes", alphas), [observed] * alphas.size, alphas, 0.0, 1.0,
                          (-3.0, 5.0))  # fmt: skip
    profile = GridProfileLikelihood(grid, "cubic", "tes")
    binned = BinnedProfileLikelihood(Likelihood(spec, observed, (-3.0, 5.0)))
    assert isinstance(profile, ProfileLikelihood) and profile.mu_range == binned.mu_range
    width = binned.mu_error()
    assert profile.mle().mu_hat == pytest.approx(binned.mle().mu_hat, abs=0.01 * width)
    assert profile.mu_error() == pytest.approx(width, rel=0.02)  # the parabola's width against the Hessian's
    for mu in (binned.mle().mu_hat - width, binned.mle().mu_hat + width):
        q_grid = profile.profiled(mu) - profile.mle().twice_nll
        assert q_grid == pytest.approx(binned.profiled(mu) - binned.mle().twice_nll, abs=0.02)
    assert [x.label for x in profile.nuisances()] == ["tes", "xs"]  # no per-bin MC-statistics NPs
    for label in ("tes", "xs"):
        assert profile.held_mle(label, 0.5).mu_hat == pytest.approx(binned.held_mle(label, 0.5).mu_hat,
                                                                     abs=0.02 * width)  # fmt: skip
        assert grid.held == {}  # holding is temporary
