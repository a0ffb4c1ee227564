"""The unbinned extended likelihood (systlab.likelihood.unbinned): its normsys against pyhf's code 4, its exact
derivatives against finite differences, and on the rotating Gaussians (exact per-event tables) its profile interval
against the true likelihood's and the coverage of its batched toys."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
import scipy.stats

from systlab.infer.intervals import profile_intervals
from systlab.likelihood.unbinned import (
    EventTables,
    NormFactor,
    UnbinnedBatch,
    UnbinnedData,
    UnbinnedModel,
    polynomial_terms,
    yield_polynomials,
)
from systlab.papertoys.density_ratio import true_interval, true_profiled
from systlab.papertoys.toys import RotatingGaussiansToy

WIDTH, SIGNAL, BACKGROUND = RotatingGaussiansToy.width, 100.0, 1000.0
A_BOUNDS = (-3.0, 3.0)  # Z in [-0.5, 2.5]


def test_normsys_is_pyhfs_code4():
    pyhf = pytest.importorskip("pyhf")
    alphas = np.linspace(-2.5, 2.5, 41)
    for sigma in (0.02, 0.25):
        mine = np.exp(NormFactor.of(sigma).log_factor(alphas)[0])
        interp = pyhf.interpolators.code4([[[[1.0 - sigma], [1.0], [1.0 + sigma]]]])
        theirs = np.asarray(interp(np.array([alphas]))).ravel()  # the factor (pyhf multiplies it on the yield)
        np.testing.assert_allclose(mine, theirs, rtol=1e-10)


def test_polynomial_terms_value_and_derivatives():
    coef = np.array([0.3, -0.2, 0.05, 0.01])
    a = np.linspace(-2, 2, 9)
    value, d1, d2 = polynomial_terms(coef[None, :], a)
    np.testing.assert_allclose(value, sum(c * a ** (i + 1) for i, c in enumerate(coef)))
    np.testing.assert_allclose(d1, sum((i + 1) * c * a**i for i, c in enumerate(coef)))
    np.testing.assert_allclose(d2, sum((i + 1) * i * c * a ** (i - 1) for i, c in enumerate(coef) if i > 0))


def _random_problem(rng, n_events=400, datasets=3, regions=0):
    processes = ("sig", "bkg1", "bkg2")
    fractions = rng.dirichlet([2, 3, 4], size=n_events)
    coef = 0.1 * rng.standard_normal((n_events, 3, 2, 3))
    b = max(regions, 1)
    region = rng.integers(0, b, n_events) if regions else None
    yields = np.array([50.0, 300.0, 200.0])[:, None] * rng.uniform(0.5, 1.5, (3, b))
    stat = rng.uniform(0.02, 0.2, b) if regions else None
    model = UnbinnedModel(processes, yields, ("tes", "jes"), 0.05 * rng.standard_normal((3, b, 2, 3)),
                          (A_BOUNDS, A_BOUNDS), {"xsec": (0.1, ("bkg1",)), "norm": (0.25, ("bkg1", "bkg2"))}, 0.02,
                          (-2.0, 5.0), stat)  # fmt: skip
    mult = rng.poisson(1.3, size=(datasets, n_events))
    aux = 0.3 * rng.standard_normal((datasets, model.npars - 1))
    return model, UnbinnedData.from_multiplicities(EventTables(fractions, coef, region), mult, aux)


@pytest.mark.parametrize("regions", [0, 4])
def test_gradient_and_hessian_are_the_derivatives_of_twice_nll(regions):
    """Exact derivatives against central differences, without and with per-region MC-statistics factors."""
    rng = np.random.default_rng(1)
    model, data = _random_problem(rng, regions=regions)
    batch = UnbinnedBatch(model, data)
    rows = np.array([0, 2, 1, 2])
    x = np.column_stack([[1.2, 0.4, 2.0, 0.05], rng.uniform(-1.5, 1.5, (4, model.npars - 1))])
    x[:, 3:6] = np.clip(x[:, 3:6], -0.9, 0.9) * np.array([1.7, 0.4, 0.5])  # normsys inside and outside |α| < 1
    f, grad, hess = batch.derivatives(x, rows)
    h = 1e-5
    for j in range(model.npars):
        up, down = x.copy(), x.copy()
        up[:, j] += h
        down[:, j] -= h
        fu, gu, _ = batch.derivatives(up, rows)
        fd, gd, _ = batch.derivatives(down, rows)
        np.testing.assert_allclose(grad[:, j], (fu - fd) / (2 * h), rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(hess[:, :, j], (gu - gd) / (2 * h), rtol=1e-4, atol=1e-3)
    assert np.all(np.isfinite(f)) and model.names[-1] == ("mc_stat[3]" if regions else "lumi")


def test_the_event_sums_survive_an_overflowing_density():
    """A log-ratio term common to every process (1,000 a_tes) overflows exp (a_tes = 1, 0.9) or leaves it subnormal
    (−0.735); ln s then shifts by exactly 1,000 a_tes per event: −2lnL by −2·1,000·a·Σw, its tes slope by
    −2·1,000·Σw, the Hessian not at all."""
    rng = np.random.default_rng(4)
    model, data = _random_problem(rng, regions=4)
    coef = data.tables.coef.copy()
    coef[:, :, 0, 0] += 1000.0
    shifted = data._replace(tables=data.tables._replace(coef=coef))
    rows = np.array([0, 1, 2])
    x = np.column_stack([[1.1, 0.8, 0.3], rng.uniform(-0.5, 0.5, (3, model.npars - 1))])
    x[:, 1] = [1.0, 0.9, -0.735]
    f0, g0, h0 = UnbinnedBatch(model, data).derivatives(x, rows)
    f1, g1, h1 = UnbinnedBatch(model, shifted).derivatives(x, rows)
    sum_w = np.array([data.weights[data.offsets[r] : data.offsets[r + 1]].sum() for r in rows])
    assert np.all(np.isfinite(f1))
    np.testing.assert_allclose(f1, f0 - 2000.0 * x[:, 1] * sum_w, rtol=1e-10)
    np.testing.assert_allclose(g1[:, 1], g0[:, 1] - 2000.0 * sum_w, rtol=1e-10)
    np.testing.assert_allclose(np.delete(g1, 1, axis=1), np.delete(g0, 1, axis=1), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(h1, h0, rtol=1e-7, atol=1e-7)


def test_a_fit_that_starts_on_a_saddle_leaves_it():
    """An NP whose log-ratio is even in a (a smearing: soft MET's is) has slope 0 at nominal by symmetry; where the
    data want more smearing, a = 0 is a saddle of −2lnL. The fit from nominal must reach |a| ≈ 1.5, the truth of this
    Asimov dataset, not stop at 0 (the shifted Newton stopped there on 96 of 200 FAIR pseudo-experiments)."""
    rng = np.random.default_rng(7)
    n_events, a_true = 4000, 1.5
    fractions = rng.dirichlet([1.0, 4.0], size=n_events)
    coef = np.zeros((n_events, 2, 1, 2))
    coef[:, 1, 0, 1] = 0.3 * rng.standard_normal(n_events)  # background: ln R = c_i a², even in a
    tables = EventTables(fractions, coef)
    nominal = np.ones(n_events)
    model = UnbinnedModel(("sig", "bkg"), (nominal[:, None] * fractions).sum(axis=0), ("smear",),
                          yield_polynomials(tables, nominal[:, None] * fractions, (A_BOUNDS,), degree=4),
                          (A_BOUNDS,), mu_range=(-2.0, 5.0))  # fmt: skip
    truth = nominal * (fractions * np.exp(coef[:, :, 0, 1] * a_true**2)).sum(axis=1)
    batch = UnbinnedBatch(model, UnbinnedData(tables, truth, np.array([0, n_events]), np.zeros((1, 1))))
    _, grad, hess = batch.derivatives(model.init[None], np.array([0]))
    assert grad[0, 1] == 0.0 and hess[0, 1, 1] < 0  # the start is a saddle
    best = batch.minimise(model.init[None], np.array([0]))
    held = batch.minimise(model.init[None], np.array([0]), fixed=np.array([False, True]))
    assert best.converged[0]
    assert abs(abs(best.pars[0, 1]) - a_true) < 0.15 and abs(best.pars[0, 0] - 1.0) < 0.05
    assert best.twice_nll[0] < held.twice_nll[0] - 1.0


# ---- rotating Gaussians: signal N(m(Z), 0.7² I), background N(-m(Z), 0.7² I), m = (cos Zπ/4, sin Zπ/4) -------


_direction = RotatingGaussiansToy.direction  # (cos Zπ/4, sin Zπ/4): the signal mean


def _sample(rng, n_per_class, z):
    x = np.concatenate([_direction(z) + WIDTH * rng.standard_normal((n_per_class, 2)),
                        -_direction(z) + WIDTH * rng.standard_normal((n_per_class, 2))])  # fmt: skip
    label = np.repeat([1, 0], n_per_class)
    weight = np.where(label == 1, SIGNAL, BACKGROUND) / n_per_class
    return x, label, weight


def _exact_tables(x, degree=5):
    """c_p(x) at Z = 1 and log R_p(x; a) = s_p x·(m(1 + a/2) − m(1))/w² as degree-``degree`` polynomials in a."""
    m0 = _direction(1.0)
    llr = 2.0 * x @ m0 / WIDTH**2 + math.log(SIGNAL / BACKGROUND)
    c_sig = 1.0 / (1.0 + np.exp(-llr))
    grid = np.linspace(*A_BOUNDS, 61)
    design = np.stack([grid ** (d + 1) for d in range(degree)], axis=1)
    shift = _direction(1.0 + grid / 2.0) - m0  # (grid, 2)
    poly = np.linalg.lstsq(design, shift, rcond=None)[0]  # (degree, 2)
    per_event = x @ poly.T / WIDTH**2  # (E, degree): x·(polynomial of the shift)
    coef = np.stack([per_event, -per_event], axis=1)[:, :, None, :]  # signal +, background −; one NP
    return EventTables(np.column_stack([c_sig, 1.0 - c_sig]), coef)


def _model(yield_coef):
    return UnbinnedModel(("signal", "background"), np.array([SIGNAL, BACKGROUND]), ("Z",), yield_coef, (A_BOUNDS,),
                         mu_range=(0.0, 2.5))  # fmt: skip


def _true_interval(x, w):
    """The toy's exact likelihood (:mod:`systlab.papertoys.density_ratio`, the same rotating Gaussians): μ̂, ends."""
    mu_hat, lo, hi = true_interval(x, w, A_BOUNDS, (SIGNAL, BACKGROUND), (0.01, 2.5))
    return mu_hat, [lo, hi]


def test_yield_polynomials_vanish_when_the_nuisance_only_moves_shapes():
    rng = np.random.default_rng(2)
    x, label, weight = _sample(rng, 20_000, 1.0)
    labelled = weight[:, None] * np.column_stack([label == 1, label == 0])  # each event as its own process
    coef = yield_polynomials(_exact_tables(x), labelled, (A_BOUNDS,))
    grid = np.linspace(*A_BOUNDS, 13)
    log_yield = polynomial_terms(coef[:, 0, :, None, :], grid)[0]  # (P, K, grid): one region
    # exact: 0; the reweighted nominal sample's noise grows with the rotation (weights exp(2x·Δm/w²)): at a = ±3
    # (Z = −0.5, 2.5) it is a few %
    assert np.abs(log_yield[:, :, 4:9]).max() < 0.01 and np.abs(log_yield).max() < 0.06, log_yield


@pytest.mark.parametrize("true_z", [1.0, 2.0])
def test_profile_interval_equals_the_true_likelihoods(true_z):
    """An Asimov-like weighted data set at true Z: the interval through the exact per-event tables equals the one
    of the true density, profiled over Z (the only approximation: log R as a polynomial in a)."""
    rng = np.random.default_rng(3)
    x, _, weight = _sample(rng, 25_000, true_z)
    model = _model(np.zeros((2, 1, 5)))
    batch = UnbinnedBatch(model, UnbinnedData(_exact_tables(x), weight, np.array([0, len(x)]), np.zeros((1, 1))))
    found = profile_intervals(batch, model.init)
    mu_true, (lo_true, hi_true) = _true_interval(x, weight)
    assert not found.fallback[0]
    width = hi_true - lo_true
    assert found.mu_hat[0] == pytest.approx(mu_true, abs=0.002 * width)
    assert found.lo[0] == pytest.approx(lo_true, abs=0.005 * width)
    assert found.hi[0] == pytest.approx(hi_true, abs=0.005 * width)


def test_batched_toys_cover_at_true_z_two():
    """300 Poisson toys at Z = 2 (aux datum drawn around the truth): 68 % coverage within 3σ68."""
    rng = np.random.default_rng(4)
    x, _, weight = _sample(rng, 40_000, 2.0)
    tables = _exact_tables(x)
    n = 300
    mult = rng.poisson(weight, size=(n, len(x)))
    aux = rng.normal(2.0, 1.0, size=(n, 1))  # a_true = (2 − 1)/0.5 = 2
    model = _model(np.zeros((2, 1, 5)))
    batch = UnbinnedBatch(model, UnbinnedData.from_multiplicities(tables, mult, aux))
    found = profile_intervals(batch, model.init, mu=np.ones(n))
    ok = ~found.fallback
    assert ok.mean() > 0.97, ok.mean()
    covered = (found.lo[ok] <= 1.0) & (1.0 <= found.hi[ok])
    sigma68 = math.sqrt(0.6827 * 0.3173 / ok.sum())
    assert abs(covered.mean() - 0.6827) < 3 * sigma68, (covered.mean(), sigma68)


# ---- the inference of systlab.infer.unbinned on the rotating Gaussians (exact tables) ------------------------------


def _asimov(rng, true_z, n=20_000):
    x, label, weight = _sample(rng, n, true_z)
    return x, label, weight, _exact_tables(x)


def test_fit_events_reports_the_batched_interval_and_a_scan_through_it():
    from systlab.infer.unbinned import expectation, fit_events

    x, _, weight, tables = _asimov(np.random.default_rng(5), 2.0)
    model = _model(np.zeros((2, 1, 5)))
    result = fit_events(model, expectation(tables, weight), "asimov", 26)
    assert result.converged, result.notes
    _, (lo, hi) = _true_interval(x, weight)
    assert result.interval_68 == pytest.approx((lo, hi), abs=0.005 * (hi - lo))
    mu, q = result.twice_dnll
    inside = np.isfinite(q)
    crossing = np.interp(1.0, q[inside & (mu > result.mu_hat)], mu[inside & (mu > result.mu_hat)])
    assert crossing == pytest.approx(hi, abs=0.03)  # the scan's linear interpolation, 0.1 apart
    z_pull, z_error = result.pulls["Z"]
    assert abs(z_pull - 2.0) < 0.3 and 0.0 < z_error < 1.0  # Asimov at a = 2 with the aux datum at 0: pulled short


def test_significance_and_limit_equal_the_true_likelihoods():
    from systlab.infer.unbinned import expectation, unbinned_significance, unbinned_upper_limit

    x, label, weight, tables = _asimov(np.random.default_rng(6), 1.0)
    model = _model(np.zeros((2, 1, 5)))
    found = unbinned_significance(model, expectation(tables, weight), high=2.5)

    def profiled(mu, w):
        return true_profiled(mu, x, w, A_BOUNDS, (SIGNAL, BACKGROUND))

    q0 = profiled(0.0, weight) - profiled(1.0, weight)  # Asimov at μ = 1, a = 0: the minimum is there
    assert found.z0 == pytest.approx(math.sqrt(q0), rel=2e-3)
    background = np.where(label == 1, 0.0, weight)
    limit = unbinned_upper_limit(model, expectation(tables, weight), expectation(tables, background), 2.5, 20.0)
    median = limit.expected[2]
    # median expected CLs limit: q_{μ,A} of the background-only Asimov data = (Φ⁻¹(1 − 0.05/2))² = 1.96²
    q_a = profiled(median, background) - profiled(0.0, background)
    assert q_a == pytest.approx(scipy.stats.norm.ppf(0.975) ** 2, rel=5e-3)


def test_impacts_rank_the_shape_nuisance():
    from systlab.infer.unbinned import expectation, unbinned_impacts

    _, _, weight, tables = _asimov(np.random.default_rng(7), 1.0)
    result = unbinned_impacts(_model(np.zeros((2, 1, 5))), expectation(tables, weight))
    (top,) = result.ranking
    assert top.name == "Z" and top.size > 0.0


def test_unbinned_toys_do_not_depend_on_the_chunking():
    from systlab.infer.unbinned import run_unbinned_toys

    _, _, weight, tables = _asimov(np.random.default_rng(8), 2.0, n=5_000)
    model = _model(np.zeros((2, 1, 5)))
    whole = run_unbinned_toys(model, tables, weight, 1.0, 0, 12, seed=11, aux_centre=np.array([2.0]))
    part = run_unbinned_toys(model, tables, weight, 1.0, 6, 12, seed=11, aux_centre=np.array([2.0]))
    np.testing.assert_allclose(part.mu_hat, whole.mu_hat[6:], rtol=1e-7)
    np.testing.assert_allclose(part.hi, whole.hi[6:], rtol=1e-7)
    assert whole.converged.all() and np.all(whole.lo < whole.mu_hat) and np.all(whole.mu_hat < whole.hi)


# ---- the inputs of the unbinned route (systlab.likelihood.unbinned_inputs) --------------------------------------


def test_prior_shift_calibrates_the_fractions_on_the_template_events_and_the_inputs_round_trip(tmp_path):
    from systlab.likelihood.unbinned_inputs import (
        EventSet,
        read_inputs,
        shifted,
        template_prior_shift,
        unbinned_model,
        write_inputs,
    )

    rng = np.random.default_rng(9)
    x, label, weight = _sample(rng, 5_000, 1.0)
    tables = _exact_tables(x)
    biased = tables._replace(fractions=np.column_stack([tables.fractions[:, 0] * 2.0, tables.fractions[:, 1]]))
    biased = biased._replace(fractions=biased.fractions / biased.fractions.sum(axis=1, keepdims=True))
    process = np.where(label == 1, 0, 1)
    template = EventSet(biased, weight, process, label)
    assert (weight * biased.fractions[:, 0]).sum() / SIGNAL > 1.2  # a miscalibrated signal fraction
    delta = template_prior_shift(template, 2)
    calibrated = shifted(template, delta)
    np.testing.assert_allclose((weight[:, None] * calibrated.tables.fractions).sum(axis=0), [SIGNAL, BACKGROUND],
                               rtol=1e-7)  # fmt: skip
    model = unbinned_model(calibrated, ("signal", "background"), ("Z",), (A_BOUNDS,), {}, None, (0.0, 2.5))
    np.testing.assert_allclose(model.yields[:, 0], [SIGNAL, BACKGROUND], rtol=1e-7)
    write_inputs(model, {"template": calibrated}, tmp_path / "e.npz", tmp_path / "m.json")
    back = read_inputs(tmp_path / "e.npz", tmp_path / "m.json")
    assert back.model.processes == model.processes and back.model.shape_bounds == model.shape_bounds
    np.testing.assert_allclose(back.model.yield_coef, model.yield_coef)
    np.testing.assert_allclose(back.sets["template"].tables.fractions, calibrated.tables.fractions, rtol=1e-6)
    np.testing.assert_array_equal(back.sets["template"].label, label)


def test_the_yield_correction_makes_each_regions_yields_the_simulated_ones_without_moving_a_shape_inside_it():
    """A simulated yield change the learned ratios do not have, different in each of 3 regions (signal x
    exp(s_b a - 0.02 a^2) in region b, background flat): after the correction the model's own yield ratio of each
    (process, region) at the simulated points is the simulated one, and inside a region every event's log R moved
    by the same amount (no shape change there). A region without events of a process at nominal takes the
    process total's ratio."""
    from systlab.likelihood.unbinned_inputs import EventSet, simulated_yield_correction, with_correction

    rng = np.random.default_rng(12)
    x, label, weight = _sample(rng, 6_000, 1.0)
    process = np.where(label == 1, 0, 1)
    region = rng.integers(0, 3, len(x))
    region[(process == 0) & (region == 2)] = 1  # no signal in region 2
    template = EventSet(_exact_tables(x)._replace(region=region), weight, process, label)
    mixture = weight[:, None] * template.tables.fractions

    def yield_ratio(events, p, a, b):
        rows = events.tables.region == b
        log_r = polynomial_terms(events.tables.coef[rows, p, 0], np.full(rows.sum(), a))[0]
        return (mixture[rows, p] * np.exp(log_r)).sum() / mixture[rows, p].sum()

    points, slopes = np.array([-2.0, -1.0, 1.0, 2.0]), np.array([0.1, -0.05, 0.3])
    nominal = np.array([[(weight * (process == p) * (region == b)).sum() for b in range(3)] for p in (0, 1)])
    wanted = {0: np.array([[math.exp(slopes[b] * a - 0.02 * a * a) * yield_ratio(template, 0, a, b) if b < 2 else 0.0
                            for b in range(3)] for a in points]),
              1: np.array([[yield_ratio(template, 1, a, b) for b in range(3)] for a in points])}  # fmt: skip
    simulated = {(p, 0): (points, wanted[p] * nominal[p]) for p in (0, 1)}
    correction = simulated_yield_correction(template, simulated, degree=5)
    assert correction.shape == (2, 3, 1, 5)
    corrected = with_correction(template, correction)
    for b in (0, 1):
        np.testing.assert_allclose([yield_ratio(corrected, 0, a, b) for a in points], wanted[0][:, b], rtol=1e-9)
        assert abs(correction[0, b, 0, 0] - slopes[b]) < 0.01 and abs(correction[0, b, 0, 1] + 0.02) < 0.005
    for b in range(3):
        np.testing.assert_allclose([yield_ratio(corrected, 1, a, b) for a in points], wanted[1][:, b], rtol=1e-9)
    np.testing.assert_allclose(correction[1], 0.0, atol=1e-9)  # already right: untouched
    # the signal-free region 2 takes the signal total's ratio (here the mix of regions 0 and 1)
    total = wanted[0][:, :2] @ nominal[0, :2] / nominal[0].sum()
    total_learned = np.array([(mixture[:, 0] * np.exp(polynomial_terms(template.tables.coef[:, 0, 0],
                                                                       np.full(len(x), a))[0])).sum()
                              for a in points]) / mixture[:, 0].sum()  # fmt: skip
    np.testing.assert_allclose(polynomial_terms(correction[0, 2, 0], points)[0], np.log(total / total_learned),
                               atol=1e-9)  # fmt: skip
    for b in range(3):
        rows = region == b
        moved = polynomial_terms(corrected.tables.coef[rows, 0, 0] - template.tables.coef[rows, 0, 0],
                                 np.full(rows.sum(), 1.5))[0]  # fmt: skip
        np.testing.assert_allclose(moved, moved[0])  # the same shift for every event of a region
    assert len({round(polynomial_terms(correction[0, b, 0], np.array(1.5))[0].item(), 6) for b in range(3)}) == 3


def test_the_model_closes_on_its_own_asimov_data_whatever_its_learning_errors():
    """Fractions with a learning error (an overconfident classifier; the exact ratios): the yields
    as the integral of the model's own density (fractions as weights) put μ̂ = 1 and Z at nominal on the template
    events at μ = 1; yields from the labels do not."""
    from systlab.infer.unbinned import expectation, fit_events
    from systlab.likelihood.unbinned_inputs import EventSet, unbinned_model

    rng = np.random.default_rng(12)
    x, label, weight = _sample(rng, 20_000, 1.0)
    exact = _exact_tables(x)
    logit = np.log(exact.fractions[:, 0] / exact.fractions[:, 1])
    sharp = 1.0 / (1.0 + np.exp(-1.6 * logit))  # an overconfident fraction classifier
    noisy = exact._replace(fractions=np.column_stack([sharp, 1.0 - sharp]))
    template = EventSet(noisy, weight, np.where(label == 1, 0, 1), label)
    model = unbinned_model(template, ("signal", "background"), ("Z",), (A_BOUNDS,), {}, None, (0.0, 2.5))
    result = fit_events(model, expectation(noisy, weight), "asimov", 11)
    width = result.interval_68[1] - result.interval_68[0]
    assert abs(result.mu_hat - 1.0) < 1e-3 * width and abs(result.pulls["Z"][0]) < 0.01  # (polynomial yields)
    labelled = weight[:, None] * np.column_stack([label == 1, label == 0])
    by_label = dataclasses.replace(model, yields=labelled.sum(axis=0)[:, None],
                                   yield_coef=yield_polynomials(noisy, labelled, (A_BOUNDS,)))
    off = fit_events(by_label, expectation(noisy, weight), "asimov", 11)
    assert abs(off.pulls["Z"][0]) > 0.05 or abs(off.mu_hat - 1.0) > 0.05 * width  # the labels' yields do not close


def test_a_learned_shape_too_strong_inside_its_regions_is_calibrated_until_mu_closes():
    """The signal's learned log-ratios 1.5× the exact ones: with every region's yields set to the simulated ones
    (the yield correction) μ̂ is still 5–15 % low at the simulated shifts. The spread calibration finds the factor
    that undoes it (2/3) from the simulated samples, μ̂ closes there, and on fresh samples at shifts it never saw the
    bias is gone; with the exact ratios it leaves the factor at 1."""
    from systlab.likelihood.unbinned_inputs import (
        EventSet,
        SpreadCalibration,
        Tabulation,
        calibrated_tabulation,
        closure_fits,
        region_edges,
        shifted,
        template_prior_shift,
        unbinned_model,
        with_regions,
    )

    def run(strength):
        rng = np.random.default_rng(21)

        def events(z):
            x, label, weight = _sample(rng, 10_000, z)
            tables = _exact_tables(x)
            coef = tables.coef.copy()
            coef[:, 0] *= strength  # the signal's learned ratios, too strong
            return EventSet(tables._replace(coef=coef), weight, np.where(label == 1, 0, 1), label)

        template = events(1.0)
        delta = template_prior_shift(template, 2)
        edges = region_edges(shifted(template, delta), 3)
        points = np.array([-2.0, -1.0, 1.0, 2.0])
        varied = {a: events(1.0 + a / 2) for a in points}  # Z = 1 + a/2
        regioned = {a: with_regions(shifted(v, delta), edges) for a, v in varied.items()}
        simulated = {(p, 0): (points, np.array([np.bincount(v.tables.region, v.weight * (v.process == p), minlength=3)
                                                for v in regioned.values()])) for p in (0, 1)}  # fmt: skip
        closure = {f"{a:+g}": (0, a, v) for a, v in varied.items()}

        def model_of(t):
            return unbinned_model(t, ("signal", "background"), ("Z",), (A_BOUNDS,), {}, None, (0.0, 2.5))

        tabulation, calibration = calibrated_tabulation(template, delta, edges, simulated, closure, [(0, 0)], model_of)
        plain, _ = calibrated_tabulation(template, delta, edges, simulated, closure, [], model_of)
        fresh = {f"{a:+g}": (0, a, events(1.0 + a / 2)) for a in (-1.5, 1.5)}
        bias = {name: closure_fits(model_of(t.apply(template)), t, fresh) for name, t in
                (("plain", plain), ("calibrated", tabulation))}  # fmt: skip
        # stored with the model (JSON) it tabulates alike; a tabulation stored before the factors existed has none
        back = Tabulation.from_payload(json.loads(json.dumps(tabulation.payload())))
        np.testing.assert_array_equal(back.apply(template).tables.coef, tabulation.apply(template).tables.coef)
        old = Tabulation.from_payload({k: v for k, v in plain.payload().items() if "spread" not in k})
        assert old.spread is None
        np.testing.assert_array_equal(old.apply(template).tables.coef, plain.apply(template).tables.coef)
        return calibration, bias

    calibration, bias = run(1.5)
    back = SpreadCalibration.from_payload(json.loads(json.dumps(calibration._replace(
        before={**calibration.before, "nan": math.nan}).payload(), allow_nan=False)))  # stored with the model
    np.testing.assert_array_equal(back.factors, calibration.factors)
    assert back.tuned == calibration.tuned and back.after == calibration.after and math.isnan(back.before["nan"])
    assert calibration.tuned == ((0, 0),) and calibration.factors[1, 0] == 1.0
    assert calibration.factors[0, 0] == pytest.approx(2 / 3, abs=0.03), calibration
    assert min(calibration.before.values()) < 0.95 and max(abs(m - 1) for m in calibration.after.values()) < 0.01
    assert min(bias["plain"].values()) < 0.92 and max(abs(m - 1) for m in bias["calibrated"].values()) < 0.01, bias
    exact, _ = run(1.0)
    assert exact.factors[0, 0] == pytest.approx(1.0, abs=0.03) and max(abs(m - 1) for m in exact.before.values()) < 0.01


def test_calibrate_spread_finds_the_closing_factors_skips_failed_fits_and_keeps_one_when_nothing_helps():
    """The search on a known closure: μ̂ − 1 linear in two factors, zero at (0.6, 1.3); where the closure fits fail
    (NaN: beyond 1.25 in the second factor, the optimum among them) the search stays out and stops at the edge; a
    closure the factors do not move leaves every factor at 1."""
    from systlab.likelihood.unbinned_inputs import calibrate_spread

    def closure(f, edge):
        if f[1, 0] > edge:
            return {"-1": math.nan, "+1": math.nan}
        return {"-1": 1 + 0.3 * (f[0, 0] - 0.6) - 0.1 * (f[1, 0] - 1.3), "+1": 1 + 0.2 * (f[1, 0] - 1.3)}

    shifts, tuned = {"-1": -1.0, "+1": 1.0}, [(0, 0), (1, 0)]
    found = calibrate_spread(lambda f: closure(f, 9.0), shifts, tuned, (3, 2))
    assert found.factors[0, 0] == pytest.approx(0.6, abs=0.02) and found.factors[1, 0] == pytest.approx(1.3, abs=0.02)
    assert np.all(found.factors[2] == 1.0) and np.all(found.factors[:, 1] == 1.0)
    assert max(abs(m - 1) for m in found.after.values()) < 0.005 < max(abs(m - 1) for m in found.before.values())
    fenced = calibrate_spread(lambda f: closure(f, 1.25), shifts, tuned, (3, 2))
    assert 1.2 < fenced.factors[1, 0] <= 1.25 and all(np.isfinite(list(fenced.after.values()))), fenced
    flat = calibrate_spread(lambda f: {"+1": 1.02}, {"+1": 1.0}, [(0, 0)], (2, 1))
    assert np.all(flat.factors == 1.0) and flat.after == flat.before
