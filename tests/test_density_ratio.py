"""Learned density ratios for the unbinned likelihood: physical fractions, log R = 0 at nominal, the rotating
Gaussians against their analytic ratios, the varied-yield identity sum w R = varied yield, ONNX parity."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from systlab.methods.density_ratio import (
    DensityRatioSettings,
    OnnxParityError,
    RatioNet,
    check_ratio_parity,
    export_density_ratio,
    polynomial_log_ratio,
    torch_outputs,
    train_density_ratio,
    train_fractions,
)
from systlab.methods.onnx_io import OnnxScorer
from systlab.papertoys import density_ratio as rotating

SMALL = DensityRatioSettings(hidden=(16, 16), epochs=8, batch_size=512, learning_rate=3e-3, patience=3)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def rotating_fit():
    """The rotating toy's model on 20k events per class (the settings of the comparison), trained once."""
    return rotating.train_rotating(20_000, rotating.ROTATING_SETTINGS)


def test_floor_recovers_a_polynomial_log_ratio(monkeypatch):
    """The floor is the least-squares polynomial of the analytic log R: exact when log R is such a polynomial."""
    coef = np.array([[0.3, -0.2, 0.05, 0.01], [-0.1, 0.02, 0.0, -0.003]])
    monkeypatch.setattr(rotating, "analytic_log_ratio", lambda x, a: np.broadcast_to(
        polynomial_log_ratio(coef, a), (len(x), 2)))
    x = np.zeros((5, 2))
    for alpha in (-2.0, 0.7, 3.0):
        np.testing.assert_allclose(rotating.floor_log_ratio(x, alpha, (-2.0, 3.0), 4),
                                   np.broadcast_to(polynomial_log_ratio(coef, alpha), (5, 2)), atol=1e-10)


def test_training_ranges_must_contain_nominal():
    with pytest.raises(ValueError, match="nominal"):
        DensityRatioSettings(ranges=((0.5, 2.0),))
    with pytest.raises(ValueError, match="2 training ranges for 3"):
        DensityRatioSettings(ranges=((-1.0, 1.0), (-2.0, 2.0))).range_of(0, 3)


def test_log_ratio_is_zero_at_nominal_and_is_the_exported_polynomial():
    """log R of the net (what BCE trains) is the polynomial of its coefficients (what the likelihood reads), yield
    correction included, at every process and a; exactly 0 at a = 0; the scale keeps the raw outputs O(1)."""
    torch.manual_seed(3)
    net = RatioNet(2, 3, (8, 8), degree=3, scale=2.0, mean=np.array([0.5, -1.0]), std=np.array([2.0, 0.5]))
    with torch.no_grad():
        net.yield_coef.copy_(torch.tensor([[0.1, 0.0, -0.01], [0.0, 0.2, 0.0], [-0.3, 0.0, 0.02]]))
    x = torch.randn(50, 2)
    process = torch.arange(50) % 3
    assert torch.equal(net.log_ratio(x, process, torch.zeros(50)), torch.zeros(50))  # exactly, not approximately
    with torch.no_grad():
        coef = net.coefficients(x).numpy()  # (n, P, D)
        raw = net.nets[0](net.standardise(x)).reshape(50, 3, 3).numpy()
        for a in (-2.0, -0.5, 1.0, 2.0):
            got = net.log_ratio(x, process, torch.full((50,), a)).numpy()
            np.testing.assert_allclose(got, polynomial_log_ratio(coef[np.arange(50), process.numpy()], a), atol=1e-5)
    np.testing.assert_allclose(coef - net.yield_coef.numpy(), raw * 2.0 ** -np.arange(1.0, 4.0), atol=1e-6)
    with pytest.raises(ValueError, match="degree"):
        RatioNet(2, 3, (8,), degree=0)


def test_an_ensemble_averages_its_members_coefficients():
    torch.manual_seed(4)
    ensemble = RatioNet(2, 2, (8,), degree=2, scale=3.0, members=3)
    x = torch.randn(20, 2)
    with torch.no_grad():
        members = [RatioNet(2, 2, (8,), degree=2, scale=3.0) for _ in range(3)]
        for one, net in zip(members, ensemble.nets, strict=True):
            one.nets[0].load_state_dict(net.state_dict())
        want = torch.stack([one.coefficients(x) for one in members]).mean(dim=0)
        np.testing.assert_allclose(ensemble.coefficients(x).numpy(), want.numpy(), atol=1e-6)


