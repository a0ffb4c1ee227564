"""Profile-likelihood fits: analytic one-bin interval, Asimov closure, NP pulls, retries, JSON output."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.optimize

import systlab.infer.fit as fit
from systlab.infer.fit import (
    FitResult,
    asimov_counts,
    fit_dataset,
    pseudo_data_counts,
    read_fit_result,
    write_fit_result,
)
from systlab.likelihood.workspace import build_workspace
from systlab.templates.histograms import Templates, hist_from_payload

S, B, N = 10.0, 50.0, 65.0  # one-bin counting model: signal, background, observed
MU = {"name": "mu", "type": "normfactor", "data": None}


def counting_spec(s: float = S, b: float = B) -> dict:
    """One bin, μ on the signal, no nuisance parameters."""
    return {
        "version": "1.0.0",
        "channels": [
            {
                "name": "bin",
                "samples": [
                    {"name": "sig", "data": [s], "modifiers": [MU]},
                    {"name": "bkg", "data": [b], "modifiers": []},
                ],
            }
        ],
        "observations": [{"name": "bin", "data": [N]}],
        "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": []}}],
    }


def exact_q(mu: float) -> float:
    """−2ΔlnL of the Poisson counting model, profiled analytically (no NPs): μ̂ = (n − b)/s."""
    nu = mu * S + B
    return 2.0 * (nu - N + N * np.log(N / nu))


EDGES = np.linspace(0.0, 1.0, 6)
X = 0.5 * (EDGES[1:] + EDGES[:-1])
YIELDS = {"sig": 200 * np.exp(2 * X), "bkg_a": 4000 * np.exp(-3 * X), "bkg_b": 800 * np.ones_like(X)}
TES = 0.08 * (X - 0.5) * 4  # relative shape change per +1σ of tes (tilts the score)
MET = 0.03 * np.cos(np.pi * X)  # one-sided NP, a different shape


def shifted(nominal: np.ndarray, variation: str) -> np.ndarray:
    """Expected counts of one variation; truths are generated at tes = ±1σ."""
    k = {"tes_+1sd": 1, "tes_-1sd": -1, "truth_above": 1, "truth_below": -1}.get(variation, 0)
    met = 1.0 if variation == "soft_met_+1sd" else 0.0
    return nominal * (1 + k * TES + met * MET)


@pytest.fixture(scope="module")
def templates() -> Templates:
    variations = ("nominal", "tes_+1sd", "tes_-1sd", "soft_met_+1sd", "truth_above", "truth_below")
    split = {
        p: {v: {"counts": shifted(y, v).tolist(), "sumw2": (shifted(y, v) / 50).tolist()} for v in variations}
        for p, y in YIELDS.items()
    }
    h = hist_from_payload(EDGES, split)
    return Templates(edges=EDGES, splits={"template": h, "toy": h}, signal=("sig",))


@pytest.fixture(scope="module")
def spec(templates) -> dict:
    norm = {"xsec_b": (["bkg_b"], 0.1)}
    return build_workspace(templates, "sig", ["bkg_a", "bkg_b"], {"tes": False, "soft_met": True}, norm, 0.02)


def test_one_bin_interval_matches_exact_poisson_profile_likelihood():
    r = fit_dataset(counting_spec(), [N], (-2.0, 5.0), 15, "counting")
    assert r.converged and r.interval_open == (False, False)
    assert r.mu_hat == pytest.approx((N - B) / S, abs=1e-3)
    lo = scipy.optimize.brentq(lambda m: exact_q(m) - 1, -2.0, 1.5)
    hi = scipy.optimize.brentq(lambda m: exact_q(m) - 1, 1.5, 5.0)
    assert r.interval_68 == pytest.approx((lo, hi), abs=1e-3)
    mu, q = r.twice_dnll
    np.testing.assert_allclose(q, [exact_q(m) for m in mu], atol=1e-4)


def test_crossing_outside_mu_range_gives_flagged_open_interval():
    r = fit_dataset(counting_spec(), [N], (1.2, 5.0), 9, "counting")
    assert r.interval_open == (True, False)
    assert r.interval_68[0] == 1.2
    assert any("lower 68% crossing outside mu_range" in n for n in r.notes)


def test_asimov_fit_recovers_mu_with_zero_pulls(spec):
    r = fit_dataset(spec, asimov_counts(spec), (0.0, 2.0), 9, "asimov")
    assert r.converged
    assert r.mu_hat == pytest.approx(1.0, abs=1e-3)
    assert r.interval_68[0] < 1.0 < r.interval_68[1]
    assert {"tes", "soft_met", "xsec_b", "lumi", "staterror_score[0]"} <= set(r.pulls)
    for name, (pull, error) in r.pulls.items():
        assert abs(pull) < 1e-2, name
        assert 0.0 < error <= 1.0 + 1e-2, name
    assert np.nanmin(r.twice_dnll[1]) >= -1e-6


@pytest.mark.parametrize(("truth", "sign"), [("above", 1), ("truth_below", -1)])
def test_pseudo_data_at_shifted_np_pulls_it_that_way(templates, spec, truth, sign):
    data = pseudo_data_counts(templates, truth, mu=1.0, seed=3)
    r = fit_dataset(spec, data, (0.0, 2.0), 5, truth)
    assert r.converged
    assert sign * r.pulls["tes"][0] > 0.5


def test_pseudo_data_counts_are_seeded_poisson_of_toy_expectation(templates):
    a = pseudo_data_counts(templates, "truth_above", mu=2.0, seed=11)
    assert np.array_equal(a, pseudo_data_counts(templates, "truth_above", mu=2.0, seed=11))
    assert not np.array_equal(a, pseudo_data_counts(templates, "truth_above", mu=2.0, seed=12))
    expected = sum((2.0 if p == "sig" else 1.0) * shifted(y, "truth_above") for p, y in YIELDS.items())
    draws = np.array([pseudo_data_counts(templates, "above", 2.0, seed) for seed in range(200)])
    np.testing.assert_allclose(draws.mean(axis=0), expected, rtol=0.02)
    with pytest.raises(KeyError, match="sideways"):
        pseudo_data_counts(templates, "sideways", 1.0, 0)


def test_failed_minimisation_is_retried_then_flagged(monkeypatch):
    real_migrad = fit.Likelihood._migrad
    calls = {"n": 0}

    def fail_first(self, start, fixed, strategy, hesse):
        calls["n"] += 1
        result = real_migrad(self, start, fixed, strategy, hesse)
        return result._replace(converged=False) if calls["n"] == 1 else result

    monkeypatch.setattr(fit.Likelihood, "newton", lambda self, start, fixed, hesse=True: None)
    monkeypatch.setattr(fit.Likelihood, "_migrad", fail_first)
    r = fit_dataset(counting_spec(), [N], (-2.0, 5.0), 5, "retry")
    assert r.converged and r.notes[0].startswith("MLE: Newton failed; MINUIT converged on attempt 2")

    monkeypatch.setattr(fit.Likelihood, "_migrad", lambda *a: real_migrad(*a)._replace(converged=False))
    r = fit_dataset(counting_spec(), [N], (-2.0, 5.0), 5, "fail")
    assert not r.converged and "MLE: did not converge" in r.notes[0]


def test_fit_result_json_round_trip(tmp_path):
    r = fit_dataset(counting_spec(), [N], (-6.0, 5.0), 12, "counting")
    assert np.isnan(r.twice_dnll[1][0])  # μ = −6 gives a negative expected count: undefined, kept as null
    write_fit_result(r, tmp_path / "a.json")
    payload = json.loads((tmp_path / "a.json").read_text())
    assert payload["scan"]["twice_dnll"][0] is None
    assert sorted(payload) == sorted(
        ["dataset", "mu_hat", "mu_error", "interval_68", "interval_open", "scan", "pulls", "converged"]
        + ["nll_min", "notes"]
    )
    back = read_fit_result(tmp_path / "a.json")
    assert isinstance(back, FitResult) and back.interval_68 == r.interval_68
    write_fit_result(back, tmp_path / "b.json")
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


# ---- the fast engine (Likelihood: Newton with batched finite-difference derivatives; secant crossings) ----


def test_fast_interval_matches_the_scan_on_the_exact_one_bin_profile():
    lik = fit.Likelihood(counting_spec(), [N], (-2.0, 5.0))
    r = fit.profile_interval(lik)
    lo = scipy.optimize.brentq(lambda m: exact_q(m) - 1, -2.0, 1.5)
    hi = scipy.optimize.brentq(lambda m: exact_q(m) - 1, 1.5, 5.0)
    assert r.converged and r.mu_hat == pytest.approx((N - B) / S, abs=1e-5)
    assert r.interval_68 == pytest.approx((lo, hi), abs=2e-4)
    assert r.n_fits <= 12


def test_fast_engine_agrees_with_fit_dataset_and_reaches_a_lower_minimum(spec, templates):
    data = pseudo_data_counts(templates, "truth_above", mu=1.0, seed=5)
    ref = fit_dataset(spec, data, (0.0, 2.0), 21, "ref")
    lik = fit.Likelihood(spec, data, (0.0, 2.0))
    r = fit.profile_interval(lik)
    assert r.converged
    assert r.mu_hat == pytest.approx(ref.mu_hat, abs=2e-3)
    assert r.interval_68 == pytest.approx(ref.interval_68, abs=3e-3)
    assert r.best.twice_nll <= 2 * ref.nll_min + 1e-6  # Newton is at least as deep as MINUIT


def test_fast_engine_reuses_one_model_for_new_data(spec):
    lik = fit.Likelihood(spec, asimov_counts(spec), (0.0, 2.0))
    asimov = fit.profile_interval(lik)
    assert asimov.mu_hat == pytest.approx(1.0, abs=1e-4)
    lik.set_observed(asimov_counts(spec) * 1.01)
    assert fit.profile_interval(lik).mu_hat != pytest.approx(1.0, abs=1e-3)
    with pytest.raises(ValueError, match="shape"):
        lik.set_observed([1.0, 2.0])


def test_fast_engine_falls_back_to_minuit_and_notes_it(monkeypatch):
    monkeypatch.setattr(fit.Likelihood, "newton", lambda *a, **k: None)
    lik = fit.Likelihood(counting_spec(), [N], (-2.0, 5.0))
    notes: list[str] = []
    r = fit.profile_interval(lik, notes=notes)
    assert r.converged and r.mu_hat == pytest.approx((N - B) / S, abs=1e-3)


def test_errors_after_the_minuit_fallback_come_from_the_engine_hessian(monkeypatch, spec):
    """MINUIT's HESSE is not trusted at a histosys kink: a fallback fit reports the Newton-style errors."""
    lik = fit.Likelihood(spec, fit.asimov_counts(spec), (-2.0, 5.0))
    newton = lik.mle(hesse=True)
    monkeypatch.setattr(fit.Likelihood, "newton", lambda *a, **k: None)
    fallback = lik.mle(hesse=True)
    assert fallback.errors[lik.poi] == pytest.approx(newton.errors[lik.poi], rel=0.02)
    np.testing.assert_allclose(fallback.errors, lik.hessian_errors(fallback.pars, lik.fixed))


