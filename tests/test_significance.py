"""Discovery significance against the Asimov formula, and the toy check of the asymptotic laws."""

from __future__ import annotations

import json

import numpy as np
import pytest

from systlab.infer.significance import asymptotic_check, check_payload, discovery_significance, ks_distance


def one_bin_spec(s: float, b: float, n: float, sigma: float = 1e-6) -> dict:
    return {
        "version": "1.0.0",
        "channels": [{"name": "bin", "samples": [
            {"name": "sig", "data": [s], "modifiers": [{"name": "mu", "type": "normfactor", "data": None}]},
            {"name": "bkg", "data": [b], "modifiers": [
                {"name": "bnorm", "type": "normsys", "data": {"hi": 1 + sigma, "lo": 1 - sigma}}]},
        ]}],
        "observations": [{"name": "bin", "data": [n]}],
        "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": []}}],
    }  # fmt: skip


@pytest.mark.parametrize(("s", "b"), [(10.0, 50.0), (30.0, 100.0)])
def test_z0_on_asimov_data_matches_asimov_formula(s, b):
    z_formula = np.sqrt(2 * ((s + b) * np.log(1 + s / b) - s))
    r = discovery_significance(one_bin_spec(s, b, s + b), [s + b])
    assert r.z0 == pytest.approx(z_formula, rel=1e-4)
    assert r.z0_expected == pytest.approx(z_formula, rel=1e-4)  # pyhf's median: Asimov at μ = 1
    assert r.q0 == pytest.approx(z_formula**2, rel=1e-4)
    assert r.mu_hat == pytest.approx(1.0, abs=1e-4)


def test_no_excess_gives_zero_significance():
    r = discovery_significance(one_bin_spec(10.0, 50.0, 45.0), [45.0])
    assert r.q0 == pytest.approx(0.0, abs=1e-8) and r.mu_hat == pytest.approx(0.0, abs=1e-6)
    assert r.p0 == pytest.approx(0.5, abs=1e-3)


@pytest.mark.parametrize("test_stat", ["qmu", "q0"])
def test_toy_distribution_follows_asymptotic_law_at_large_counts(test_stat):
    spec = one_bin_spec(40.0, 400.0, 440.0, sigma=0.03)
    r = asymptotic_check(spec, 300, seed=5, test_stat=test_stat, observed=4.0)
    assert r.n_failed == 0 and r.values.size == 300
    assert r.ks < r.ks_critical_95
    assert np.all(np.abs(r.tail_toys - r.tail_asymptotic) < 4 * r.tail_errors + 1e-9)
    assert 0 < r.p_toys < 0.2 and r.p_asymptotic == pytest.approx(0.0455 if test_stat == "qmu" else 0.02275, rel=1e-2)
    payload = check_payload(r)
    json.dumps(payload, allow_nan=False)
    assert payload["wilks_ok"] and payload["n_toys"] == 300


def test_ks_distance_detects_a_wrong_law():
    rng = np.random.default_rng(0)
    chi2 = rng.chisquare(1, 2000)
    assert ks_distance("qmu", chi2) < 1.358 / np.sqrt(2000)
    assert ks_distance("qmu", 2 * chi2) > 0.1  # twice too wide
    half = np.where(rng.random(2000) < 0.5, 0.0, chi2)
    assert ks_distance("q0", half) < 1.358 / np.sqrt(2000)
    assert ks_distance("q0", chi2) > 0.3  # no point mass at zero


def test_expected_z0_is_the_asimov_answer_whatever_the_data():
    """The median expected Z0 uses Asimov data at μ = 1, so a deficit in the data leaves it unchanged."""
    s, b = 10.0, 50.0
    z_formula = np.sqrt(2 * ((s + b) * np.log(1 + s / b) - s))
    r = discovery_significance(one_bin_spec(s, b, 45.0), [45.0])
    assert r.z0_expected == pytest.approx(z_formula, rel=1e-4) and r.z0 == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="lower bound at 0"):
        discovery_significance(one_bin_spec(s, b, 45.0), [45.0], poi_bounds=(-1.0, 5.0))


def test_wilks_check_of_toy_values_passes_chi2_and_fails_a_wider_law():
    from systlab.infer.significance import wilks_check, wilks_payload

    rng = np.random.default_rng(1)
    good = wilks_check([*rng.chisquare(1, 500), None, float("nan")])  # non-finite toys are dropped
    assert good.n == 500 and good.wilks_ok and good.ks_p_value > 0.01
    assert np.all(np.abs(good.tail_toys - good.tail_asymptotic) < 4 * good.tail_errors)
    bad = wilks_check(2.0 * rng.chisquare(1, 500))
    assert not bad.wilks_ok and bad.ks_p_value < 1e-6 and bad.ks > bad.ks_critical_95
    json.dumps(wilks_payload(bad), allow_nan=False)
    with pytest.raises(ValueError, match="no finite toy value"):
        wilks_check([None, float("nan")])
