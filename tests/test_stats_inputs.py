"""Right formulas fed the wrong inputs: pulls in prior widths, a CLs limit with an NP, prior scales, shifted-truth toys.

Every expected value is computed independently (closed-form MLEs, pyhf's own CLs limit, a numpy Fisher matrix),
so a wrong width, a dropped NP, an ignored scale or a truth drawn at the wrong α fails a test.
"""

from __future__ import annotations

import numpy as np
import pyhf
import pytest
from scipy.optimize import brentq

from systlab.infer.fit import asimov_counts, fit_dataset
from systlab.infer.impacts import impacts
from systlab.infer.limits import upper_limit
from systlab.infer.toys import merge_chunks, run_toys
from systlab.likelihood.workspace import build_workspace, workspace_model
from systlab.studies.sensitivity import evaluate, prior_toy_expectations
from systlab.templates.histograms import Templates, hist_from_payload

MU = {"name": "mu", "type": "normfactor", "data": None}
LUMI = {"name": "lumi", "type": "lumi", "data": None}


@pytest.fixture
def pyhf_state():
    """pyhf's backend/optimiser is global state: restore it after a test that sets its own."""
    saved = pyhf.get_backend()
    yield
    pyhf.set_backend(*saved)


# ---- 1. pulls and post/prior widths in units of the prior width ------------------------------------------------

SIGMA_LUMI, B_A, N_A = 0.1, 10000.0, 10800.0  # bin 0: lumi-only background, data 8% high
S_SIG, B_SIG, N_SIG = 100.0, 20.0, 150.0  # bin 1: μ absorbs it exactly (so it does not constrain lumi)
K_NORM, B_C, N_C = 0.2, 2000.0, 2800.0  # bin 2: normsys background; α̂ > 1, where code4 is exactly (1 + K)^α
D, D_ERR, N_D = np.array([400.0, 900.0]), np.array([40.0, 45.0]), np.array([440.0, 880.0])  # bins 3-4: staterror
OBS = [N_A, N_SIG, N_C, *N_D]


def pulls_spec() -> dict:
    """Five bins, each NP measured by its own bin: lumi σ = 0.1, a 20% normsys, staterror δ = 0.1 and 0.05."""
    return {
        "version": "1.0.0",
        "channels": [{"name": "c", "samples": [
            {"name": "sig", "data": [0.0, S_SIG, 0.0, 0.0, 0.0], "modifiers": [MU, LUMI]},
            {"name": "bkg_sig", "data": [0.0, B_SIG, 0.0, 0.0, 0.0], "modifiers": []},
            {"name": "bkg_a", "data": [B_A, 0.0, 0.0, 0.0, 0.0], "modifiers": [LUMI]},
            {"name": "bkg_c", "data": [0.0, 0.0, B_C, 0.0, 0.0], "modifiers": [
                {"name": "xsec_c", "type": "normsys", "data": {"hi": 1 + K_NORM, "lo": 1 - K_NORM}}]},
            {"name": "bkg_d", "data": [0.0, 0.0, 0.0, *D], "modifiers": [
                {"name": "stat_d", "type": "staterror", "data": [0.0, 0.0, 0.0, *D_ERR]}]},
        ]}],
        "observations": [{"name": "c", "data": OBS}],
        "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": [
            {"name": "lumi", "auxdata": [1.0], "sigmas": [SIGMA_LUMI], "bounds": [[0.5, 1.5]], "inits": [1.0]}]}}],
    }  # fmt: skip


def gaussian_scale_factor(n: float, b: float, sigma: float) -> tuple[float, float]:
    """(pull, post/prior) of θ in Pois(n | θb)·N(1 | θ, σ): n/θ̂ − b = (θ̂ − 1)/σ², σ_post² = 1/(n/θ̂² + 1/σ²)."""
    theta = brentq(lambda t: n / t - b - (t - 1.0) / sigma**2, 0.5, 1.5)
    return (theta - 1.0) / sigma, 1.0 / np.sqrt(n / theta**2 + 1.0 / sigma**2) / sigma


def normsys_scale_factor(n: float, b: float, k: float) -> tuple[float, float]:
    """(pull, post/prior) of α in Pois(n | ν = b(1+k)^α)·N(0 | α, 1): (n − ν)ln(1+k) = α, 1/σ_post² = ν ln²(1+k) + 1."""
    lk = np.log1p(k)
    alpha = brentq(lambda a: (n - b * np.exp(a * lk)) * lk - a, 0.0, 5.0)
    return alpha, 1.0 / np.sqrt(b * np.exp(alpha * lk) * lk**2 + 1.0)


