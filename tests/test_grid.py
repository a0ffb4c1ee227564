"""Grid-profiled likelihood: reproduces pyhf's histosys profile for a linear variation; plain grid case."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.interpolate
import scipy.optimize

from systlab.infer.fit import profile_interval
from systlab.infer.grid_interval import grid_interval
from systlab.infer.grid_profile import grid_profile, write_grid_profile
from systlab.likelihood.binned import Likelihood
from systlab.likelihood.grid import GridLikelihood, saturated_constraint, saturated_twice_nll
from systlab.likelihood.morph import histosys_grid_specs, morph_points

X = np.linspace(0.1, 0.9, 5)
TILT = 0.08 * (X - 0.5) * 4  # relative shift per unit α, the same for every sample (linear in α)
SIG, B1, B2 = 60 * np.exp(2 * X), 1500 * np.exp(-3 * X), 300 * np.ones(5)
MU = {"name": "mu", "type": "normfactor", "data": None}


def tes(n: np.ndarray) -> dict:
    return {"name": "tes", "type": "histosys", "data": {"hi_data": (n * (1 + TILT)).tolist(),
                                                         "lo_data": (n * (1 - TILT)).tolist()}}  # fmt: skip


def staterror(n: np.ndarray) -> dict:
    return {"name": "staterror_score", "type": "staterror", "data": (0.02 * n).tolist()}


def histosys_spec(sig: np.ndarray = SIG) -> dict:
    xs = {"name": "xs", "type": "normsys", "data": {"hi": 1.1, "lo": 0.9}}
    return {
        "version": "1.0.0",
        "channels": [{"name": "score", "samples": [
            {"name": "sig", "data": sig.tolist(), "modifiers": [MU, tes(sig)]},
            {"name": "b1", "data": B1.tolist(), "modifiers": [tes(B1), staterror(B1)]},
            {"name": "b2", "data": B2.tolist(), "modifiers": [tes(B2), xs, staterror(B2)]},
        ]}],
        "observations": [{"name": "score", "data": (sig + B1 + B2).tolist()}],
        "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": []}}],
    }  # fmt: skip


OBS = np.round((1.2 * SIG + B1 + B2) * (1 + 0.7 * TILT))  # truth μ = 1.2, α = 0.7
ALPHAS = np.linspace(-3.0, 3.0, 13)


def test_grid_profile_reproduces_pyhf_histosys_profile_for_a_linear_variation(tmp_path):
    lik = Likelihood(histosys_spec(), OBS, (0.5, 2.0))
    ref = profile_interval(lik)
    alpha_ref = float(ref.best.pars[lik.model.config.par_slice("tes")][0])
    specs = histosys_grid_specs(histosys_spec(), "tes", ALPHAS)
    assert all("tes" not in json.dumps(s) for s in specs)
    g = grid_profile(specs, [OBS] * ALPHAS.size, ALPHAS, mu_range=(0.5, 2.0), scan_points=13)
    assert g.converged and not g.alpha_at_edge
    assert g.mu_hat == pytest.approx(ref.mu_hat, abs=5e-4)
    assert g.alpha_hat == pytest.approx(alpha_ref, abs=5e-3)
    width = ref.interval_68[1] - ref.interval_68[0]
    assert g.interval_68 == pytest.approx(ref.interval_68, abs=2e-3 * width)
    # the half-density grid (spacing 1σ instead of 0.5σ) is reported and still close
    assert g.half_grid is not None and g.half_grid.interval_68 == pytest.approx(ref.interval_68, abs=2e-2 * width)
    assert g.per_point.shape == (13, 13) and np.nanmin(g.scan_q) >= -1e-9
    write_grid_profile(g, tmp_path / "grid.json")
    payload = json.loads((tmp_path / "grid.json").read_text())
    assert payload["half_grid"]["width"] > 0 and len(payload["alphas"]) == 13


def plain_spec(sig: np.ndarray, bkg: np.ndarray) -> dict:
    return {
        "version": "1.0.0",
        "channels": [{"name": "score", "samples": [
            {"name": "sig", "data": sig.tolist(), "modifiers": [MU]},
            {"name": "bkg", "data": bkg.tolist(), "modifiers": []}]}],
        "observations": [{"name": "score", "data": (sig + bkg).tolist()}],
        "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": []}}],
    }  # fmt: skip


def test_only_tes_active_equals_the_plain_grid_profile():
    """No other NP: the pyhf grid profile equals a direct Poisson-deviance grid profiled with a spline."""
    alphas = np.linspace(-2.0, 2.0, 9)
    # a parameterized classifier: templates AND the re-binned data change with α_k
    sigs = [SIG * (1 + 0.05 * a * TILT) for a in alphas]
    bkgs = [(B1 + B2) * (1 + a * TILT) for a in alphas]
    obs = [np.round((1.2 * SIG + B1 + B2) * (1 + 0.5 * TILT) * (1 + 0.02 * a * TILT)) for a in alphas]
    g = grid_profile([plain_spec(s, b) for s, b in zip(sigs, bkgs, strict=True)], obs, alphas,
                     alpha_sigma=1.0, mu_range=(0.5, 2.0), scan_points=11, half_grid=False)  # fmt: skip

    def deviance(mu: float) -> float:
        values = []
        for s, b, n, a in zip(sigs, bkgs, obs, alphas, strict=True):
            nu = mu * s + b
            values.append(2 * np.sum(nu - n + n * np.log(n / nu)) + a**2)
        spline = scipy.interpolate.CubicSpline(alphas, values)
        return scipy.optimize.minimize_scalar(spline, bounds=(-2, 2), method="bounded",
                                              options={"xatol": 1e-9}).fun  # fmt: skip

    best = scipy.optimize.minimize_scalar(deviance, bounds=(0.5, 2.0), method="bounded", options={"xatol": 1e-9})
    lo = scipy.optimize.brentq(lambda m: deviance(m) - best.fun - 1, 0.5, best.x)
    hi = scipy.optimize.brentq(lambda m: deviance(m) - best.fun - 1, best.x, 2.0)
    assert g.mu_hat == pytest.approx(best.x, abs=1e-4)
    assert g.interval_68 == pytest.approx((lo, hi), abs=1e-4)


def test_saturated_term_and_input_checks():
    assert saturated_twice_nll(np.array([0.0, 5.0])) == pytest.approx(-2 * (5 * np.log(5) - 5 - np.log(120)))
    with pytest.raises(ValueError, match="increasing"):
        grid_profile([plain_spec(SIG, B1)] * 3, [SIG + B1] * 3, [0.0, 0.0, 1.0])
    with pytest.raises(ValueError, match="interpolation"):
        grid_profile([plain_spec(SIG, B1)] * 3, [SIG + B1] * 3, [0.0, 0.5, 1.0], interpolation="linear")
    with pytest.raises(KeyError, match="jes"):
        histosys_grid_specs(histosys_spec(), "jes", [0.0])


def test_constraint_normalisations_leave_the_grid_comparison():
    """MC-statistics widths differ between grid points (own binnings): their ln σ terms must not tilt α.

    Two grid points with the same templates and data but staterror widths 1% and 20%: at the Asimov
    point both sit on their saturated model, so −2lnL_k − prior_k must be 0 at both.
    """
    narrow, wide = histosys_spec(), histosys_spec()
    for spec, scale in ((narrow, 0.5), (wide, 10.0)):
        for sample in spec["channels"][0]["samples"]:
            sample["modifiers"] = [m for m in sample["modifiers"] if m["type"] in ("normfactor", "staterror")]
            for m in sample["modifiers"]:
                if m["type"] == "staterror":
                    m["data"] = (np.asarray(m["data"]) * scale).tolist()
    asimov = SIG + B1 + B2
    lik = Likelihood(wide, asimov, (0.5, 2.0))
    sigmas = np.asarray(lik.widths)[lik.model.config.par_slice("staterror_score")]
    assert saturated_constraint(lik) == pytest.approx(np.sum(2 * np.log(sigmas) + np.log(2 * np.pi)))
    grid = GridLikelihood([narrow, wide, narrow], [asimov] * 3, [-1.0, 0.0, 1.0], 0.0, 1.0, (0.5, 2.0))
    values = np.array([grid.value(k, 1.0) for k in range(3)]) - grid.prior
    assert values == pytest.approx([0.0, 0.0, 0.0], abs=1e-6)


def test_fast_grid_interval_matches_the_scanned_profile():
    """The toys' scan-free interval (parabolic μ̂, secant crossings) equals the full scan's interval."""
    alphas = np.linspace(-2.0, 2.0, 9)
    sigs = [SIG * (1 + 0.05 * a * TILT) for a in alphas]
    bkgs = [(B1 + B2) * (1 + a * TILT) for a in alphas]
    obs = [np.round((1.2 * SIG + B1 + B2) * (1 + 0.5 * TILT) * (1 + 0.02 * a * TILT)) for a in alphas]
    specs = [plain_spec(s, b) for s, b in zip(sigs, bkgs, strict=True)]
    for interpolation in ("cubic", "quadratic"):
        full = grid_profile(specs, obs, alphas, mu_range=(0.5, 2.0), scan_points=31, interpolation=interpolation,
                            half_grid=False)  # fmt: skip
        grid = GridLikelihood(specs, obs, alphas, 0.0, 1.0, (0.5, 2.0))
        grid.set_data(obs, mle_points=[4])
        fast = grid_interval(grid, interpolation, mu=1.0)
        width = full.interval_68[1] - full.interval_68[0]
        assert fast.converged and fast.mu_hat == pytest.approx(full.mu_hat, abs=1e-3 * width)
        assert fast.interval_68 == pytest.approx(full.interval_68, abs=5e-3 * width)
        assert fast.alpha_hat == pytest.approx(full.alpha_hat, abs=1e-2)
        if interpolation == "quadratic":  # the downhill walk fits fewer than all 9 grid points per μ
            assert sum(len(c) for c in grid.cache) < 9 * len(grid.cache[4])


def test_morph_points_fill_each_grid_points_cell_once():
    alphas = np.array([-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0])
    owner, shifts = morph_points(alphas, 0.25)
    fine = alphas[owner] + shifts
    assert fine == pytest.approx(np.arange(-3.0, 3.0 + 1e-9, 0.25))  # every step once, both ends included
    for k, a in enumerate(alphas):  # each fine point belongs to the nearest grid point (ties: the upper one)
        mine = fine[owner == k]
        assert np.all(np.abs(mine - a) <= np.min(np.abs(mine[:, None] - alphas[None, :]), axis=1) + 1e-12)
    owner0, shifts0 = morph_points(alphas, 0.0)
    assert owner0.tolist() == list(range(alphas.size)) and not shifts0.any()
    with pytest.raises(ValueError, match="step"):
        morph_points(alphas, -0.1)


def test_prefill_gives_the_one_by_one_conditional_fits():
    """GridLikelihood.prefill (one batch per simulated point) fills the caches with the fits value() would make."""
    specs = histosys_grid_specs(histosys_spec(), "tes", ALPHAS)
    mus = [0.6, 0.9, 1.0, 1.3, 1.8]
    batch = GridLikelihood(specs, [OBS] * ALPHAS.size, ALPHAS, 0.0, 1.0, (0.5, 2.0))
    batch.prefill(range(ALPHAS.size), mus)
    assert sum(len(c) for c in batch.cache) == ALPHAS.size * len(mus)  # every pair converged in the batch
    single = GridLikelihood(specs, [OBS] * ALPHAS.size, ALPHAS, 0.0, 1.0, (0.5, 2.0))
    for k in range(ALPHAS.size):
        for mu in mus:
            assert batch.value(k, mu) == pytest.approx(single.value(k, mu), abs=1e-6), (k, mu)


def test_a_failed_fit_far_out_in_alpha_does_not_flag_the_profile():
    """Only points whose prior term alone is within the ceiling count: a fit failing at α = ±3 (prior 9) 1e4 units
    up cannot move the interval; one failing near α̂ still flags it."""
    specs = histosys_grid_specs(histosys_spec(), "tes", ALPHAS)
    grid = GridLikelihood(specs, [OBS] * ALPHAS.size, ALPHAS, 0.0, 1.0, (0.5, 2.0))
    for k in range(ALPHAS.size):
        grid.value(k, 1.2)
    assert grid.converged_between(0.5, 2.0)
    far, near = int(np.argmax(grid.alphas)), int(np.argmin(np.abs(grid.alphas - 0.5)))
    grid.cache[far][1.2] = grid.cache[far][1.2]._replace(twice_nll=1e4, converged=False)
    assert not grid.converged_between(0.5, 2.0)  # no ceiling: every point counts
    assert grid.converged_between(0.5, 2.0, ceiling=grid.floor[far] - 1.0)
    grid.cache[near][1.2] = grid.cache[near][1.2]._replace(converged=False)
    assert not grid.converged_between(0.5, 2.0, ceiling=grid.floor[far] - 1.0)