def test_fractions_are_physical_after_the_class_weight_correction():
    """Unequal yields (50 vs 1000) and event counts: the softmax of the balanced training is shifted back, so the
    fractions match Y_s N_s / (Y_s N_s + Y_b N_b) and sum w c_p = Y_p; without the shift they are far off."""
    rng = np.random.default_rng(7)
    yields, counts = np.array([50.0, 1000.0]), np.array([6_000, 20_000])
    means = np.array([[1.0, 0.0], [-1.0, 0.0]])
    process = np.repeat([0, 1], counts)
    x = means[process] + rng.standard_normal((len(process), 2))
    model, _ = train_fractions(x, process, yields[process] / counts[process], 2, SMALL)
    test = rng.standard_normal((20_000, 2)) + means[np.repeat([0, 1], 10_000)]
    logit = np.log(yields[0] / yields[1]) + 2.0 * test[:, 0]  # log Y_s N((1,0)) / Y_b N((-1,0))
    true = 1.0 / (1.0 + np.exp(-logit))
    with torch.no_grad():
        fractions = model(torch.as_tensor(test, dtype=torch.float32)).numpy()
        model.log_correction.zero_()
        uncorrected = model(torch.as_tensor(test, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(fractions.sum(axis=1), 1.0, atol=1e-6)
    error = np.sqrt(np.mean((fractions[:, 0] - true) ** 2))
    assert error < 0.02 < np.sqrt(np.mean((uncorrected[:, 0] - true) ** 2)) / 5
    weight = np.repeat(yields / 10_000, 10_000)
    assert (weight[:, None] * fractions).sum(axis=0) == pytest.approx(yields, rel=0.05)


def test_rotating_log_ratios_are_close_to_the_analytic_ones_and_beat_the_aware_classifier(rotating_fit, tmp_path):
    """Measured at seeds 0-1 (20k events per class, 4 draws of a, 32x32, <= 25 epochs), 2026-12-07: log R RMS over Z
    and processes 0.15 and 0.12 against 1.25 for R = 1 (0.32 and 0.27 when the net took a as an input and was
    projected on the polynomial afterwards); the implied log p_s / p_b has a mean RMS error over Z of 0.35-0.55
    against 0.87 for the aware classifier trained on as many events with the same net. A wrong model (R = 1) fails
    every bound; the thresholds leave ~1.6x margin for other seeds and torch builds."""
    comparison = rotating.compare_with_aware(tmp_path, 20_000, n_test=10_000, fitted=rotating_fit)
    errors = comparison.errors
    assert (errors.floor < 0.02).all()  # degree 4 over a in [-4, 4] is not what limits
    assert (errors.learned < 0.35 * errors.null).all()
    assert np.sqrt(np.mean(errors.learned**2)) < 0.25 < np.sqrt(np.mean(errors.null**2)) / 4
    assert errors.fraction_rms < 0.03
    assert errors.llr.mean() < 0.85 * comparison.aware_llr.mean()


def test_learned_unbinned_interval_is_close_to_the_true_likelihoods(rotating_fit):
    """Issue #23: the learned model through systlab's unbinned likelihood (yields from its own density) against the
    toy's exact likelihood, both profiled over Z, on Asimov-like events at true Z = 2. Measured 2026-12-07 (yields
    of degree 12): trained on 100k events per class, width ratios 1.019 (seed 0) and 1.008 (seed 1), mu-hat within
    0.01 of the true one; on this fixture's 20k, 0.937 with mu-hat 0.068 low (the learned yields' calibration noise
    at a 2-sigma rotation; 0.97-1.02 at Z = 0.5 and 1). The bounds guard the 20k fixture."""
    check = rotating.interval_check(rotating_fit.model, rotating.ROTATING_SETTINGS, true_z=2.0)
    assert 0.90 < check.width_ratio < 1.10, check
    assert abs(check.learned[0] - check.exact[0]) < 0.5 * (check.exact[2] - check.exact[1]), check


def test_sum_of_weighted_ratios_over_nominal_events_is_the_varied_yield():
    """A move that changes the acceptance (cut x1 > -0.5 after a shift of the signal) and the weight (background
    x exp(0.1 a)): sum over selected nominal events of w R(x; a) must give the yield of the moved sample."""
    rng = np.random.default_rng(11)
    n = 15_000
    process = np.repeat([0, 1], n)
    x = np.array([[0.5, 0.0], [-0.5, 0.0]])[process] + rng.standard_normal((2 * n, 2))
    base = np.array([100.0, 400.0])[process] / n
    shift = np.array([[0.3, 0.0], [0.0, 0.2]])

    def move(xs, proc, k, alpha):
        moved = xs + np.asarray(alpha)[:, None] * shift[proc]
        return moved, base * (moved[:, 0] > -0.5) * np.where(proc == 1, np.exp(0.1 * alpha), 1.0)

    weight = base * (x[:, 0] > -0.5)
    settings = replace(SMALL, ranges=((-2.0, 2.0),), draws=2, epochs=10)
    model = train_density_ratio(x, process, weight, move, 1, settings).model
    test = np.array([[0.5, 0.0], [-0.5, 0.0]])[process] + rng.standard_normal((2 * n, 2))
    selected = test[:, 0] > -0.5
    coef = torch_outputs(model, test[selected])[1][:, :, 0, :]
    for alpha in (-2.0, -1.0, 1.0, 2.0):
        varied = move(test, process, 0, np.full(2 * n, alpha))[1]
        r = np.exp(polynomial_log_ratio(coef[np.arange(selected.sum()), process[selected]], alpha))
        for p in (0, 1):
            mine = process[selected] == p
            want = varied[process == p].sum()
            assert np.sum(base[selected][mine] * r[mine]) == pytest.approx(want, rel=0.04), (alpha, p)
            assert not np.sum(base[selected][mine]) == pytest.approx(want, rel=0.04)  # R = 1 would fail


def test_a_yield_only_nuisance_has_no_per_event_shape_but_its_yields(tmp_path):
    """``yield_only``: no ratio net is trained (or evaluated, in torch or ONNX) for the nuisance; every event of a
    process gets the same log R (the calibrated yield polynomial), which still gives the moved sample's yield of
    each process."""
    rng = np.random.default_rng(3)
    n = 4_000
    process = np.repeat([0, 1], n)
    x = rng.standard_normal((2 * n, 2))
    weight = np.ones(2 * n)

    def move(xs, proc, k, alpha):  # a shape change (shift) and a yield change of process 1 (exp(0.2 a))
        return xs + np.asarray(alpha)[:, None] * 0.3, np.where(proc == 1, np.exp(0.2 * alpha), 1.0)

    settings = replace(SMALL, ranges=((-2.0, 2.0),), yield_only=(0,))
    fit = train_density_ratio(x, process, weight, move, 1, settings)
    assert fit.ratio_histories == [None]
    coef = torch_outputs(fit.model, x)[1][:, :, 0, :]  # (events, P, D)
    np.testing.assert_allclose(coef, np.broadcast_to(coef[:1], coef.shape))  # no event dependence
    for alpha in (-1.5, 1.0):
        ratios = np.exp(polynomial_log_ratio(coef[0], alpha))
        np.testing.assert_allclose(ratios, [1.0, np.exp(0.2 * alpha)], rtol=1e-4)
    assert len(fit.model.ratios[0].nets) == 0
    path = export_density_ratio(fit.model, ["x1", "x2"], tmp_path / "ratio.onnx", {"processes": ["a", "b"]}, x[:500])
    np.testing.assert_allclose(OnnxScorer(path).outputs(x[:500])[2][:, :, 0, :], coef[:500], rtol=1e-6)


def test_onnx_graph_returns_fractions_and_coefficients_equal_to_torch(rotating_fit, tmp_path):
    x = rotating.evaluation_sample(rotating.TOY, 2_000, 5).features
    metadata = {"processes": ["signal", "background"], "nuisances": ["Z"], "degree": 4}
    path = export_density_ratio(rotating_fit.model, ["x1", "x2"], tmp_path / "ratio.onnx", metadata, x)
    scorer = OnnxScorer(path)
    score, fractions, coef = scorer.outputs(x)
    want = torch_outputs(rotating_fit.model, x)
    assert fractions.shape == (4_000, 2) and coef.shape == (4_000, 2, 1, 4)
    assert check_ratio_parity((fractions, coef), want) <= 1.0
    assert scorer.features == ("x1", "x2") and json.loads(scorer.metadata["nuisances"]) == ["Z"]
    np.testing.assert_array_equal(score, fractions[:, 0])  # the signal fraction first: what score readers take
    np.testing.assert_array_equal(scorer.score(x), score)
    with pytest.raises(OnnxParityError):
        check_ratio_parity((fractions, coef + 1e-2), want)


def test_fraction_calibration_makes_the_weighted_fractions_sum_to_each_yield():
    """The prior-shift calibration: on the training events Σ w c_p equals every process's total weight to 1e-5,
    even for a classifier too short-trained to be calibrated (one epoch, 2 % signal, the regime of H→ττ)."""
    rng = np.random.default_rng(3)
    yields, counts = np.array([20.0, 1000.0, 50.0]), np.array([3_000, 20_000, 4_000])
    means = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]])
    process = np.repeat([0, 1, 2], counts)
    x = means[process] + rng.standard_normal((len(process), 2))
    weight = yields[process] / counts[process]
    model, _ = train_fractions(x, process, weight, 3, replace(SMALL, epochs=1))
    with torch.no_grad():
        fractions = model(torch.as_tensor(x, dtype=torch.float32)).double().numpy()
    np.testing.assert_allclose((weight[:, None] * fractions).sum(axis=0), yields, rtol=1e-5)
    with torch.no_grad():
        model.log_correction.zero_()
        uncalibrated = model(torch.as_tensor(x, dtype=torch.float32)).double().numpy()
    assert abs((weight * uncalibrated[:, 0]).sum() / yields[0] - 1.0) > 0.1  # balanced training alone is far off