def analytic_pulls() -> dict[str, tuple[float, float]]:
    out = {"lumi": gaussian_scale_factor(N_A, B_A, SIGMA_LUMI), "xsec_c": normsys_scale_factor(N_C, B_C, K_NORM)}
    for i, (n, d, err) in enumerate(zip(N_D, D, D_ERR, strict=True)):
        out[f"stat_d[{3 + i}]"] = gaussian_scale_factor(n, d, err / d)
    assert out["xsec_c"][0] > 1.2  # outside code4's polynomial core, so the closed form holds
    return out


def test_fit_pulls_and_constraints_are_in_units_of_the_prior_width():
    """FitResult.pulls: (θ̂ − θ0)/σ_prior and σ_post/σ_prior against closed-form MLEs (σ_lumi = 0.1, δ = 0.1, 0.05)."""
    r = fit_dataset(pulls_spec(), OBS, (0.0, 5.0), 3, "pulls")
    assert r.converged, r.notes
    expected = analytic_pulls()
    theta, lumi_post = 1.0 + SIGMA_LUMI * expected["lumi"][0], SIGMA_LUMI * expected["lumi"][1]
    assert r.mu_hat == pytest.approx((N_SIG - B_SIG) / (theta * S_SIG), rel=1e-5)
    assert set(r.pulls) == set(expected)
    for name, (pull, ratio) in expected.items():
        assert r.pulls[name][0] == pytest.approx(pull, abs=2e-4), name
        assert r.pulls[name][1] == pytest.approx(ratio, rel=2e-3), name
    # bin 1 is saturated (ν = n) and μ ∝ 1/lumi there: σ_μ² = n/(θ̂S)² + (μ̂/θ̂)²σ_lumi,post²
    sigma_mu = np.hypot(np.sqrt(N_SIG) / (theta * S_SIG), r.mu_hat / theta * lumi_post)
    assert r.mu_error == pytest.approx(sigma_mu, rel=2e-3)


def test_impacts_pulls_and_constraints_are_in_units_of_the_prior_width():
    """impacts(): the same pulls and σ_post/σ_prior; the 0.1-wide lumi is 10× over-constrained by its 10⁴ events."""
    r = impacts(pulls_spec(), OBS, (0.0, 5.0))
    assert r.converged, r.notes
    got = {p.name: p for p in r.pulls}
    expected = analytic_pulls()
    assert set(got) == set(expected)
    for name, (pull, ratio) in expected.items():
        assert got[name].pull == pytest.approx(pull, abs=2e-4), name
        assert got[name].constraint == pytest.approx(ratio, rel=2e-3), name
        assert got[name].over_constrained == (ratio < 0.5), name
    # pre-fit impact of lumi: μ̂ with lumi fixed at θ̂ ± σ_prior absorbs the ±0.1 of the signal yield exactly
    theta = 1.0 + SIGMA_LUMI * expected["lumi"][0]
    imp = {i.name: i for i in r.ranking}["lumi"]
    assert imp.prefit_up == pytest.approx(r.mu_hat * (theta / (theta + SIGMA_LUMI) - 1.0), rel=1e-3)
    assert imp.prefit_down == pytest.approx(r.mu_hat * (theta / (theta - SIGMA_LUMI) - 1.0), rel=1e-3)


# ---- 2. CLs upper limit with one normsys NP ------------------------------------------------------------------

S_LIM, B_LIM, SIGMA_B = 10.0, 50.0, 0.1


def limit_spec(n: float, sigma: float) -> dict:
    """One bin, s = μ·10, b = 50 with a normsys of ``sigma`` on b (1e-6: no NP, as pyhf needs one constraint)."""
    bkg_mods = [{"name": "bnorm", "type": "normsys", "data": {"hi": 1 + sigma, "lo": 1 - sigma}}]
    return {
        "version": "1.0.0",
        "channels": [{"name": "bin", "samples": [
            {"name": "sig", "data": [S_LIM], "modifiers": [MU]},
            {"name": "bkg", "data": [B_LIM], "modifiers": bkg_mods},
        ]}],
        "observations": [{"name": "bin", "data": [n]}],
        "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": []}}],
    }  # fmt: skip


