"""Training methods: their loss terms as the papers define them, training data, ONNX parity, replicas, decorrelation."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from systlab.config import ShapeNP
from systlab.events import SPLITS
from systlab.methods import METHODS
from systlab.methods.aware import alpha_column
from systlab.methods.common import load_classifier, training_batches
from systlab.methods.data import method_draws, training_tables
from systlab.methods.disco import distance_correlation_sq, train_disco
from systlab.methods.inferno_data import inferno_training_tables
from systlab.methods.loop import TrainingSettings
from systlab.methods.model import Classifier
from systlab.methods.onnx_io import OnnxScorer
from systlab.methods.pivot import GAUSSIAN_ENTROPY, MixtureDensityAdversary, PivotLoss, PivotSettings, mixture_nll
from systlab.samples.simulate import simulate_process
from systlab.samples.vary import PerEventVariation, Variation, apply_variation, finish_sample, soft_met_draws
from systlab.studies.metrics import js_divergence, score_histogram
from systlab.templates.score import score_sample, scoring_parameters

ALPHA = alpha_column("tes")

FRACTIONS = {"train": 0.35, "validation": 0.15, "template": 0.3, "toy": 0.2}
FEATURES = ["PRI_tau_pt", "PRI_lep_pt", "PRI_met", "DER_mass_vis", "DER_mass_transverse_met_lep", "DER_pt_h",
            "DER_mass_MMC", "PRI_jet_num", "DER_pt_ratio_lep_tau"]  # fmt: skip
#: A large TES uncertainty (10%) so the TES dependence of the score is clear on small samples.
SHAPE_NPS = (
    ShapeNP("tes", 1.0, 0.10, False, (-1.0, 0.0, 1.0)),
    ShapeNP("jes", 1.0, 0.01, False, (0.0,)),
    ShapeNP("soft_met", 0.0, 3.0, True, (0.0,)),
)
QUICK = TrainingSettings(hidden=(16,), epochs=2, batch_size=512, learning_rate=3e-3, patience=2)
SETTINGS = TrainingSettings(hidden=(32, 32), epochs=12, batch_size=512, learning_rate=3e-3, patience=3)
OPTIONS = {"pivot": {"pivot": PivotSettings(pretrain_epochs=1, adversary_pretrain_epochs=1)},
           "oracle": {"nuisance": "tes", "point": 1.0}, "inferno": {"signal": "htautau"},
           **{m: {"nuisance": "tes"} for m in ("disco", "grl", "aware")}}  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Small MLPs: one torch thread is fastest and immune to a busy machine."""
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def events():
    return {
        "htautau": simulate_process("htautau", 15_000, seed=1, signal_boost=50.0),
        "ztautau": simulate_process("ztautau", 80_000, seed=2),
    }


def tables_for(events, method, seed=5, resample=False, tes_point=None):
    return training_tables(events, "htautau", SHAPE_NPS, method_draws(method, SHAPE_NPS, "tes", tes_point), seed=seed,
                           split_seed=11, fractions=FRACTIONS, soft_seed=12, resample=resample)  # fmt: skip


@pytest.fixture(scope="module")
def augmented(events):
    return tables_for(events, "augmented")


# --- loss terms ---------------------------------------------------------------------------------------------


def test_distance_correlation_of_independent_and_identical_vectors():
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(1000, generator=gen, dtype=torch.float64), torch.randn(1000, generator=gen, dtype=torch.float64)
    w = torch.rand(1000, generator=gen, dtype=torch.float64) + 0.1
    assert float(distance_correlation_sq(x, y)) < 0.01
    assert float(distance_correlation_sq(x, y, w)) < 0.01
    assert float(distance_correlation_sq(x, x)) == pytest.approx(1.0, abs=1e-9)
    assert float(distance_correlation_sq(x, x, w)) == pytest.approx(1.0, abs=1e-9)
    assert float(distance_correlation_sq(x, x**2)) > 0.1  # non-linear dependence that Pearson misses


def test_weighted_distance_correlation_equals_repeated_events():
    gen = torch.Generator().manual_seed(1)
    x, y = torch.randn(50, generator=gen, dtype=torch.float64), torch.randn(50, generator=gen, dtype=torch.float64)
    counts = torch.randint(1, 4, (50,), generator=gen)
    repeated = distance_correlation_sq(x.repeat_interleave(counts), (x + y).repeat_interleave(counts))
    assert float(distance_correlation_sq(x, x + y, counts.double())) == pytest.approx(float(repeated), rel=1e-9)


