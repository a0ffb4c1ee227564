"""Quick tests written against the surviving mutants listed in tests/MUTATION.md.

Each test pins an input or behaviour no other quick test checks exactly: the Coverage fields of a hand-made toy
chunk, every refusal of the workspace builder, the limit's argument checks, asymptotic CLs at q_A < 1 and
q_A = 0 (Cowan, Cranmer, Gross, Vitells, arXiv:1007.1727), the limit payload and the crossing search's edge paths.
Every expected number is written out here, not taken from the code under test.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.stats import norm

import systlab.infer.fit as fit
from models import one_bin_spec
from systlab.infer.limits import (
    BANDS,
    UpperLimit,
    cls_expected,
    cls_observed,
    limit_bounds,
    limit_from_profiles,
    upper_limit,
    upper_limit_payload,
    write_upper_limit,
)
from systlab.infer.toys import (
    ToyChunk,
    chunk_bounds,
    concatenate,
    coverage_penalty,
    merge_chunks,
)
from systlab.likelihood.binned import Likelihood
from systlab.likelihood.workspace import WorkspaceError, build_workspace
from systlab.templates.histograms import Templates, hist_from_payload

# ---------------------------------------------------------------------------------------------------------------
# toys: merge_chunks / concatenate / Coverage fields by hand
# ---------------------------------------------------------------------------------------------------------------

ONE_SIGMA = 0.6827  # the nominal 68.27 % of the FAIR Universe scoring, written out (not imported)


def hand_chunk(start: int = 0, stop: int = 4, seconds: float = 3.0) -> ToyChunk:
    """Four toys at μ_true = 1: two cover (one at lo, one at hi exactly), one misses, one failed.

    toy 0: [0.5, 1.0] covers (μ_true = hi), toy 1: [1.0, 1.6] covers (μ_true = lo, open below),
    toy 2: [1.5, 2.5] misses, toy 3: not converged (open above; it must be left out of everything but
    n_toys, n_failed and seconds_per_toy).
    """
    full = {
        "mu_true": np.array([1.0, 1.0, 1.0, 1.0]),
        "mu_hat": np.array([0.9, 1.3, 2.0, 0.5]),
        "lo": np.array([0.5, 1.0, 1.5, 0.0]),
        "hi": np.array([1.0, 1.6, 2.5, 0.8]),
        "converged": np.array([True, True, True, False]),
        "open_lo": np.array([False, True, False, False]),
        "open_hi": np.array([False, False, False, True]),
        "n_fits": np.array([5, 7, 6, 30]),
        "q_mu_true": np.array([0.01, 0.2, 1.8, 0.0]),
    }
    part = {k: v[start:stop] for k, v in full.items()}
    return ToyChunk(start=start, stop=stop, seed=17, seconds=seconds, **part)


def test_merge_chunks_every_coverage_field_by_hand():
    c = merge_chunks([hand_chunk()])
    n_used = 3
    sigma68 = math.sqrt(ONE_SIGMA * (1.0 - ONE_SIGMA) / n_used)
    coverage = 2.0 / 3.0
    widths = [0.5, 0.6, 1.0]
    mean_width = sum(widths) / 3.0
    mu_hats = [0.9, 1.3, 2.0]
    mean = sum(mu_hats) / 3.0
    std = math.sqrt(sum((m - mean) ** 2 for m in mu_hats) / (n_used - 1))  # ddof = 1
    # the band ONE_SIGMA ± 2σ68 holds 2/3 for three toys: penalty 1
    assert ONE_SIGMA - 2 * sigma68 < coverage < ONE_SIGMA + 2 * sigma68
    assert c.n_toys == 4 and type(c.n_toys) is int
    assert c.n_used == 3 and c.n_failed == 1 and type(c.n_failed) is int
    assert c.coverage == pytest.approx(coverage, abs=1e-12)
    assert c.sigma68 == pytest.approx(sigma68, abs=1e-12)
    assert c.coverage_pull == pytest.approx((coverage - ONE_SIGMA) / sigma68, abs=1e-12)
    assert c.mean_width == pytest.approx(mean_width, abs=1e-12)
    assert c.median_width == pytest.approx(0.6, abs=1e-12)
    assert c.mu_hat_mean == pytest.approx(1.4, abs=1e-12)
    assert c.mu_hat_std == pytest.approx(std, abs=1e-12) and std == pytest.approx(math.sqrt(0.31), abs=1e-12)
    assert c.bias == pytest.approx(0.4, abs=1e-12)
    assert c.penalty == 1.0
    assert c.score == pytest.approx(-math.log(mean_width + 1e-3), abs=1e-12)
    assert c.n_open == 1  # toy 1 (open below); the failed toy 3 is open above but not used
    assert c.seconds_per_toy == pytest.approx(3.0 / 4, abs=1e-12)  # per toy run, failed ones included
    np.testing.assert_array_equal(c.q_mu_true, [0.01, 0.2, 1.8])


def test_merge_chunks_penalty_uses_the_converged_toys_below_the_band():
    """No converged toy covers: f = 1 + ((c − low)/σ68)^4 with σ68 of the 3 used toys, not of the 4 run."""
    chunk = hand_chunk()._replace(mu_true=np.array([3.0, 3.0, 3.0, 3.0]))
    c = merge_chunks([chunk])
    sigma68 = math.sqrt(ONE_SIGMA * (1.0 - ONE_SIGMA) / 3)
    low = ONE_SIGMA - 2.0 * sigma68
    penalty = 1.0 + ((0.0 - low) / sigma68) ** 4
    assert c.coverage == 0.0
    assert c.penalty == pytest.approx(penalty, rel=1e-12)
    assert c.score == pytest.approx(-math.log((0.7 + 1e-3) * penalty), rel=1e-12)
    assert c.bias == pytest.approx(1.4 - 3.0, abs=1e-12)
    assert c.coverage_pull == pytest.approx(-ONE_SIGMA / sigma68, abs=1e-12)


def test_two_chunks_concatenate_to_the_one_chunk_and_merge_alike():
    whole = hand_chunk()
    a, b = hand_chunk(0, 2, seconds=1.0), hand_chunk(2, 4, seconds=2.0)
    joined = concatenate([b, a])  # any order: sorted by start
    assert (joined.start, joined.stop, joined.seed) == (0, 4, 17)
    assert joined.seconds == 3.0
    for field in ("mu_true", "mu_hat", "lo", "hi", "converged", "open_lo", "open_hi", "n_fits", "q_mu_true"):
        np.testing.assert_array_equal(getattr(joined, field), getattr(whole, field))
    one, two = merge_chunks([whole]), merge_chunks([a, b])
    for field, x, y in zip(one._fields, one, two, strict=True):
        if field == "q_mu_true":
            np.testing.assert_array_equal(x, y)
        else:
            assert x == pytest.approx(y, abs=1e-12), field


def test_merge_chunks_of_one_used_toy_has_nan_std_and_refusals():
    one = merge_chunks([hand_chunk(2, 4)])  # toy 2 used, toy 3 failed
    assert (one.n_toys, one.n_used, one.n_failed) == (2, 1, 1)
    assert math.isnan(one.mu_hat_std)
    assert one.mu_hat_mean == 2.0 and one.median_width == 1.0 and one.seconds_per_toy == 1.5
    single = merge_chunks([hand_chunk(2, 3, seconds=1.0)])  # one toy run: 1 s per toy
    assert (single.n_toys, single.seconds_per_toy) == (1, 1.0) and math.isnan(single.mu_hat_std)
    two = merge_chunks([hand_chunk(0, 2)])  # two used toys: the ddof = 1 standard deviation
    assert two.mu_hat_std == pytest.approx(math.sqrt((0.2**2 + 0.2**2) / 1), abs=1e-12)
    with pytest.raises(ValueError, match="none of 1 toys converged"):
        merge_chunks([hand_chunk(3, 4)])
    with pytest.raises(ValueError, match=r"^no toy chunks to merge$"):
        merge_chunks([])
    with pytest.raises(ValueError, match=r"^coverage needs at least one toy$"):
        coverage_penalty(0.68, 0)


def test_chunk_bounds_with_one_toy_per_chunk():
    assert chunk_bounds(1, 1) == [(0, 1)]
    assert chunk_bounds(5, 5) == [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]


# ---------------------------------------------------------------------------------------------------------------
# workspace: every refusal of check_inputs, the lumi bounds of build_workspace
# ---------------------------------------------------------------------------------------------------------------

EDGES = np.linspace(0.0, 1.0, 5)
NOMINAL = {
    "sig": np.array([1.0, 2.0, 5.0, 10.0]),
    "bkg_a": np.array([100.0, 50.0, 20.0, 5.0]),
    "bkg_b": np.array([30.0, 20.0, 10.0, 2.0]),
}
BKGS = ["bkg_a", "bkg_b"]
SHAPE_NPS = {"tes": False}


def entry(values: np.ndarray) -> dict:
    return {"counts": values.tolist(), "sumw2": np.abs(values).tolist()}


def make_templates(nominal: dict[str, np.ndarray] = NOMINAL) -> Templates:
    split = {
        p: {"nominal": entry(nom), "tes_+1sd": entry(nom * 1.05), "tes_-1sd": entry(nom * 0.95)}
        for p, nom in nominal.items()
    }
    h = hist_from_payload(EDGES, split)
    return Templates(edges=EDGES, splits={"template": h, "toy": h}, signal=("sig",))


@pytest.fixture(scope="module")
def templates() -> Templates:
    return make_templates()


def build(templates, backgrounds=BKGS, shape_nps=SHAPE_NPS, norm_nps=None, lumi_sigma=0.02, signal="sig"):
    norm_nps = {"xsec_a": (["bkg_a"], 0.1)} if norm_nps is None else norm_nps
    return build_workspace(templates, signal, backgrounds, shape_nps, norm_nps, lumi_sigma)


def test_duplicate_samples_are_refused(templates):
    with pytest.raises(WorkspaceError, match=r"duplicate samples in signal \+ backgrounds: \['sig', 'bkg_a', 'sig'\]"):
        build(templates, backgrounds=["bkg_a", "sig"])
    with pytest.raises(WorkspaceError, match="duplicate samples"):
        build(templates, backgrounds=["bkg_a", "bkg_a"])


def test_parameter_name_clashes_are_refused(templates):
    for shape, norm_nps in (({"lumi": False}, {}), ({"mu": False}, {}), ({"tes": False}, {"tes": (["bkg_a"], 0.1)}),
                            ({}, {"staterror_score": (["bkg_a"], 0.1)})):
        with pytest.raises(WorkspaceError, match="parameter names clash"):
            build(templates, shape_nps=shape, norm_nps=norm_nps)


def test_normsys_on_an_unknown_process_names_np_and_process(templates):
    with pytest.raises(WorkspaceError, match=r"normalisation NP 'x' acts on unknown processes \['bkg_c'\]"):
        build(templates, norm_nps={"x": (["bkg_a", "bkg_c"], 0.1)})


@pytest.mark.parametrize("sigma", [0.0, 1.0, -0.1, 1.5])
def test_normsys_width_outside_zero_one_is_refused(templates, sigma):
    with pytest.raises(WorkspaceError, match=rf"normalisation NP 'x': sigma {sigma} not in \(0, 1\)"):
        build(templates, norm_nps={"x": (["bkg_a"], sigma)})


@pytest.mark.parametrize("lumi_sigma", [0.0, 1.0, -0.02, 1.5])
def test_lumi_sigma_outside_zero_one_is_refused(templates, lumi_sigma):
    with pytest.raises(WorkspaceError, match=rf"lumi_sigma {lumi_sigma} not in \(0, 1\)"):
        build(templates, lumi_sigma=lumi_sigma)


def test_missing_process_or_variation_is_named(templates):
    with pytest.raises(WorkspaceError, match=r"templates lack process\(es\)/variation\(s\) \['bkg_c'\]"):
        build(templates, backgrounds=["bkg_a", "bkg_c"], norm_nps={})
    with pytest.raises(WorkspaceError, match=r"lack .*\['jes_\+1sd', 'jes_-1sd'\]"):
        build(templates, shape_nps={"jes": False})
    with pytest.raises(WorkspaceError, match=r"lack .*\['jes_\+1sd'\]"):  # one-sided: only the +1σ template
        build(templates, shape_nps={"jes": True})


@pytest.mark.parametrize(("a", "b", "total"), [(0.0, 0.0, "0"), (-4.0, 1.0, "-3")])
def test_background_bin_total_zero_or_negative_is_named(a, b, total):
    nominal = {k: v.copy() for k, v in NOMINAL.items()}
    nominal["bkg_a"][1], nominal["bkg_b"][1] = a, b
    with pytest.raises(WorkspaceError, match=rf"nominal background total is {total} \(<= 0\) "
                                             r"in score bin 1 \[0\.25, 0\.5\)"):  # fmt: skip
        build(make_templates(nominal))


def test_a_small_positive_background_bin_total_passes():
    nominal = {k: v.copy() for k, v in NOMINAL.items()}
    nominal["bkg_a"][1], nominal["bkg_b"][1] = 0.25, 0.25  # total 0.5: > 0 is enough
    spec = build(make_templates(nominal))
    assert [s["data"][1] for s in spec["channels"][0]["samples"]] == [2.0, 0.25, 0.25]


def test_widths_just_inside_zero_one_pass_and_set_the_lumi_bounds(templates):
    for sigma in (1e-9, 0.999):
        spec = build(templates, norm_nps={"x": (["bkg_a"], sigma)}, lumi_sigma=sigma)
        (lumi,) = spec["measurements"][0]["config"]["parameters"]
        assert lumi["sigmas"] == [sigma] and lumi["auxdata"] == [1.0] and lumi["inits"] == [1.0]
        low, high = lumi["bounds"][0]
        assert low == pytest.approx(max(1e-6, 1.0 - 5.0 * sigma), abs=1e-15)
        assert high == pytest.approx(1.0 + 5.0 * sigma, abs=1e-15)
    spec = build(templates, lumi_sigma=0.02)
    (lumi,) = spec["measurements"][0]["config"]["parameters"]
    assert lumi["bounds"] == [[pytest.approx(0.9, abs=1e-15), pytest.approx(1.1, abs=1e-15)]]
    spec = build(templates, lumi_sigma=0.5)  # 1 − 5σ < 0: the lower bound stays at 1e-6
    (lumi,) = spec["measurements"][0]["config"]["parameters"]
    assert lumi["bounds"] == [[1e-6, 3.5]]


# ---------------------------------------------------------------------------------------------------------------
# limits: argument checks, asymptotic CLs at small q_A, limit_from_profiles on analytic profiles, the payload
# ---------------------------------------------------------------------------------------------------------------




@pytest.mark.parametrize("cl", [0.0, 1.0, -0.5, 1.5])
def test_bad_cl_is_refused(cl):
    with pytest.raises(ValueError, match=rf"cl {cl} not in \(0, 1\)"):
        limit_bounds(cl, (0.0, 10.0))
    with pytest.raises(ValueError, match=rf"cl {cl} not in \(0, 1\)"):
        upper_limit(one_bin_spec(), [50.0], cl=cl)


def test_bad_test_stat_and_empty_or_inverted_bounds_are_refused():
    with pytest.raises(ValueError, match=r"test_stat 'q0': only 'qtilde' is implemented"):
        upper_limit(one_bin_spec(), [50.0], test_stat="q0")
    for bounds in ((0.0, 0.0), (0.0, -1.0)):
        with pytest.raises(ValueError, match=rf"poi_bounds \({bounds[0]}, {bounds[1]}\) are empty"):
            limit_bounds(0.95, bounds)
        with pytest.raises(ValueError, match="are empty"):
            upper_limit(one_bin_spec(), [50.0], poi_bounds=bounds)
    with pytest.raises(ValueError, match=r"^the qtilde test statistic needs the lower POI bound at 0$"):
        limit_bounds(0.95, (-1.0, 5.0))
    assert limit_bounds(0.5, (0, 3)) == (0.0, 3.0) and limit_bounds(1e-9, (0.0, 1e-9))[1] == 1e-9


def cls_formula(q_tilde: float, q_a: float) -> float:
    """1007.1727 eq. (66)–(67) for CLs = p_{s+b}/(1 − p_b) of q̃_μ, written out."""
    if q_a == 0.0:
        return 1.0  # no sensitivity: the s+b and b distributions of q̃ coincide
    q = max(q_tilde, 0.0)  # 1 − Φ(x) as Φ(−x) in logs: finite far in the tails
    if q <= q_a:  # (1 − Φ(√q̃)) / Φ(√q_A − √q̃)
        return math.exp(norm.logcdf(-math.sqrt(q)) - norm.logcdf(math.sqrt(q_a) - math.sqrt(q)))
    sqa = math.sqrt(q_a)  # (1 − Φ((q̃ + q_A)/(2√q_A))) / (1 − Φ((q̃ − q_A)/(2√q_A)))
    return math.exp(norm.logcdf(-(q + q_a) / (2.0 * sqa)) - norm.logcdf(-(q - q_a) / (2.0 * sqa)))


@pytest.mark.parametrize(("q_tilde", "q_a"), [
    (0.09, 0.25),  # q̃ ≤ q_A < 1
    (0.64, 0.25),  # q_A < q̃ < 1
    (0.0, 0.25),
    (-0.3, 0.25),  # a negative q̃ (rounding) counts as 0
    (2.25, 1.0),  # q̃ > q_A = 1
    (0.49, 1.0),
    (0.25, 0.25),  # q̃ = q_A: both branches meet
    (3.0, 4.0),
])
def test_cls_observed_matches_the_asymptotic_formula_at_small_q_asimov(q_tilde, q_a):
    assert cls_observed(q_tilde, q_a) == pytest.approx(cls_formula(q_tilde, q_a), rel=1e-12)


@pytest.mark.parametrize("q_tilde", [0.0, 0.3, 1.0, 9.0])
def test_cls_observed_is_one_without_sensitivity(q_tilde):
    assert cls_observed(q_tilde, 0.0) == pytest.approx(1.0, rel=1e-14)
    assert cls_observed(q_tilde, -0.2) == pytest.approx(1.0, rel=1e-14)  # q_A < 0 (rounding) counts as 0


@pytest.mark.parametrize("q_a", [0.0, 0.04, 0.25, 0.81, 2.0])
def test_cls_expected_bands_match_the_formula(q_a):
    for n in BANDS:  # 1007.1727 eq. (89) in CLs form: Φ(−√q_A − N)/Φ(−N)
        want = norm.cdf(-math.sqrt(q_a) - n) / norm.cdf(-n)
        assert cls_expected(q_a, n) == pytest.approx(want, rel=1e-12)
    assert cls_expected(-0.1, 1.0) == pytest.approx(1.0, rel=1e-14)


def counting_profiles(s: float, b: float, n: float):
    """Two-sided −2ΔlnL of the Poisson counting model (μ ≥ 0) and of its background-only Asimov data n = b."""

    def nll(mu: float, k: float) -> float:
        return mu * s + b - k * math.log(mu * s + b)

    mu_hat = max((n - b) / s, 0.0)

    def observed(mu: float) -> float:  # NOT clipped below μ̂: limit_from_profiles must set q̃ = 0 there itself
        return 2.0 * (nll(mu, n) - nll(mu_hat, n))

    def asimov(mu: float) -> float:
        return 2.0 * (nll(mu, b) - nll(0.0, b))

    def cls(mu: float) -> float:
        return cls_formula(0.0 if mu < mu_hat else observed(mu), asimov(mu))

    return observed, asimov, mu_hat, cls


def test_limit_from_profiles_with_an_excess_sets_q_tilde_zero_below_mu_hat():
    s, b, n = 10.0, 50.0, 100.0  # μ̂ = 5
    observed, asimov, mu_hat, cls = counting_profiles(s, b, n)
    r = limit_from_profiles(observed, asimov, mu_hat, 0.95, (0.0, 20.0))
    want = brentq(lambda m: cls(m) - 0.05, 1e-6, 20.0, xtol=1e-12, rtol=1e-12)
    assert r.observed == pytest.approx(want, rel=1e-3)
    mus, values = r.scan
    below = mus < mu_hat
    assert below.any()  # the bracket was evaluated below μ̂
    np.testing.assert_allclose(values[below], [cls_formula(0.0, asimov(m)) for m in mus[below]], rtol=1e-12)
    np.testing.assert_allclose(values, [cls(m) for m in mus], rtol=1e-10)
    assert list(mus) == sorted(mus)
    assert r.cl == 0.95 and type(r.cl) is float and r.test_stat == "qtilde" and r.poi_bounds == (0.0, 20.0)
    assert not r.at_bound


def test_limit_from_profiles_default_rtol_and_expected_bands():
    s, b, n = 10.0, 50.0, 48.0
    observed, asimov, mu_hat, cls = counting_profiles(s, b, n)
    r = limit_from_profiles(observed, asimov, mu_hat, 0.95, (0.0, 10.0))  # default rtol 1e-4
    want = brentq(lambda m: cls(m) - 0.05, 1e-6, 10.0, xtol=1e-12, rtol=1e-12)
    assert r.observed == pytest.approx(want, rel=3e-4)
    for n_sigma, got in zip(sorted(BANDS, reverse=True), r.expected, strict=True):
        band = brentq(lambda m, k=n_sigma: cls_expected(asimov(m), k) - 0.05, 1e-6, 10.0, xtol=1e-12, rtol=1e-12)
        assert got == pytest.approx(band, rel=3e-4)


def test_the_first_bracket_starts_at_a_thousandth_of_the_range():
    s, b, n = 10.0, 50.0, 100.0
    observed, asimov, mu_hat, _ = counting_profiles(s, b, n)
    r = limit_from_profiles(observed, asimov, mu_hat, 0.95, (0.0, 20.0))
    assert r.scan[0][0] == pytest.approx(0.02, rel=1e-12)  # lo + 1e-3·(hi − lo): the lowest μ tested
    assert r.scan[0][-1] == 20.0  # the upper bound is tested first


@pytest.mark.parametrize(("margin", "at_bound"), [(1.0005, True), (1.005, False)])
def test_at_bound_within_a_thousandth_of_the_upper_bound(margin, at_bound):
    """The highest limit (the +2σ band) 0.05 % below the bound counts as at the bound, 0.5 % below does not."""
    s, b, n = 10.0, 50.0, 48.0
    observed, asimov, mu_hat, _ = counting_profiles(s, b, n)
    top = brentq(lambda m: cls_expected(asimov(m), -2.0) - 0.05, 1e-6, 20.0, xtol=1e-13, rtol=1e-13)
    r = limit_from_profiles(observed, asimov, mu_hat, 0.95, (0.0, top * margin), rtol=1e-8)
    assert r.expected[4] == pytest.approx(top, rel=1e-6) and max(r.observed, *r.expected) == r.expected[4]
    assert r.at_bound is at_bound


def test_upper_limit_passes_rtol_and_takes_the_asimov_minimum_at_zero(monkeypatch):
    """upper_limit hands its rtol on and fits the background-only Asimov minimum as the μ = 0 fit (no free MLE)."""
    import systlab.infer.limits as limits

    seen: list[float] = []
    profile = limits.profile_upper_limit

    def spy(data, background, cl, rtol):
        seen.append(rtol)
        assert background.minimum_at == 0.0
        return profile(data, background, cl, rtol)

    mle_calls: list[int] = []
    mle = Likelihood.mle

    def counted(self, *args, **kwargs):
        mle_calls.append(1)
        return mle(self, *args, **kwargs)

    monkeypatch.setattr(limits, "profile_upper_limit", spy)
    monkeypatch.setattr(Likelihood, "mle", counted)
    r = upper_limit(one_bin_spec(), [50.0], rtol=1e-3)
    assert seen == [1e-3] and len(mle_calls) == 1  # the data's MLE only
    assert 0.0 < r.observed < 10.0


def test_limit_far_below_the_first_bracket_is_found():
    """s = 1000, b = 1, n = 1, μ ≤ 10: the limit (~0.003) lies below lo + 1e-3·(hi − lo) = 0.01."""
    s, b, n = 1000.0, 1.0, 1.0
    observed, asimov, mu_hat, cls = counting_profiles(s, b, n)
    r = limit_from_profiles(observed, asimov, mu_hat, 0.95, (0.0, 10.0), rtol=1e-8)
    want = brentq(lambda m: cls(m) - 0.05, 1e-9, 10.0, xtol=1e-14, rtol=1e-12)
    assert want < 0.01
    assert r.observed == pytest.approx(want, rel=1e-6)
    median = brentq(lambda m: cls_expected(asimov(m), 0.0) - 0.05, 1e-9, 10.0, xtol=1e-14, rtol=1e-12)
    assert r.expected[2] == pytest.approx(median, rel=1e-6)
    assert r.scan[0].min() < 0.01  # the loop lowered the bracket


def test_upper_limit_payload_and_file_carry_every_key(tmp_path):
    result = UpperLimit(
        observed=1.25,
        expected=(0.5, 0.75, 1.0, 1.5, 2.0),
        cl=0.9,
        test_stat="qtilde",
        poi_bounds=(0.0, 5.0),
        scan=(np.array([0.5, 1.0, 1.25]), np.array([0.4, float("nan"), 0.1])),
        at_bound=np.bool_(True),
    )
    want = {
        "observed": 1.25,
        "expected": {"-2": 0.5, "-1": 0.75, "0": 1.0, "+1": 1.5, "+2": 2.0},
        "cl": 0.9,
        "test_stat": "qtilde",
        "calculator": "asymptotics (Cowan et al. 2011)",
        "poi_bounds": [0.0, 5.0],
        "scan": {"mu": [0.5, 1.0, 1.25], "cls_observed": [0.4, None, 0.1]},
        "at_bound": True,
    }
    payload = upper_limit_payload(result)
    assert payload == want and type(payload["at_bound"]) is bool
    write_upper_limit(result, tmp_path / "limit.json")
    assert json.loads((tmp_path / "limit.json").read_text()) == want
    payload = upper_limit_payload(result._replace(observed=float("inf"), at_bound=False))
    assert payload["observed"] is None and payload["at_bound"] is False


# ---------------------------------------------------------------------------------------------------------------
# fit.find_crossing: μ̂ at the μ-range edge, no HESSE error, fit budget exhausted, a non-converged step
# ---------------------------------------------------------------------------------------------------------------

S, B = 10.0, 50.0


def counting_spec(n: float) -> dict:
    mu = {"name": "mu", "type": "normfactor", "data": None}
    return {
        "version": "1.0.0",
        "channels": [{"name": "bin", "samples": [
            {"name": "sig", "data": [S], "modifiers": [mu]},
            {"name": "bkg", "data": [B], "modifiers": []},
        ]}],
        "observations": [{"name": "bin", "data": [n]}],
        "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": []}}],
    }  # fmt: skip


def exact_crossing(n: float, side: int) -> float:
    """The μ where 2(ν − n ln ν) − 2(n − n ln n) = 1, ν = μS + B, on ``side`` of μ̂ = (n − B)/S."""
    mu_hat = (n - B) / S

    def q(mu: float) -> float:
        nu = mu * S + B
        return 2.0 * (nu - n * math.log(nu) - n + n * math.log(n)) - 1.0

    return brentq(q, mu_hat, mu_hat + side * 3.0, xtol=1e-12)


def test_mu_hat_at_the_range_edge_gives_an_open_end_with_no_fit():
    lik = Likelihood(counting_spec(40.0), [40.0], (0.0, 5.0))  # n < B: μ̂ pinned at 0
    best = lik.mle()
    assert float(best.pars[lik.poi]) == pytest.approx(0.0, abs=1e-6)
    notes: list[str] = []
    assert fit.find_crossing(lik, best._replace(pars=np.array([0.0])), -1, notes) == (0.0, True, 0, True)
    edge = best._replace(pars=np.array([5.0]))  # μ̂ at the upper edge: upper end open at 5
    assert fit.find_crossing(lik, edge, +1, notes) == (5.0, True, 0, True)
    assert notes == []


def test_crossings_without_a_hesse_error_use_the_fallback_step():
    n = 65.0
    lik = Likelihood(counting_spec(n), [n], (-2.0, 5.0))
    best = lik.mle()
    for bad in (float("nan"), 0.0, -0.3):
        no_error = best._replace(errors=np.array([bad]))
        for side in (-1, +1):
            mu, open_, n_fits, ok = fit.find_crossing(lik, no_error, side, [])
            assert mu == pytest.approx(exact_crossing(n, side), abs=2e-3)
            assert (open_, ok) == (False, True) and 1 <= n_fits < fit.MAX_CROSSING_FITS


@pytest.mark.parametrize(("side", "name"), [(+1, "upper"), (-1, "lower")])
def test_fit_budget_exhausted_is_flagged(monkeypatch, side, name):
    n = 65.0
    lik = Likelihood(counting_spec(n), [n], (-2.0, 5.0))
    best = lik.mle()
    calls: list[float] = []
    fixed = lik.fixed_mu

    def counted(mu, start, notes=None):
        calls.append(mu)
        return fixed(mu, start, notes)

    monkeypatch.setattr(lik, "fixed_mu", counted)
    monkeypatch.setattr(fit, "MAX_CROSSING_FITS", 2)
    far = best._replace(errors=np.array([1e-3]))  # a tiny first step: two fits cannot reach the crossing
    notes: list[str] = []
    mu, open_, n_fits, ok = fit.find_crossing(lik, far, side, notes)
    assert (open_, n_fits, ok) == (False, 2, False)
    assert len(calls) == 2
    assert notes == [f"{name} crossing: no convergence in 2 fits"]
    assert mu != pytest.approx(exact_crossing(n, side), abs=1e-3)


def test_a_non_converged_conditional_fit_makes_the_crossing_non_converged(monkeypatch):
    n = 65.0
    lik = Likelihood(counting_spec(n), [n], (-2.0, 5.0))
    best = lik.mle()
    fixed = lik.fixed_mu
    calls: list[float] = []

    def first_fails(mu, start, notes=None):
        calls.append(mu)
        m = fixed(mu, start, notes)
        return m._replace(converged=False) if len(calls) == 1 else m

    monkeypatch.setattr(lik, "fixed_mu", first_fails)
    mu, open_, n_fits, ok = fit.find_crossing(lik, best, +1, [])
    assert len(calls) >= 2 and n_fits == len(calls)
    assert mu == pytest.approx(exact_crossing(n, +1), abs=2e-3)
    assert (open_, ok) == (False, False)