def test_newton_stops_at_a_bound_its_gradient_pushes_against():
    """One free parameter (mu) pinned at its lower bound by the data: a bounded minimum, not a crash."""
    lik = fit.Likelihood(counting_spec(), [B * 0.5], (0.0, 5.0))  # far fewer events than background: mu_hat < 0
    best = lik.mle(hesse=False)
    assert best.converged and best.pars[lik.poi] == pytest.approx(0.0, abs=1e-9)


def test_newton_returns_its_minimum_when_rounding_stalls_the_line_search(monkeypatch, spec):
    """Near the minimum the line search sees only the rounding of −2lnL (here made coarse: 1e-7). Newton must
    return the point it has when its EDM is already far below MINUIT's goal, not give up (which cost a slow
    MINUIT fallback on 12 of 41 toy MLEs of the tiny workspace), and that point must be the minimum."""
    expected = asimov_counts(spec) * 1.03
    lik = fit.Likelihood(spec, expected, (-2.0, 4.0))
    exact = lik.newton(lik.init, lik.fixed, hesse=False)
    smooth = fit.Likelihood.twice_nll
    monkeypatch.setattr(fit.Likelihood, "twice_nll", lambda self, pars: round(smooth(self, pars), 7))
    stalled = lik.newton(lik.init, lik.fixed, hesse=False)
    assert stalled is not None
    assert stalled.pars[lik.poi] == pytest.approx(exact.pars[lik.poi], abs=1e-3)
    assert stalled.twice_nll == pytest.approx(exact.twice_nll, abs=1e-5)