def test_mixture_nll_with_one_component_is_the_gaussian_nll():
    mu, log_sigma, z = torch.tensor([[0.3], [-1.0]]), torch.tensor([[0.2], [-0.5]]), torch.tensor([1.0, -2.0])
    want = -torch.distributions.Normal(mu[:, 0], log_sigma[:, 0].exp()).log_prob(z)
    torch.testing.assert_close(mixture_nll(torch.zeros(2, 1), mu, log_sigma, z), want)
    assert GAUSSIAN_ENTROPY == pytest.approx(-torch.distributions.Normal(0.0, 1.0).entropy().neg().item())


def test_classifier_update_increases_the_adversary_loss(augmented):
    train, _ = training_batches(augmented, FEATURES, ["z_tes"])
    batch = train.take(torch.arange(2048))
    torch.manual_seed(0)
    model = Classifier.from_training_data(train.features.numpy(), train.weight.numpy(), (16,))
    game = PivotLoss(MixtureDensityAdversary(), PivotSettings(lam=100.0, learning_rate=1e-2))
    for _ in range(100):  # an adversary that has learnt something about z from the classifier output
        game.adversary_step(model, batch)
    with torch.no_grad():
        before = float(game.adversary_loss(model, batch))
    optimiser = torch.optim.SGD(model.parameters(), lr=1e-3)
    optimiser.zero_grad()
    game.classifier_loss(model, batch).backward()
    optimiser.step()
    with torch.no_grad():
        assert float(game.adversary_loss(model, batch)) > before


# --- training data ------------------------------------------------------------------------------------------


def test_augmented_events_carry_prior_draws_applied_per_event(events, augmented):
    z = np.concatenate([t["z_tes"].to_numpy() for t in augmented.values()])
    # the prior's width; the mean is pulled up a little because upward TES shifts pass the tau pT cut more often
    assert abs(z.mean()) < 0.2 and z.std() == pytest.approx(1.0, abs=0.07)
    assert {"z_jes", "z_soft_met"} <= set(augmented["htautau"].columns)
    table = augmented["htautau"].set_index("event_id")
    nominal = apply_variation(events["htautau"], Variation("nominal"), soft_met_draws(len(events["htautau"]), 0))
    common = table.index.intersection(nominal.set_index("event_id").index)  # some pass the cuts only when shifted
    table, nominal = table.loc[common], nominal.set_index("event_id").loc[common]
    ratio = table["PRI_tau_pt"] / nominal["PRI_tau_pt"]
    np.testing.assert_allclose(ratio, 1.0 + 0.10 * table["z_tes"], rtol=1e-5)
    assert set(table["split"]) == {0, 1}


def test_per_event_values_equal_scalar_variation(events):
    ev = events["ztautau"]
    draws = soft_met_draws(len(ev), 3)
    scalar = apply_variation(ev, Variation("x", {"jes": 1.02, "tes": 0.97, "soft_met": 2.0}), draws)
    arrays = {"jes": np.full(len(ev), 1.02), "tes": np.full(len(ev), 0.97), "soft_met": np.full(len(ev), 2.0)}
    pd.testing.assert_frame_equal(apply_variation(ev, PerEventVariation("x", arrays), draws), scalar)


def test_method_draws_and_oracle_and_baseline_data(events):
    aware = tables_for(events, "aware")
    z = np.concatenate([t["z_tes"].to_numpy() for t in aware.values()])
    assert z.min() >= -1.0 and z.max() <= 1.0 and z.std() == pytest.approx(1 / math.sqrt(3), abs=0.05)
    oracle = tables_for(events, "oracle", tes_point=1.0)
    assert (oracle["ztautau"]["z_tes"] == 1.0).all() and (oracle["ztautau"]["z_jes"] == 0.0).all()
    baseline = tables_for(events, "baseline")["ztautau"]
    draws = soft_met_draws(len(events["ztautau"]), 0)
    nominal = finish_sample(apply_variation(events["ztautau"], Variation("nominal"), draws), 0, 11, FRACTIONS)
    pd.testing.assert_frame_equal(baseline.drop(columns=["z_tes", "z_jes", "z_soft_met"]),
                                  nominal[nominal["split"] <= 1].reset_index(drop=True))  # fmt: skip


