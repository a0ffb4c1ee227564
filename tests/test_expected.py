"""systlab.likelihood.expected: λ(θ) and −2lnL of a workspace in numpy equal pyhf's, and what it refuses."""

from __future__ import annotations

import numpy as np
import pytest

from systlab.likelihood.batched import BatchedLikelihood
from systlab.likelihood.binned import Likelihood
from systlab.likelihood.expected import ModelTerms, code4_coefficients
from systlab.likelihood.workspace import workspace_model


def two_channel_workspace() -> dict:
    """Every modifier type systlab writes, on two channels (staterror per channel, a sample without it)."""
    def channel(name, sig, bkg, other):
        n = len(sig)
        return {"name": name, "samples": [
            {"name": "sig", "data": sig, "modifiers": [{"name": "mu", "type": "normfactor", "data": None},
                                                       {"name": "lumi", "type": "lumi", "data": None},
                                                       {"name": "tes", "type": "histosys", "data": {
                                                           "hi_data": [s * 1.08 for s in sig],
                                                           "lo_data": [s * 0.95 for s in sig]}}]},
            {"name": "bkg", "data": bkg, "modifiers": [
                {"name": "lumi", "type": "lumi", "data": None},
                {"name": "bkg_norm", "type": "normsys", "data": {"hi": 1.07, "lo": 0.9}},
                {"name": "tes", "type": "histosys", "data": {"hi_data": [b * 0.9 + 1 for b in bkg],
                                                             "lo_data": [b * 1.12 for b in bkg]}},
                {"name": "jes", "type": "histosys", "data": {"hi_data": [b * 1.02 for b in bkg],
                                                             "lo_data": [b * 0.97 for b in bkg]}},
                {"name": f"staterror_{name}", "type": "staterror", "data": [0.1 * b**0.5 for b in bkg]}]},
            {"name": "other", "data": other, "modifiers": [
                {"name": "lumi", "type": "lumi", "data": None},
                {"name": "other_norm", "type": "normsys", "data": {"hi": 1.3, "lo": 0.6}},
                {"name": f"staterror_{name}", "type": "staterror", "data": [0.5] * n}]},
        ]}  # fmt: skip

    return {
        "version": "1.0.0",
        "channels": [channel("a", [5.0, 12.0, 30.0], [200.0, 60.0, 9.0], [20.0, 10.0, 4.0]),
                     channel("b", [3.0, 8.0], [80.0, 15.0], [6.0, 2.0])],
        "observations": [{"name": "a", "data": [230.0, 80.0, 45.0]}, {"name": "b", "data": [90.0, 30.0]}],
        "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": [
            {"name": "lumi", "auxdata": [1.0], "sigmas": [0.02], "bounds": [[0.5, 1.5]], "inits": [1.0]}]}}],
    }  # fmt: skip