def staterror_spec() -> dict:
    """Two bins, signal in the second; the background's MC-statistical γ per bin (100 % in the second)."""
    return {
        "version": "1.0.0",
        "channels": [{"name": "c", "samples": [
            {"name": "sig", "data": [1.0, 20.0], "modifiers": [MU]},
            {"name": "bkg", "data": [100.0, 30.0], "modifiers": [
                {"name": "stat", "type": "staterror", "data": [2.0, 30.0]}]},
        ]}],
        "observations": [{"name": "c", "data": [100.0, 50.0]}],
        "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": []}}],
    }  # fmt: skip


def test_a_bound_minimum_is_newtons_when_a_restart_from_inside_confirms_it(monkeypatch):
    """At μ = 4 the signal alone (80) exceeds the second bin's 50 events: the background's γ goes to its bound.
    Newton's minimum there, confirmed by a restart with γ back at 1, is MINUIT's (to its tolerance), without
    MINUIT (which took ~0.25 s per fit: 559 of 611 fits of a tiny aware grid fit ended at such a bound)."""
    lik = fit.Likelihood(staterror_spec(), [100.0, 50.0], (0.0, 5.0))
    fixed = lik.fixed.copy()
    fixed[lik.poi] = True
    start = lik.init.copy()
    start[lik.poi] = 4.0
    reference = lik._migrad(start, fixed, 2, False)
    monkeypatch.setattr(fit.Likelihood, "_migrad", lambda *a, **k: pytest.fail("MINUIT called"))
    best = lik.minimise(start, fixed)
    gamma = lik.model.config.par_slice("stat")
    assert best.converged and best.pars[gamma][1] == pytest.approx(lik.bounds[gamma.start + 1, 0], abs=1e-9)
    assert best.twice_nll == pytest.approx(reference.twice_nll, abs=1e-4)
    assert best.twice_nll <= reference.twice_nll + 1e-9