def test_bootstrap_reweights_train_split_only(events):
    plain = tables_for(events, "baseline")["ztautau"]
    boot = tables_for(events, "baseline", resample=True)["ztautau"]
    merged = plain.merge(boot[["event_id", "weight"]], on="event_id", how="left", suffixes=("", "_boot"))
    counts = (merged["weight_boot"].fillna(0.0) / merged["weight"]).round(6)
    train = merged["split"] == 0
    assert (counts[~train] == 1.0).all()
    assert counts[train].mean() == pytest.approx(1.0, abs=0.05) and counts[train].var() == pytest.approx(1.0, abs=0.1)


# --- training, export, replicas -----------------------------------------------------------------------------


@pytest.mark.parametrize("method", sorted(set(METHODS) - {"unbinned"}))  # unbinned: tests/test_unbinned_method.py
def test_each_method_trains_and_exports_with_parity(events, method, tmp_path):
    if method == "inferno":
        tables = inferno_training_tables(events, "htautau", SHAPE_NPS[0], FEATURES, seed=5, split_seed=11,
                                         fractions=FRACTIONS, soft_seed=12)  # fmt: skip
    else:
        tables = tables_for(events, method, tes_point=1.0 if method == "oracle" else None)
    trained = METHODS[method](tables, FEATURES, QUICK, seed=3, out_dir=tmp_path, **OPTIONS.get(method, {}))
    meta = json.loads(trained.meta_path.read_text())
    scorer = OnnxScorer(trained.onnx_path)
    assert meta["method"] == method and list(scorer.features) == meta["features"]
    x = pd.concat(list(tables.values()))
    if method == "inferno":  # its export is the purity score, checked against torch inside export_onnx
        scores = scorer.score(x[list(scorer.features)].to_numpy(np.float32))
        assert scores.min() >= 0.0 and scores.max() <= 1.0 and scores.std() > 0
        return
    if method == "aware":
        x = x.assign(**{ALPHA: x["z_tes"]})
    rows = x[list(scorer.features)].to_numpy(np.float32)
    with torch.no_grad():
        want = load_classifier(tmp_path)(torch.from_numpy(rows)).numpy()
    assert np.max(np.abs(scorer.score(rows) - want)) < 1e-5
    if method == "pivot":
        info = json.loads(trained.history_path.read_text())["method_info"]
        assert info["adversary_ideal_loss"] == pytest.approx(0.5 * math.log(2 * math.pi * math.e))
        assert math.isfinite(info["adversary_final_loss"]) and math.isfinite(info["adversary_refit_loss"])


def test_aware_onnx_takes_alpha_and_score_sample_fills_it(events, tmp_path):
    tables = tables_for(events, "aware")
    trained = METHODS["aware"](tables, FEATURES, QUICK, seed=3, out_dir=tmp_path / "m", nuisance="tes")
    scorer = OnnxScorer(trained.onnx_path)
    assert scorer.features == (*FEATURES, ALPHA) and scorer.parameters == (ALPHA,)
    sample = tables["ztautau"].assign(split=np.int8(2))
    sample.drop(columns=["z_tes", "z_jes", "z_soft_met"]).to_parquet(tmp_path / "s.parquet")
    model = load_classifier(tmp_path / "m")
    outputs = []
    for alpha in (-1.0, 1.0):
        score_sample(trained.onnx_path, tmp_path / "s.parquet", tmp_path / "o.parquet", parameters={ALPHA: alpha})
        got = pd.read_parquet(tmp_path / "o.parquet")["score"].to_numpy()
        x = sample.assign(**{ALPHA: alpha})[list(scorer.features)].to_numpy(np.float32)
        with torch.no_grad():
            np.testing.assert_allclose(got, model(torch.from_numpy(x)).numpy(), atol=1e-5)
        outputs.append(got)
    assert not np.allclose(*outputs)  # alpha is a real input
    assert scoring_parameters(scorer.parameters, {"tes": -1.0}) == {ALPHA: -1.0}
    assert scoring_parameters(scorer.parameters, {"jes": 1.0}) == {ALPHA: 0.0}
    with pytest.raises(ValueError, match="not inputs"):
        score_sample(trained.onnx_path, tmp_path / "s.parquet", tmp_path / "o.parquet", parameters={"alpha_x": 1})


