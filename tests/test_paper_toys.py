"""The paper toys: generators against their definitions, analytic ratios, published behaviour on small runs, rules."""

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.stats import expon, multivariate_normal, norm

from systlab.config import load_config_files
from systlab.methods.loop import Batch, TrainingSettings
from systlab.methods.onnx_io import OnnxScorer
from systlab.methods.pivot import PivotSettings
from systlab.papertoys.checks import toy_checks
from systlab.papertoys.evaluate import auc, evaluation_sample, group_models
from systlab.papertoys.inferno import InfernoLoss, SoftBinner, fisher_mu_variance
from systlab.papertoys.settings import PaperToySettings, parse_paper_toys, split_model_name
from systlab.papertoys.toys import get_toy
from systlab.papertoys.training import as_background, train_toy_model, training_tables

ROOT = Path(__file__).resolve().parents[1]
N = 200_000


def moments(x):
    return x.mean(axis=0), np.cov(x, rowvar=False)


def test_pivot_toy_moments_follow_the_definition():
    toy = get_toy("pivot")
    at = toy.sample(N, np.random.default_rng(1), "fixed", {"z": 0.5})
    mean, cov = moments(at.features[at.label == 1])
    np.testing.assert_allclose(mean, [1.0, 1.5], atol=0.01)
    np.testing.assert_allclose(cov, np.eye(2), atol=0.015)
    mean, cov = moments(at.features[at.label == 0])
    np.testing.assert_allclose(mean, [0.0, 0.0], atol=0.01)
    np.testing.assert_allclose(cov, [[1.0, -0.5], [-0.5, 1.0]], atol=0.015)
    prior = toy.sample(N, np.random.default_rng(2), "prior")  # z ~ N(0, 1) adds its variance to x2 of the signal
    _, cov = moments(prior.features[prior.label == 1])
    np.testing.assert_allclose(np.diag(cov), [1.0, 2.0], atol=0.03)
    np.testing.assert_allclose(prior.nuisances["z"].std(), 1.0, atol=0.01)


def test_rotating_gaussians_turn_with_z():
    toy = get_toy("rotating")
    sample = toy.sample(N, np.random.default_rng(3), "fixed", {"Z": 2.0})  # theta = pi/2
    signal, background = sample.features[sample.label == 1], sample.features[sample.label == 0]
    np.testing.assert_allclose(signal.mean(axis=0), [0.0, 1.0], atol=0.01)
    np.testing.assert_allclose(background.mean(axis=0), [0.0, -1.0], atol=0.01)
    np.testing.assert_allclose(signal.std(axis=0), [0.7, 0.7], atol=0.01)
    prior = toy.sample(N, np.random.default_rng(4), "prior")
    assert prior.nuisances["Z"].mean() == pytest.approx(1.0, abs=0.01)
    assert prior.nuisances["Z"].std() == pytest.approx(0.5, abs=0.01)
    nominal = toy.sample(1000, np.random.default_rng(5))
    assert np.all(nominal.nuisances["Z"] == 1.0)


def test_inferno_toy_moments_and_yields():
    toy = get_toy("inferno")
    sample = toy.sample(N, np.random.default_rng(6), "fixed", {"r": 0.4, "lam": 2.5})
    background, signal = sample.features[sample.label == 0], sample.features[sample.label == 1]
    np.testing.assert_allclose(background.mean(axis=0), [2.4, 0.0, 1 / 2.5], atol=0.03)
    np.testing.assert_allclose(background.var(axis=0), [5.0, 9.0, 1 / 2.5**2], rtol=0.02)
    np.testing.assert_allclose(signal.mean(axis=0), [1.0, 1.0, 0.5], atol=0.01)
    assert sample.weight[sample.label == 1].sum() == pytest.approx(50.0)
    assert sample.weight[sample.label == 0].sum() == pytest.approx(1000.0)
    prior = toy.sample(N, np.random.default_rng(7), "prior")
    assert prior.nuisances["lam"].min() >= 0.5  # physical floor of the decay rate


def test_analytic_ratios_match_scipy_densities_and_known_points():
    rng = np.random.default_rng(8)
    x = rng.normal(size=(50, 2))
    pivot = get_toy("pivot")
    background = multivariate_normal([0, 0], [[1, -0.5], [-0.5, 1]])
    want = multivariate_normal([1, 1.3], np.eye(2)).logpdf(x) - background.logpdf(x)
    np.testing.assert_allclose(pivot.log_likelihood_ratio(x, {"z": 0.3}), want, rtol=1e-10)

    rotating = get_toy("rotating")
    m = np.array([math.cos(math.pi / 4), math.sin(math.pi / 4)])
    assert rotating.log_likelihood_ratio(np.array([[1.0, -1.0]]), {"Z": 1.0})[0] == pytest.approx(0.0, abs=1e-12)
    assert rotating.log_likelihood_ratio(m[None], {"Z": 1.0})[0] == pytest.approx(2 / 0.49)
    want = multivariate_normal(m, 0.49 * np.eye(2)).logpdf(x) - multivariate_normal(-m, 0.49 * np.eye(2)).logpdf(x)
    np.testing.assert_allclose(rotating.log_likelihood_ratio(x, {"Z": 1.0}), want, rtol=1e-10)

    inferno = get_toy("inferno")
    x3 = np.column_stack([x, rng.exponential(0.5, 50)])
    want = (
        multivariate_normal([1, 1], np.eye(2)).logpdf(x)
        + expon(scale=0.5).logpdf(x3[:, 2])
        - multivariate_normal([1.8, 0], np.diag([5, 9])).logpdf(x)
        - expon(scale=1 / 3.5).logpdf(x3[:, 2])
    )
    np.testing.assert_allclose(inferno.log_likelihood_ratio(x3, {"r": -0.2, "lam": 3.5}), want, rtol=1e-10)


