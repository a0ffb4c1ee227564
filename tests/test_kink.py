"""Newton at the kink of code-0 histosys NPs (piecewise linear in α, slope jump at 0): it converges without MINUIT,
to the minimum MINUIT finds on each smooth piece; code-4p fits take the path they always did."""

from __future__ import annotations

import itertools

import iminuit
import numpy as np
import pytest

import systlab.likelihood.binned as binned
from systlab.likelihood.batched import BatchedLikelihood
from systlab.likelihood.binned import Likelihood
from systlab.likelihood.expected import ModelTerms

TILT = np.array([-1.0, -1 / 3, 1 / 3, 1.0])  # the tes shape: tilts the four bins
BUMP = np.array([1.0, -1.0, -1.0, 1.0])  # the met shape
SIG, BKG = np.array([5.0, 15.0, 40.0, 90.0]), np.array([900.0, 500.0, 250.0, 120.0])


def kinked_spec() -> dict:
    """Four bins; tes an asymmetric histosys (+12 % / −5 % tilt per ±1σ); met one-sided (both ±1σ templates bumped
    the same way, +5 % / +2 %: −2lnL is V-shaped at 0 in it); a background normalisation and staterror."""
    bkg = {"name": "bkg", "data": BKG.tolist(), "modifiers": [
        {"name": "tes", "type": "histosys", "data": {"hi_data": (BKG * (1 + 0.12 * TILT)).tolist(),
                                                     "lo_data": (BKG * (1 - 0.05 * TILT)).tolist()}},
        {"name": "met", "type": "histosys", "data": {"hi_data": (BKG * (1 + 0.05 * BUMP)).tolist(),
                                                     "lo_data": (BKG * (1 + 0.02 * BUMP)).tolist()}},
        {"name": "bkg_norm", "type": "normsys", "data": {"hi": 1.05, "lo": 0.95}},
        {"name": "stat", "type": "staterror", "data": (0.01 * BKG).tolist()},
    ]}  # fmt: skip
    sig = {"name": "sig", "data": SIG.tolist(), "modifiers": [{"name": "mu", "type": "normfactor", "data": None}]}
    return {
        "version": "1.0.0",
        "channels": [{"name": "c", "samples": [sig, bkg]}],
        "observations": [{"name": "c", "data": (SIG + BKG).tolist()}],
        "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": []}}],
    }


def likelihood(code: str = "code0", bump: float = 0.0, **truth: float) -> Likelihood:
    """The likelihood of ``kinked_spec`` with the expected counts at ``truth`` (μ and NPs; the rest nominal) as data,
    their background bumped by ``bump``·BUMP (negative: against both met templates, its minimum at 0)."""
    lik = Likelihood(kinked_spec(), None, (-2.0, 5.0), code)
    x = lik.init.copy()
    for name, value in truth.items():
        x[lik.model.config.par_slice(name)] = value
    lik.set_observed(lik.terms.expected(x)[0] + bump * BUMP * BKG)
    return lik


def reference(lik: Likelihood, start: np.ndarray, fixed: np.ndarray) -> tuple[float, np.ndarray]:
    """MINUIT's minimum over every smooth piece: each free kinked NP ≥ 0, ≤ 0 or fixed at 0 (the lowest of them)."""
    best = (np.inf, start)
    kinked = [j for j in (lik.model.config.par_slice(n).start for n in ("tes", "met")) if not fixed[j]]
    for sides in itertools.product((1, -1, 0), repeat=len(kinked)):
        minuit = iminuit.Minuit(lik.twice_nll, start)
        minuit.errordef, minuit.strategy, minuit.tol = 1.0, 2, 1e-6
        limits = [tuple(b) for b in lik.bounds]
        held = fixed.copy()
        for j, side in zip(kinked, sides, strict=True):
            limits[j] = (0.0, limits[j][1]) if side > 0 else (limits[j][0], 0.0)
            minuit.values[j] = 0.5 * side
            held[j] = side == 0
        minuit.limits, minuit.fixed = limits, held.tolist()
        minuit.migrad()
        assert minuit.valid
        if minuit.fval < best[0]:
            best = (float(minuit.fval), np.array(minuit.values))
    return best


@pytest.fixture
def no_minuit(monkeypatch):
    monkeypatch.setattr(Likelihood, "_migrad", lambda *a, **k: pytest.fail("Newton failed: MINUIT called"))


CASES = {  # truth, start (μ, tes, met), fixed μ or None
    "asimov at the kink, from afar": ({}, (0.4, 0.8, -0.6), None),
    "asimov at the kink, conditional": ({}, (1.6, -0.7, 0.5), 1.6),
    "tes away from the kink, from it": ({"tes": 0.6, "mu": 1.3}, (1.0, 0.0, 0.0), None),
    "tes away from the kink, across it": ({"tes": 0.6, "mu": 1.3}, (0.8, -0.9, 0.3), None),
    "tes below the kink, across it": ({"tes": -0.7}, (1.5, 0.9, 0.2), None),
    "met held at its V": ({"tes": 0.4, "bump": -0.03}, (1.0, 0.0, 0.7), None),
    "met held at its V, from below": ({"tes": 0.4, "bump": -0.03}, (1.0, 0.0, -0.7), None),
    "met away from its V": ({"met": -0.8}, (1.0, 0.0, 0.7), None),
}


