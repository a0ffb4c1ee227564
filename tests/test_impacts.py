"""Pulls, constraints and impacts: sign and size on one-bin models, over-constraint flag, JSON."""

from __future__ import annotations

import json

import pytest

from systlab.infer.impacts import Impacts, impacts, write_impacts

MU = {"name": "mu", "type": "normfactor", "data": None}


def spec(bins_sig: list[float], bins_bkg: list[float], sigma: float, obs: list[float]) -> dict:
    return {
        "version": "1.0.0",
        "channels": [{"name": "c", "samples": [
            {"name": "sig", "data": bins_sig, "modifiers": [MU]},
            {"name": "bkg", "data": bins_bkg, "modifiers": [
                {"name": "bnorm", "type": "normsys", "data": {"hi": 1 + sigma, "lo": 1 - sigma}}]},
        ]}],
        "observations": [{"name": "c", "data": obs}],
        "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": []}}],
    }  # fmt: skip


def test_one_bin_normsys_impact_has_the_analytic_sign_and_size(tmp_path):
    s, b, sigma = 100.0, 1000.0, 0.1
    r = impacts(spec([s], [b], sigma, [s + b]), [s + b])
    assert isinstance(r, Impacts) and r.converged and r.mu_hat == pytest.approx(1.0, abs=1e-6)
    (pull,) = r.pulls
    # one bin: μ and the background normalisation are degenerate, so the prior alone constrains the NP
    assert pull.pull == pytest.approx(0.0, abs=1e-6) and pull.constraint == pytest.approx(1.0, abs=1e-3)
    assert not pull.over_constrained
    (imp,) = r.ranking
    n, post = s + b, pull.constraint  # normsys code 1: b·(1+σ)^θ above, b·(1−σ)^(−θ) below
    assert imp.postfit_up == pytest.approx((n - b * (1 + sigma) ** post) / s - 1.0, abs=1e-4)
    assert imp.postfit_down == pytest.approx((n - b * (1 - sigma) ** post) / s - 1.0, abs=1e-4)
    assert imp.prefit_up == pytest.approx(-1.0, abs=1e-4) and imp.prefit_down == pytest.approx(1.0, abs=1e-4)
    write_impacts(r, tmp_path / "impacts.json")
    payload = json.loads((tmp_path / "impacts.json").read_text())
    assert payload["ranking"][0]["name"] == "bnorm" and payload["over_constrained"] == []


def test_sideband_over_constrains_a_wide_normalisation_and_ranking_is_sorted():
    # a background-only sideband of 10⁴ events measures a 20% normalisation to 1%: σ_post/σ_prior ≈ 0.05
    r = impacts(spec([50.0, 0.0], [500.0, 10000.0], 0.2, [550.0, 10000.0]), [550.0, 10000.0])
    pull = {p.name: p for p in r.pulls}["bnorm"]
    assert pull.over_constrained and pull.constraint < 0.1
    assert [p.name for p in r.pulls if p.over_constrained][0] == "bnorm"
    sizes = [i.size for i in r.ranking]
    assert sizes == sorted(sizes, reverse=True)
    imp = {i.name: i for i in r.ranking}["bnorm"]
    assert imp.postfit_up < 0 < imp.postfit_down  # more background -> less signal
    assert abs(imp.prefit_up) > abs(imp.postfit_up)  # the pre-fit shift is the wider one
    stat_free = impacts(spec([50.0, 0.0], [500.0, 10000.0], 0.2, [550.0, 10000.0]), [550.0, 10000.0],
                        over_constraint=0.01)  # fmt: skip
    assert not stat_free.pulls[0].over_constrained