def test_bayes_auc_of_the_rotating_toy_is_the_analytic_one():
    # classes 2 apart along m with width 0.7: AUC = Phi(2 / (0.7 sqrt 2)), at every Z
    toy = get_toy("rotating")
    for z in (0.0, 2.0):
        sample = evaluation_sample(toy, 20_000, 1, {"Z": z})
        got = auc(toy.log_likelihood_ratio(sample.features, sample.nuisances), sample)
        assert got == pytest.approx(norm.cdf(2 / (0.7 * math.sqrt(2))), abs=0.003)


def test_training_tables_mix_classes_and_carry_nuisance_shifts():
    toy = get_toy("rotating")
    table = training_tables(toy, "augmented", 1000, np.random.default_rng(0))["events"]
    assert set(table["split"]) == {0, 1}
    assert table["label"].iloc[:200].nunique() == 2  # shuffled, not sorted by class
    np.testing.assert_allclose(table["z_Z"], (table["Z"] - 1.0) / 0.5)
    oracle = training_tables(toy, "oracle", 500, np.random.default_rng(0), point=2.0)["events"]
    assert np.all(oracle["Z"] == 2.0)


def test_adversary_events_are_the_classes_the_nuisance_moves():
    batch = Batch(torch.zeros(4, 2), torch.tensor([0.0, 1.0, 1.0, 0.0]), torch.ones(4), {})
    np.testing.assert_array_equal(as_background(batch, (1,)).label.numpy(), [1, 0, 0, 1])
    np.testing.assert_array_equal(as_background(batch, (0, 1)).label.numpy(), [0, 0, 0, 0])
    np.testing.assert_array_equal(as_background(batch, (0,)).label.numpy(), [0, 1, 1, 0])


def test_settings_parse_and_reject_unknown_names():
    settings = parse_paper_toys(
        {"seed": 5, "paper_toys": {"toys": {"rotating": ["baseline", "oracle"]}, "oracle_points": [0, 2]}}
    )
    assert settings.enabled and settings.model_names("rotating") == ["baseline", "oracle_Z0", "oracle_Z2"]
    assert split_model_name("oracle_Z-0.5") == ("oracle", -0.5)
    assert not parse_paper_toys({"seed": 1}).enabled
    with pytest.raises(ValueError, match="paper_toys.toys.banana"):
        parse_paper_toys({"paper_toys": {"toys": {"banana": ["baseline"]}}})
    with pytest.raises(ValueError, match="paper_toys.toys.pivot"):
        parse_paper_toys({"paper_toys": {"toys": {"pivot": ["magic"]}}})
    default = load_config_files(ROOT / "config/config.yaml")  # the schema accepts the section
    assert default.run_id == "default"


SMALL = PaperToySettings(
    toys={"pivot": ("baseline", "pivot", "disco"), "rotating": ("baseline", "aware", "oracle"),
          "inferno": ("baseline", "inferno")},
    seed=11, events=3000, test_events=5000, replicas=1,
    training=TrainingSettings(hidden=(32, 32), epochs=10, batch_size=256, learning_rate=3e-3, patience=4),
    pivot=PivotSettings(lam=50.0, pretrain_epochs=3, adversary_pretrain_epochs=2),
)  # fmt: skip


@pytest.fixture(scope="module")
def small_runs(tmp_path_factory):
    """One replica of every model of SMALL, exported to ONNX."""
    out = tmp_path_factory.mktemp("paper_toys")
    paths = []
    for toy in SMALL.toys:
        for model in SMALL.model_names(toy):
            trained = train_toy_model(toy, model, "r0", SMALL, out / toy / model / "r0")
            paths.append(trained.onnx_path)
    return out