@pytest.mark.parametrize("case", list(CASES))
def test_newton_converges_at_code0_kinks_to_minuits_minimum(case, no_minuit):
    truth, (mu, tes, met), fixed_mu = CASES[case]
    lik = likelihood(**truth)
    config = lik.model.config
    start = lik.init.copy()
    start[[config.poi_index, config.par_slice("tes").start, config.par_slice("met").start]] = mu, tes, met
    fixed = lik.fixed.copy()
    if fixed_mu is not None:
        fixed[lik.poi] = True
    found = lik.minimise(start, fixed, hesse=True)
    value, pars = reference(lik, start, fixed)
    assert found.converged
    assert found.twice_nll == pytest.approx(value, abs=1e-6)
    assert found.twice_nll <= value + 1e-7
    np.testing.assert_allclose(found.pars, pars, rtol=0.0, atol=1e-4)
    assert np.isfinite(found.errors).all() and (found.errors[lik.poi] > 0) == (fixed_mu is None)


def test_a_v_shaped_minimum_is_held_exactly_at_zero(no_minuit):
    """met's −2lnL rises on both sides of 0 (data bumped against both its templates): it ends exactly at 0, held
    there as at a bound, from either side."""
    lik = likelihood(tes=0.4, bump=-0.03)
    j = lik.model.config.par_slice("met").start
    for side in (0.7, -0.7):
        start = lik.init.copy()
        start[j] = side
        found = lik.mle(start, hesse=False)
        assert found.converged and found.pars[j] == 0.0


def test_the_kinked_nps_are_the_code0_histosys_ones():
    lik = likelihood()
    config = lik.model.config
    assert lik.kinks[config.par_slice("tes")].all() and lik.kinks[config.par_slice("met")].all()
    assert lik.kinks.sum() == 2


def test_code4p_has_no_kinks_and_takes_the_smooth_path(monkeypatch):
    """Under code 4p nothing is kinked: every evaluation is the plain one (no branch), as before kinks were known."""
    lik = likelihood("code4p", tes=0.6, mu=1.3)
    assert not lik.kinks.any()
    real = ModelTerms.expected
    branches = []

    def spy(self, x, branch=None):
        branches.append(branch)
        return real(self, x, branch)

    monkeypatch.setattr(ModelTerms, "expected", spy)
    monkeypatch.setattr(Likelihood, "_descends_across", lambda *a, **k: pytest.fail("kink logic under code 4p"))
    found = lik.newton(lik.init, lik.fixed, hesse=True)
    assert found is not None and found.converged
    assert branches and all(b is None for b in branches)


def test_branch_extends_one_side_of_the_kink():
    """ModelTerms' branch: +1 the up line for every α, −1 the down line, 0 by the sign of α (code 0)."""
    lik = likelihood()
    terms, j = lik.terms, lik.model.config.par_slice("tes").start
    x = np.repeat(lik.init[None, :], 3, axis=0)
    x[:, j] = [-0.5, 0.0, 0.5]
    up, down = np.zeros(lik.npars, dtype=int), np.zeros(lik.npars, dtype=int)
    up[j], down[j] = 1, -1
    plain = terms.expected(x)
    np.testing.assert_allclose(terms.expected(x, up)[:, :4], SIG + BKG * (1 + 0.12 * TILT * x[:, j, None]))
    np.testing.assert_allclose(terms.expected(x, down)[:, :4], SIG + BKG * (1 + 0.05 * TILT * x[:, j, None]))
    np.testing.assert_array_equal(terms.expected(x, np.zeros(lik.npars, dtype=int)), plain)
    np.testing.assert_array_equal(terms.expected(x, up)[1:], plain[1:])  # α ≥ 0: the up line is the model
    np.testing.assert_array_equal(terms.expected(x, down)[:2], plain[:2])


def test_without_model_terms_no_kinks_are_known(monkeypatch):
    """A model ModelTerms cannot evaluate stays on pyhf, where no side can be extended: no kinks (MINUIT decides)."""
    monkeypatch.setattr(binned, "ModelTerms", lambda model: (_ for _ in ()).throw(NotImplementedError("test")))
    lik = Likelihood(kinked_spec(), None, (-2.0, 5.0), "code0")
    assert lik.terms is None and not lik.kinks.any()


def test_the_batch_engine_converges_at_code0_kinks_to_minuits_minimum():
    """The batch engine's rows do as Likelihood's Newton: one side of each kink at a time, every row converged."""
    cases = [c for c in CASES.values() if c[2] is None]
    liks = [likelihood(**truth) for truth, _, _ in cases]
    lik = liks[0]
    config = lik.model.config
    engine = BatchedLikelihood(lik)
    engine.set_data(np.array([one.data[: config.nmaindata] for one in liks]))
    starts = np.repeat(lik.init[None, :], len(cases), axis=0)
    for row, (_, start, _) in zip(starts, cases, strict=True):
        row[[config.poi_index, config.par_slice("tes").start, config.par_slice("met").start]] = start
    found = engine.minimise(starts, np.arange(len(cases)))
    assert found.converged.all()
    for i, one in enumerate(liks):
        value, pars = reference(one, starts[i], one.fixed)
        assert found.twice_nll[i] == pytest.approx(value, abs=1e-6)
        np.testing.assert_allclose(found.pars[i], pars, rtol=0.0, atol=1e-4)