def test_same_seed_gives_byte_identical_onnx_and_bootstrap_replicas_differ(events, tmp_path):
    runs = {}
    for name, seed, resample in (("a", 7, True), ("b", 7, True), ("c", 8, True)):
        tables = tables_for(events, "augmented", seed=seed, resample=resample)
        runs[name] = METHODS["augmented"](tables, FEATURES, QUICK, seed=seed, out_dir=tmp_path / name)
    read = {k: v.onnx_path.read_bytes() for k, v in runs.items()}
    assert read["a"] == read["b"] and read["a"] != read["c"]


def test_disco_with_lambda_zero_is_the_baseline(augmented, tmp_path):
    base = METHODS["baseline"](augmented, FEATURES, QUICK, seed=4, out_dir=tmp_path / "base")
    disco = train_disco(augmented, FEATURES, QUICK, seed=4, out_dir=tmp_path / "disco", lam=0.0, nuisance="tes")
    a, b = (torch.load(t.model_path, weights_only=True) for t in (base, disco))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert base.history.train_loss == disco.history.train_loss


def background_js(onnx_path, events, tmp_path) -> float:
    """JS divergence of template-split background scores at TES -1 and +1 sigma (test samples of ztautau)."""
    histograms = []
    draws = soft_met_draws(len(events["ztautau"]), 0)
    for k in (-1.0, 1.0):
        table = apply_variation(events["ztautau"], Variation("x", {"tes": SHAPE_NPS[0].at(k)}), draws)
        table = finish_sample(table, 0, 11, FRACTIONS)
        table.to_parquet(tmp_path / "s.parquet")
        params = scoring_parameters(OnnxScorer(onnx_path).parameters, {"tes": k})
        score_sample(onnx_path, tmp_path / "s.parquet", tmp_path / "o.parquet", parameters=params)
        scored = pd.read_parquet(tmp_path / "o.parquet").query("split == 2")
        histograms.append(score_histogram(scored["score"].to_numpy(), scored["weight"].to_numpy()))
    return js_divergence(*histograms)


def test_pivot_disco_and_grl_scores_depend_less_on_tes_than_baseline(events, augmented, tmp_path):
    settings = replace(SETTINGS, patience=SETTINGS.epochs)
    base = METHODS["baseline"](tables_for(events, "baseline"), FEATURES, settings, 1, tmp_path / "base")
    disco = train_disco(augmented, FEATURES, settings, 1, tmp_path / "disco", lam=30.0, nuisance="tes")
    pivot = METHODS["pivot"](augmented, FEATURES, settings, 1, tmp_path / "pivot",
                             pivot=PivotSettings(lam=50.0, pretrain_epochs=2, adversary_pretrain_epochs=2))
    grl = METHODS["grl"](tables_for(events, "grl"), FEATURES, settings, 1, tmp_path / "grl", lam=300.0,
                         nuisance="tes")
    js = {name: background_js(t.onnx_path, events, tmp_path) for name, t in
          (("baseline", base), ("disco", disco), ("pivot", pivot), ("grl", grl))}  # fmt: skip
    assert all(js[m] < 0.7 * js["baseline"] for m in ("disco", "pivot", "grl")), js


def test_a_replica_bootstraps_the_same_events_for_every_method(events):
    """Replica i of baseline, augmented and an oracle sees each event with the same Poisson count (its own stream,
    apart from the NP draws): the paired width ratios of the summary compare trainings on the same bootstrap."""

    def counts(method, tes_point=None):
        plain = tables_for(events, method, tes_point=tes_point)["ztautau"]
        boot = tables_for(events, method, resample=True, tes_point=tes_point)["ztautau"]
        train = plain[plain["split"] == SPLITS["train"]].set_index("event_id")["weight"]
        drawn = boot[boot["split"] == SPLITS["train"]].groupby("event_id")["weight"].first()
        return (drawn / train.reindex(drawn.index)).round(9)

    base, aug, oracle = counts("baseline"), counts("augmented"), counts("oracle", 1.0)
    shared = base.index.intersection(aug.index).intersection(oracle.index)
    assert len(shared) > 1000 and set(np.unique(base)) <= set(range(10))
    assert (base[shared] == aug[shared]).all() and (base[shared] == oracle[shared]).all()
    other = tables_for(events, "baseline", seed=6, resample=True)["ztautau"]  # another replica: other counts
    assert len(other) != len(tables_for(events, "baseline", resample=True)["ztautau"])