def test_pivot_and_disco_outputs_coincide_across_z_unlike_the_baseline(small_runs):
    models = group_models(sorted((small_runs / "pivot").glob("*/r0/model.onnx")))
    result = toy_checks("pivot", models, SMALL.oracle_points, SMALL.test_events, SMALL.seed)
    checks = {c["name"]: c for c in result["checks"]}
    assert set(checks) == {"pivot_outputs_coincide", "disco_outputs_coincide"}
    assert all(c["passed"] for c in checks.values()), checks
    js = {m: result["models"][m]["js_divergence_z-1_z+1"]["mean"] for m in ("baseline", "pivot")}
    assert js["baseline"] > 0.03  # the baseline's output really moves with z
    history = json.loads((small_runs / "pivot/pivot/r0/history.json").read_text())
    # the adversary, refitted on the final pivot, learns nearly nothing beyond the prior (its entropy)
    info = history["method_info"]
    assert info["adversary_refit_loss"] > info["adversary_ideal_loss"] - 0.15


def test_aware_auc_at_z2_equals_the_oracle_and_beats_the_baseline(small_runs):
    models = group_models(sorted((small_runs / "rotating").glob("*/r0/model.onnx")))
    result = toy_checks("rotating", models, SMALL.oracle_points, SMALL.test_events, SMALL.seed)
    checks = {c["name"]: c for c in result["checks"]}
    assert set(checks) == {
        "aware_auc_equals_oracle_Z2",
        "aware_ratio_tracks_analytic_Z2",
        "baseline_auc_below_oracle_Z2",
    }
    assert all(c["passed"] for c in checks.values()), checks
    aucs = result["models"]
    assert aucs["baseline"]["auc"]["Z=2"]["mean"] < aucs["oracle_Z2"]["auc"]["Z=2"]["mean"] - 0.03
    assert OnnxScorer(small_runs / "rotating/aware/r0/model.onnx").parameters == ("Z",)


def test_fisher_variance_of_a_counting_experiment():
    # one bin, no nuisance: var(mu) = (s + b) / s^2; a fully constrained-away background shape changes nothing
    s, b = 50.0, 1000.0
    var = fisher_mu_variance(torch.tensor([[s]]), torch.tensor([s + b]), torch.tensor([0.0]))
    assert float(var) == pytest.approx((s + b) / s**2)
    # a background normalisation nuisance b(1 + theta) with prior width 0.1: var = (s+b)/s^2 + (0.1 b / s)^2
    var = fisher_mu_variance(torch.tensor([[s, b]]), torch.tensor([s + b]), torch.tensor([0.0, 1 / 0.1**2]))
    assert float(var) == pytest.approx((s + b) / s**2 + (0.1 * b / s) ** 2, rel=1e-5)


def test_inferno_loss_matches_the_autograd_fisher_information():
    toy = get_toy("inferno")
    sample = toy.sample(500, np.random.default_rng(0))
    batch = Batch(torch.tensor(sample.features, dtype=torch.float32), torch.tensor(sample.label, dtype=torch.float32),
                  torch.ones(1000), {"r": torch.zeros(1000), "lam": torch.full((1000,), 3.0)})  # fmt: skip
    torch.manual_seed(0)
    model, loss = SoftBinner(3, (16,)), InfernoLoss(toy)

    def counts(theta):
        s, b = loss.signal_background(model, batch, theta[1], theta[2])
        return theta[0] * s + b

    exact = fisher_mu_variance(torch.autograd.functional.jacobian(counts, loss.theta0), counts(loss.theta0),
                               loss.constraint)  # fmt: skip
    assert float(loss.loss(model, batch).detach()) == pytest.approx(float(exact.detach()), rel=1e-3)


def test_inferno_gives_a_smaller_expected_sigma_mu_than_cross_entropy(small_runs):
    models = group_models(sorted((small_runs / "inferno").glob("*/r0/model.onnx")))
    result = toy_checks("inferno", models, SMALL.oracle_points, SMALL.test_events, SMALL.seed)
    checks = {c["name"]: c for c in result["checks"]}
    assert checks["inferno_beats_cross_entropy"]["passed"], checks
    assert "auc" not in result["models"]["inferno"]  # a binning, not a score
    assert 0.2 < result["models"]["baseline"]["sigma_mu"]["mean"] < 1.0


def test_rules_dry_run(tmp_path):
    for name in ("Snakefile", "workflow", "config", "resources"):
        (tmp_path / name).symlink_to(ROOT / name)
    targets = ["results/paper_toys/pivot/checks.json", "results/paper_toys/rotating/checks.json",
               "results/paper_toys/inferno/checks.json", "results/figures/toy_decision_boundary.pdf",
               "results/figures/toy_likelihood_ratio.pdf", "results/figures/toy_pivot_outputs.pdf"]  # fmt: skip
    run = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "1", *targets,
                          "--configfile", "config/tiny.yaml"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    for rule in (
        "paper_toy_train_pivot",  # one training job per toy
        "paper_toy_train_rotating",
        "paper_toy_train_inferno",
        "paper_toy_checks",
        "figure_toy_decision_boundary",
        "figure_toy_likelihood_ratio",
        "figure_toy_pivot_outputs",
    ):
        assert f"rule {rule}:" in run.stdout or f"\n{rule} " in run.stdout, rule
    assert "results/paper_toys/rotating/oracle_Z2/r1/model.onnx" in run.stdout
    assert "results/samples" not in run.stdout  # the toys need nothing of the Higgs analysis
