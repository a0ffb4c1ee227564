"""Figures from models and scores: ROC, calibration, score shapes, feature histograms, and the figures themselves."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from systlab.events import SENTINEL, SPLITS
from systlab.studies.calibration import balanced_class_weights, reliability_curve, reliability_summaries
from systlab.studies.feature_histograms import (
    feature_edges,
    feature_histograms,
    histogram,
    nice_width,
    pooled_weights,
    signal_scale,
)
from systlab.studies.metrics import weighted_auc
from systlab.studies.result_files import (
    SampleKey,
    ScoreKey,
    read_columns,
    read_samples,
    read_template_scores,
    score_key,
)
from systlab.studies.roc import background_efficiency_at, rejection, roc_curve, roc_summaries
from systlab.studies.score_shapes import read_js_divergence, score_shapes
from systlab.studies.spread import replica_spread, spread_of

FRACTIONS = {"train": 0.35, "validation": 0.15, "template": 0.3, "toy": 0.2}
VARIATIONS = ("tes_-1sd", "nominal", "tes_+1sd")
SHIFTS = dict(zip(VARIATIONS, (-0.08, 0.0, 0.08), strict=True))


# --- ROC ---------------------------------------------------------------------------------------------------------


def test_roc_of_a_perfect_classifier_rejects_all_background_until_full_signal_efficiency():
    scores = np.r_[np.linspace(0.6, 1.0, 50), np.linspace(0.0, 0.4, 80)]
    labels = np.r_[np.ones(50), np.zeros(80)]
    curve = roc_curve(scores, labels, np.ones(130))
    grid = np.linspace(0.1, 0.99, 20)
    assert np.all(background_efficiency_at(curve, grid) == 0.0)
    assert np.all(np.isnan(rejection(background_efficiency_at(curve, grid))))
    assert curve.signal_efficiency[-1] == curve.background_efficiency[-1] == 1.0
    assert np.trapezoid(curve.signal_efficiency, curve.background_efficiency) == pytest.approx(1.0)


def test_roc_of_a_random_classifier_is_the_diagonal_and_its_area_is_the_weighted_auc():
    rng = np.random.default_rng(1)
    scores, labels, weights = rng.uniform(size=40_000), rng.integers(0, 2, 40_000), rng.uniform(0.5, 2.0, 40_000)
    curve = roc_curve(scores, labels, weights)
    grid = np.linspace(0.1, 1.0, 10)
    np.testing.assert_allclose(background_efficiency_at(curve, grid), grid, atol=0.02)
    informative = np.clip(scores + 0.3 * labels, 0, 1).round(2)  # with ties
    curve = roc_curve(informative, labels, weights)
    area = np.trapezoid(curve.signal_efficiency, curve.background_efficiency)
    assert area == pytest.approx(weighted_auc(informative, labels, weights), abs=1e-9)
    assert 0.7 < area < 0.95
    assert np.all(np.diff(curve.signal_efficiency) >= 0) and np.all(np.diff(curve.thresholds) < 0)
    with pytest.raises(ValueError, match="signal and background"):
        roc_curve(scores, np.zeros_like(labels), weights)


# --- calibration ---------------------------------------------------------------------------------------------------


def calibrated_sample(n: int, seed: int, signal_weight: float = 0.05):
    """Scores c ~ U(0, 1), label ~ Bernoulli(c): c is the balanced-class posterior; signal then down-weighted."""
    rng = np.random.default_rng(seed)
    score = rng.uniform(size=n)
    label = (rng.uniform(size=n) < score).astype(np.int8)
    weight = np.where(label == 1, signal_weight, 1.0) * rng.uniform(0.8, 1.2, n)
    return score, label, weight


def test_calibrated_scores_lie_on_the_diagonal_only_with_balanced_class_weights():
    score, label, weight = calibrated_sample(200_000, seed=2)
    curve = reliability_curve(score, label, weight, bins=10)
    centres = 0.5 * (curve.edges[1:] + curve.edges[:-1])
    np.testing.assert_allclose(curve.mean_score, centres, atol=0.01)
    assert np.all(np.abs(curve.signal_fraction - curve.mean_score) < 4 * curve.fraction_error + 1e-3)
    assert np.all(curve.fraction_error < 0.01)
    raw = np.bincount(np.digitize(score, curve.edges[1:-1]), np.where(label == 1, weight, 0)) / np.bincount(
        np.digitize(score, curve.edges[1:-1]), weight)  # fmt: skip
    assert np.max(np.abs(raw - curve.mean_score)) > 0.3  # ignoring the class weights would look miscalibrated


def test_balanced_class_weights_match_the_training_weights_up_to_a_constant():
    from systlab.methods.loop import balanced_weights

    score, label, weight = calibrated_sample(1000, seed=3)
    ratio = balanced_class_weights(weight, label) / balanced_weights(weight, label)
    np.testing.assert_allclose(ratio, ratio[0])
    with pytest.raises(ValueError, match="both classes"):
        balanced_class_weights(weight, np.zeros_like(label))


def test_empty_calibration_bins_are_nan_and_skipped_by_the_replica_spread():
    curve = reliability_curve(np.array([0.05, 0.06, 0.95]), np.array([0, 1, 1]), np.ones(3), bins=10)
    assert np.isnan(curve.signal_fraction[3]) and curve.signal_fraction[0] == pytest.approx(0.5 / 1.5)
    spread = replica_spread([np.array([1.0, np.nan, 2.0]), np.array([3.0, np.nan, 2.0])])
    np.testing.assert_allclose(spread.mean, [2.0, np.nan, 2.0])
    np.testing.assert_allclose(spread.std, [np.sqrt(2.0), np.nan, 0.0])
    assert replica_spread([0.9]).std == 0.0
    assert spread_of([1.0, None, 3.0]) == pytest.approx((2.0, np.sqrt(2.0)))  # a replica without the value


# --- feature histograms --------------------------------------------------------------------------------------------


def sample_table(n: int, seed: int, mass: float, scale: float = 1.0, label: int = 0) -> pd.DataFrame:
    """A sample table: a mass peak (x TES scale), a jet feature undefined in a third of the events."""
    rng = np.random.default_rng(seed)
    split = rng.choice(4, n, p=list(FRACTIONS.values())).astype(np.int8)
    split_fraction = np.asarray(list(FRACTIONS.values()))[split]
    jet = np.where(rng.uniform(size=n) < 1 / 3, SENTINEL, rng.exponential(40.0, n) + 30)
    return pd.DataFrame({"event_id": np.arange(n, dtype=np.uint64), "weight": 2.0 / split_fraction, "split": split,
                         "label": np.full(n, label, np.int8), "DER_mass_vis": rng.normal(mass, 12.0, n) * scale,
                         "PRI_jet_leading_pt": jet})  # fmt: skip


def test_sentinel_values_are_dropped_and_pooled_weights_give_the_yield():
    table = sample_table(3000, 4, 70.0)
    weights = pooled_weights(table, FRACTIONS)
    assert weights.sum() == pytest.approx(2.0 * 3000)
    edges = np.linspace(0, 300, 31)
    counts, sumw2 = histogram(table["PRI_jet_leading_pt"], weights, edges)
    defined = table["PRI_jet_leading_pt"].to_numpy() != SENTINEL
    assert counts.sum() == pytest.approx(weights[defined].sum())  # -999 neither in a bin nor in the underflow
    assert sumw2.sum() == pytest.approx((weights[defined] ** 2).sum())
    assert feature_edges(table["PRI_jet_leading_pt"], weights)[0] >= 0.0


def test_feature_histograms_follow_the_tes_shift_and_bin_roundly():
    tables = {SampleKey("z", v): sample_table(5000, 5, 90.0, 1 + 0.03 * k)
              for v, k in zip(VARIATIONS, (-1, 0, 1), strict=True)}  # fmt: skip
    hists = feature_histograms(tables, "DER_mass_vis", FRACTIONS, ranges={})
    centres = 0.5 * (hists.edges[1:] + hists.edges[:-1])
    means = {k.variation: (c * centres).sum() / c.sum() for k, c in hists.counts.items()}
    assert means["tes_-1sd"] < means["nominal"] < means["tes_+1sd"]
    assert nice_width(hists.edges[-1] - hists.edges[0], 30) == pytest.approx(np.diff(hists.edges)[0])
    assert nice_width(170, 30) == 10.0 and nice_width(0.9, 30) == 0.05
    assert signal_scale(20_000, 1_000_000) == 20.0 and signal_scale(100, 10) == 1.0
    with pytest.raises(ValueError, match="no column 'PRI_met'"):
        feature_histograms(tables, "PRI_met", FRACTIONS)


# --- score files, shapes, figures ----------------------------------------------------------------------------------


def write_scores(root, methods=("baseline", "pivot", "oracle_tes_0sd"), replicas=("r0", "r1"), n=3000):
    """Score files in the results/ layout: signal peaks high, background low and moving with the TES shift."""
    paths = []
    for m, method in enumerate(methods):
        for r, replica in enumerate(replicas):
            for p, (process, label) in enumerate((("sig", 1), ("bkg", 0))):
                for variation in VARIATIONS:
                    rng = np.random.default_rng([m, r, p])  # same events at every variation
                    base = rng.beta(5, 2, n) if label else rng.beta(2, 5, n)
                    shift = 0.0 if method == "pivot" or label else SHIFTS[variation]
                    path = root / "scores" / method / replica / process / f"{variation}.parquet"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    table = {
                        "event_id": np.arange(n, dtype=np.uint64),
                        "weight": np.full(n, 1.0 + 9 * (1 - label)),
                        "split": rng.choice([SPLITS["template"], SPLITS["toy"]], n).astype(np.int8),
                        "label": np.full(n, label, np.int8),
                        "score": np.clip(base + shift, 0, 1).astype(np.float32),
                    }
                    pd.DataFrame(table).to_parquet(path)
                    paths.append(path)
    return paths


def test_score_files_are_keyed_by_their_path_and_missing_columns_are_named(tmp_path):
    assert score_key("results/scores/aware/r1/ztautau/tes_+1sd.parquet") == ScoreKey(
        "aware", "r1", "ztautau", "tes_+1sd"
    )
    path = tmp_path / "bad.parquet"
    pd.DataFrame({"weight": [1.0], "label": [1]}).to_parquet(path)
    with pytest.raises(ValueError, match=r"bad\.parquet.*'score'"):
        read_columns(path, ["weight", "label", "score"])


def test_score_shapes_show_the_shift_of_a_correlated_classifier_only(tmp_path):
    tables = read_template_scores(write_scores(tmp_path))
    assert all((t["split"] == SPLITS["template"]).all() for t in tables.values())
    moving, flat = (score_shapes(tables, m, VARIATIONS) for m in ("baseline", "pivot"))
    width = np.diff(moving.edges)
    assert (moving.density["nominal"].mean * width).sum() == pytest.approx(1.0)
    high = moving.edges[1:] > 0.6
    assert np.nanmean(moving.ratio_to_nominal["tes_+1sd"].mean[high]) > 1.2
    assert np.nanmean(moving.ratio_to_nominal["tes_-1sd"].mean[high]) < 0.8
    flat_ratio = flat.ratio_to_nominal["tes_+1sd"].mean
    np.testing.assert_allclose(flat_ratio[np.isfinite(flat_ratio)], 1.0)
    metrics = tmp_path / "metrics.json"
    metrics.write_text(json.dumps({"summary": {"js_divergence": {"mean": 0.02, "std": 0.01}}}))
    assert read_js_divergence(metrics) == (0.02, 0.01)
    metrics.write_text(json.dumps({"summary": {}}))
    with pytest.raises(ValueError, match="js_divergence"):
        read_js_divergence(metrics)


def assert_figure_files(tmp_path, name):
    pdf, png = tmp_path / f"{name}.pdf", tmp_path / f"{name}.png"
    assert pdf.read_bytes()[:4] == b"%PDF" and pdf.stat().st_size > 5000
    assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 5000


def test_roc_and_calibration_figures_are_written(tmp_path):
    from systlab.visualize.calibration import plot_calibration
    from systlab.visualize.roc import plot_roc
    from systlab.visualize.style import save_figure

    tables = read_template_scores(write_scores(tmp_path))
    methods = ["baseline", "pivot", "oracle_tes_0sd"]
    summaries = roc_summaries(tables, methods, VARIATIONS)
    pivot = summaries["tes_+1sd"]["pivot"]
    assert pivot.auc.n_replicas == 2 and 0.9 < pivot.auc.mean < 0.99
    assert summaries["tes_+1sd"]["baseline"].auc.mean < pivot.auc.mean  # background moved towards the signal
    save_figure(plot_roc(summaries, "oracle_tes_0sd", 10.0), tmp_path / "roc.pdf", "test", tmp_path / "roc.png")
    assert_figure_files(tmp_path, "roc")
    curves = reliability_summaries(tables, methods)
    assert curves["pivot"].signal_fraction.mean[-1] > curves["pivot"].signal_fraction.mean[0]
    save_figure(plot_calibration(curves, "oracle_tes_0sd", 10.0), tmp_path / "calibration.pdf", "test")
    assert_figure_files(tmp_path, "calibration")


def test_decorrelation_figure_is_written(tmp_path):
    from systlab.visualize.decorrelation import plot_decorrelation
    from systlab.visualize.style import save_figure

    tables = read_template_scores(write_scores(tmp_path, methods=("baseline", "pivot")))
    shapes = {m: score_shapes(tables, m, VARIATIONS) for m in ("baseline", "pivot")}
    fig = plot_decorrelation(shapes, {"baseline": (0.05, 0.01), "pivot": (0.001, 0.0005)}, 10.0)
    save_figure(fig, tmp_path / "decorrelation.pdf", "test")
    assert_figure_files(tmp_path, "decorrelation")


def test_features_figure_is_written_from_sample_files(tmp_path):
    from systlab.visualize.features import axis_label, plot_features
    from systlab.visualize.style import save_figure

    assert axis_label("PRI_met").endswith("[GeV]") and axis_label("DER_pt_tot").endswith("[GeV]")
    assert not any(axis_label(f).endswith("[GeV]") for f in ("PRI_met_phi", "PRI_jet_num", "DER_pt_ratio_lep_tau"))

    paths = []
    for p, (process, mass, label) in enumerate((("sig", 125.0, 1), ("bkg", 90.0, 0))):
        for variation, k in zip(VARIATIONS, (-1, 0, 1), strict=True):
            path = tmp_path / "samples" / process / f"{variation}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            sample_table(2000, p, mass, 1 + 0.03 * k, label).to_parquet(path)
            paths.append(path)
    tables = read_samples(paths, ["weight", "split", "DER_mass_vis", "PRI_jet_leading_pt"])
    hists = [feature_histograms(tables, f, FRACTIONS) for f in ("DER_mass_vis", "PRI_jet_leading_pt")]
    save_figure(plot_features(hists, "sig", ["bkg"], 5.0, 10.0), tmp_path / "features.pdf", "test")
    assert_figure_files(tmp_path, "features")