def test_a_stranded_bound_minimum_gives_way_to_the_restarts_lower_one(monkeypatch):
    """A bound 'minimum' the projection stranded (made here: the first Newton returns a point with γ₂ at its bound)
    is replaced by the restart's interior minimum; two bound minima that disagree go to MINUIT (None)."""
    lik = fit.Likelihood(staterror_spec(), [100.0, 50.0], (0.0, 5.0))
    true = lik._newton(lik.init, lik.fixed, False)[0]
    assert true is not None and true.converged
    stranded = true.pars.copy()
    j = lik.model.config.par_slice("stat").start + 1
    stranded[j] = lik.bounds[j, 0]
    held = np.zeros(lik.npars, dtype=bool)
    held[j] = True
    real = fit.Likelihood._newton
    calls = []

    def first_stranded(self, start, fixed, hesse):
        calls.append(np.array(start))
        if len(calls) == 1:
            return fit.Minimum(stranded, np.zeros_like(stranded), self.twice_nll(stranded), True), held
        return real(self, start, fixed, hesse)

    monkeypatch.setattr(fit.Likelihood, "_newton", first_stranded)
    best = lik.newton(lik.init, lik.fixed, hesse=False)
    assert calls[1][j] == lik.init[j]  # the restart puts γ₂ back at its initial value
    assert best.twice_nll == pytest.approx(true.twice_nll, abs=1e-8) and best.pars[j] > 0.5

    def always_held(self, start, fixed, hesse):
        calls.append(np.array(start))
        value = 10.0 * len(calls)  # every restart a different bound "minimum"
        return fit.Minimum(stranded, np.zeros_like(stranded), value, True), held

    monkeypatch.setattr(fit.Likelihood, "_newton", always_held)
    assert lik.newton(lik.init, lik.fixed, hesse=False) is None