@pytest.mark.usefixtures("pyhf_state")
@pytest.mark.parametrize("n", [55.0, 44.0])  # data pull the NP up / down in the background-only fit
def test_cls_limit_with_a_normsys_matches_pyhf_and_exceeds_the_no_np_limit(n):
    """upper_limit against pyhf's own q̃_μ asymptotic limit (scipy fits, TOMS748) on the same spec."""
    r = upper_limit(limit_spec(n, SIGMA_B), [n], cl=0.95, poi_bounds=(0.0, 10.0))
    assert not r.at_bound
    pyhf.set_backend("numpy", pyhf.optimize.scipy_optimizer())
    model = pyhf.Workspace(limit_spec(n, SIGMA_B)).model()
    obs, exp = pyhf.infer.intervals.upper_limits.upper_limit([n, *model.config.auxdata], model, scan=None,
                                                             level=0.05, rtol=1e-6)  # fmt: skip
    assert r.observed == pytest.approx(float(obs), rel=2e-4)
    assert r.expected == pytest.approx([float(e) for e in exp], rel=2e-4)
    bare = upper_limit(limit_spec(n, 1e-6), [n], cl=0.95, poi_bounds=(0.0, 10.0))
    assert r.observed > 1.1 * bare.observed
    assert all(a > 1.1 * b for a, b in zip(r.expected, bare.expected, strict=True))


# ---- 3. the width of μ follows the prior scale of a shape NP ----------------------------------------------------

EDGES = np.linspace(0.0, 1.0, 5)
X = 0.5 * (EDGES[1:] + EDGES[:-1])
YIELDS = {"sig": 60.0 * np.exp(3.0 * X), "bkg": 3000.0 * np.exp(-2.5 * X)}
TES = 0.3 * (X - 0.2)  # +1σ of tes raises the high-score bins: it mimics signal
MC_REL = 0.01  # relative MC uncertainty of every template bin (staterror δ)
LUMI_SIGMA = 0.02
SETTINGS = {"signal": "sig", "backgrounds": ["bkg"], "shape_nps": {"tes": False}, "norm_nps": {}}


def scaled_templates(k: float) -> Templates:
    """Templates whose tes ±1σ variations are k× the nominal TES shift: the prior of tes scaled by k."""
    split = {
        p: {
            v: {"counts": (y * (1.0 + s * k * TES)).tolist(), "sumw2": ((MC_REL * y) ** 2).tolist()}
            for v, s in (("nominal", 0), ("tes_+1sd", 1), ("tes_-1sd", -1))
        }
        for p, y in YIELDS.items()
    }
    h = hist_from_payload(EDGES, split)
    return Templates(edges=EDGES, splits={"template": h, "toy": h}, signal=("sig",))


def fisher_sigma_mu(k: float) -> float:
    """σ_μ of the Asimov data from the Fisher matrix in (μ, tes, lumi, γ_bins), written out with numpy."""
    s, b = YIELDS["sig"], YIELDS["bkg"]
    nu = s + b
    jac = np.column_stack([s, k * TES * nu, nu, np.diag(b)])  # ∂ν/∂(μ, α, λ, γ); tes shifts signal and background
    prior = np.diag([0.0, 1.0, LUMI_SIGMA**-2, *([MC_REL**-2] * len(nu))])
    return float(np.sqrt(np.linalg.inv(jac.T @ (jac / nu[:, None]) + prior)[0, 0]))


def test_profiled_mu_width_grows_with_the_shape_np_prior_scale():
    """build_workspace + fit_dataset on Asimov: HESSE σ_μ equals the Fisher σ_μ, and the 68% width grows with k."""
    widths = []
    for k in (0.0, 0.5, 1.0, 2.0):
        spec = build_workspace(scaled_templates(k), **SETTINGS, lumi_sigma=LUMI_SIGMA)
        r = fit_dataset(spec, asimov_counts(spec), (0.0, 3.0), 3, f"k={k}")
        assert r.converged and r.mu_hat == pytest.approx(1.0, abs=1e-4)
        assert r.mu_error == pytest.approx(fisher_sigma_mu(k), rel=2e-3), k
        widths.append(r.interval_68[1] - r.interval_68[0])
    assert np.all(np.diff(widths) > 0.05 * widths[0]), widths
    assert widths[-1] > 1.5 * widths[0], widths  # tes at k = 2 dominates the statistical width