def random_points(model, rows: int, seed: int = 1) -> np.ndarray:
    """Parameters spread over ±3σ-ish (α beyond ±1 on both sides), γ down to their lower bound."""
    rng = np.random.default_rng(seed)
    init = np.asarray(model.config.suggested_init(), dtype=float)
    bounds = np.asarray(model.config.suggested_bounds(), dtype=float)
    x = init + rng.normal(0.0, 1.6, (rows, init.size)) * np.minimum(1.0, 0.25 * (bounds[:, 1] - bounds[:, 0]))
    x[: rows // 10] = bounds[:, 0]  # every parameter at its lower bound (γ ≈ 0: no cancellation allowed)
    return np.clip(x, bounds[:, 0], bounds[:, 1])


@pytest.mark.parametrize("code", ["code4p", "code0"])
def test_expected_counts_and_twice_nll_equal_pyhf(code):
    spec = two_channel_workspace()
    x = random_points(workspace_model(spec), 300)
    model = workspace_model(spec, histosys_code=code, batch_size=len(x))
    terms = ModelTerms(workspace_model(spec, histosys_code=code))
    reference = np.asarray(model.expected_actualdata(x), dtype=float)
    np.testing.assert_allclose(terms.expected(x), reference, rtol=1e-12, atol=0.0)
    data = np.concatenate([reference[3] * 1.1, model.config.auxdata])  # non-integer counts, as Asimov data are
    pyhf_value = -2.0 * np.asarray(model.logpdf(x, data), dtype=float)
    mine = terms.twice_nll(x, data[None, : terms.nbins], data[None, terms.nbins :])
    finite = np.isfinite(pyhf_value)
    np.testing.assert_allclose(mine[finite], pyhf_value[finite], rtol=1e-12)
    assert np.all(np.isnan(mine[~finite]))


def test_code4_polynomial_meets_the_exponentials_smoothly():
    hi, lo = np.array([1.07, 1.3, 0.8]), np.array([0.9, 0.6, 1.1])
    a = code4_coefficients(hi, lo)
    poly = [np.polynomial.Polynomial(np.concatenate([[1.0], row])) for row in a]
    for p, h, low in zip(poly, hi, lo, strict=True):
        for order in range(3):
            d = p.deriv(order) if order else p
            assert d(1.0) == pytest.approx(h * np.log(h) ** order, rel=1e-12)
            assert d(-1.0) == pytest.approx(low * (-np.log(low)) ** order, rel=1e-12)


def test_likelihoods_use_the_terms_and_check_them_against_pyhf():
    spec = two_channel_workspace()
    lik = Likelihood(spec, [230.0, 80.0, 45.0, 90.0, 30.0], (0.0, 5.0))
    assert lik.terms is not None
    x = random_points(lik.model, 5)[2]
    assert lik.twice_nll(x) == pytest.approx(-2.0 * float(lik.model.logpdf(x, lik.data)[0]), rel=1e-12)
    batch = BatchedLikelihood(lik)
    batch.set_data(np.array([lik.data[:5], lik.data[:5] + 1.0]))
    assert batch.twice_nll(np.array([x, x]), np.array([0, 0]))[0] == pytest.approx(lik.twice_nll(x), rel=1e-12)
    wrong = ModelTerms.expected
    with pytest.MonkeyPatch.context() as patch:  # a model the terms would get wrong is refused when it is built
        patch.setattr(ModelTerms, "expected", lambda self, x: 1.01 * wrong(self, x))
        with pytest.raises(RuntimeError, match="differs from pyhf"):
            Likelihood(spec, [230.0, 80.0, 45.0, 90.0, 30.0], (0.0, 5.0))


def test_a_modifier_it_does_not_know_stays_with_pyhf():
    spec = two_channel_workspace()
    spec["channels"][0]["samples"][2]["modifiers"].append(
        {"name": "shape", "type": "shapesys", "data": [1.0, 1.0, 1.0]})
    with pytest.raises(NotImplementedError, match="shapesys"):
        ModelTerms(workspace_model(spec))
    lik = Likelihood(spec, [230.0, 80.0, 45.0, 90.0, 30.0], (0.0, 5.0))
    assert lik.terms is None
    x = np.asarray(lik.model.config.suggested_init(), dtype=float)
    assert lik.twice_nll(x) == pytest.approx(-2.0 * float(lik.model.logpdf(x, lik.data)[0]), rel=1e-12)
    assert lik.newton(x, lik.fixed) is not None
    with pytest.raises(NotImplementedError, match="batch engine"):
        BatchedLikelihood(lik)


def test_twice_nll_keeps_its_precision_on_large_counts():
    """On Asimov data of ~1e5 events Σ ln n! is ~1e7: summed apart it would leave ~1e-8 of noise in −2lnL, which a
    finite-difference Hessian divides by h². Each bin's term is summed whole, as pyhf does."""
    spec = two_channel_workspace()
    for channel in spec["channels"]:
        for sample in channel["samples"]:
            sample["data"] = [v * 500.0 for v in sample["data"]]
            for mod in sample["modifiers"]:
                if mod["type"] == "histosys":
                    mod["data"] = {k: [v * 500.0 for v in d] for k, d in mod["data"].items()}
        channel["samples"][1]["modifiers"].append({"name": "inert", "type": "histosys", "data": {
            "hi_data": channel["samples"][1]["data"], "lo_data": channel["samples"][1]["data"]}})  # moves nothing
    model = workspace_model(spec)
    terms = ModelTerms(model)
    x = np.asarray(model.config.suggested_init(), dtype=float)
    counts = terms.expected(x)
    j, h = model.config.par_slice("inert").start, 1e-3
    shifted = x.copy()
    shifted[j] += h
    values = terms.twice_nll(np.stack([x, shifted]), counts, model.config.auxdata)
    assert values[1] - values[0] == pytest.approx(h**2, abs=1e-12)  # only the constraint (θ/σ)² moved