# ---- a small shape model: signal + 2 backgrounds, one histosys NP mostly under the signal (3 and 4) ------------

SIG4, BKG1, BKG2 = np.array([2.0, 8.0, 30.0]), np.array([100.0, 80.0, 60.0]), np.array([100.0, 40.0, 20.0])
SHAPE4 = np.array([0.05, 0.12, 0.25])  # +1σ of alpha: +5% in the sideband, +25% under the signal


def shape_spec() -> dict:
    """Three bins: sideband, middle, signal region; alpha tilts bkg1 towards the signal region."""
    return {
        "version": "1.0.0",
        "channels": [{"name": "c", "samples": [
            {"name": "sig", "data": SIG4.tolist(), "modifiers": [MU]},
            {"name": "bkg1", "data": BKG1.tolist(), "modifiers": [{"name": "alpha", "type": "histosys", "data": {
                "hi_data": (BKG1 * (1 + SHAPE4)).tolist(), "lo_data": (BKG1 * (1 - SHAPE4)).tolist()}}]},
            {"name": "bkg2", "data": BKG2.tolist(), "modifiers": []},
        ]}],
        "observations": [{"name": "c", "data": (SIG4 + BKG1 + BKG2).tolist()}],
        "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": []}}],
    }  # fmt: skip


def test_prior_scale_of_the_truth_widens_the_mu_hat_spread_and_lowers_coverage():
    """The prior study (prior_toy_expectations -> evaluate): α drawn from N(0, (sσ)²) per toy, the fit's prior fixed."""
    spec = shape_spec()
    edges_only = Templates(edges=np.linspace(0.0, 1.0, 4), splits={}, signal=("sig",))  # evaluate reads no truths
    cov = {}
    for scale in (0.5, 1.0, 2.0):
        rows = prior_toy_expectations(spec, {"alpha": scale}, 40, seed=11)
        cov[scale] = evaluate("prior", f"{scale:g}", edges_only, spec, [], (-4.0, 6.0), 3, 40, seed=12,
                              toy_expected=rows).coverage  # fmt: skip
        assert cov[scale]["n_used"] == 40 and cov[scale]["n_open"] == 0
    spread = [cov[s]["mu_hat_std"] for s in (0.5, 1.0, 2.0)]
    widths = [cov[s]["mean_width"] for s in (0.5, 1.0, 2.0)]
    assert spread[0] < spread[1] < spread[2] and spread[2] > 1.6 * spread[0], spread
    assert max(widths) < 1.03 * min(widths), widths  # the fit's prior, hence its interval, does not move
    assert cov[0.5]["coverage"] > cov[1.0]["coverage"] > cov[2.0]["coverage"] + 0.1, cov


# ---- 4. coverage at a shifted truth α = ±1σ of the histosys NP ---------------------------------------------------


@pytest.mark.parametrize("alpha", [1.0, -1.0])
def test_coverage_and_bias_at_a_shifted_histosys_truth(alpha):
    """300 frequentist toys at (μ = 1, α = ±1): counts from the model there, aux data Gaussian around α."""
    spec = shape_spec()
    model = workspace_model(spec)
    truth = np.asarray(model.config.suggested_init(), dtype=float)
    truth[model.config.par_slice("alpha")] = alpha
    expected = np.asarray(model.expected_actualdata(truth), dtype=float)
    np.testing.assert_allclose(expected, SIG4 + BKG1 * (1 + alpha * SHAPE4) + BKG2)
    aux = np.asarray(model.expected_auxdata(truth), dtype=float)
    assert aux.tolist() == [alpha]
    n = 300
    chunk = run_toys(spec, expected, 1.0, 0, n, seed=5, mu_range=(-3.0, 5.0), fluctuate_aux=True, aux_centre=aux)
    c = merge_chunks([chunk])
    summary = f"coverage {c.coverage:.3f} (σ68 {c.sigma68:.3f}), bias {c.bias:.3f}, std {c.mu_hat_std:.3f}"
    assert c.n_used == n and c.n_open == 0
    assert abs(c.coverage - 0.6827) < 3 * c.sigma68, summary
    assert abs(c.bias) < 3 * c.mu_hat_std / np.sqrt(c.n_used), summary
    assert c.mean_width == pytest.approx(2 * c.mu_hat_std, rel=0.15)
