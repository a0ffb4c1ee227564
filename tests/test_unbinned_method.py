"""The unbinned method's H->tautau events (systlab.methods.unbinned): every event moved by systlab's own variation
code, the acceptance change included, the rows kept."""

from __future__ import annotations

import numpy as np
import pytest

from systlab.config import ShapeNP
from systlab.samples.simulate import simulate_process
from systlab.samples.vary import (
    PerEventVariation,
    apply_variation,
    features_everywhere,
    share_events,
    soft_met_draws,
    variation_values,
)

TES = ShapeNP("tes", 1.0, 0.10, False, (-1.0, 0.0, 1.0))


@pytest.fixture(scope="module")
def ztautau():
    return simulate_process("ztautau", 40_000, seed=2)


@pytest.mark.parametrize("shift", [-2.0, 0.0, 1.5])
def test_features_everywhere_equal_the_varied_sample_where_the_event_passes(ztautau, shift):
    soft = soft_met_draws(len(ztautau), 7)
    at = variation_values(PerEventVariation("t", {"tes": TES.at(shift)}))
    ends = [variation_values(PerEventVariation("t", {"tes": TES.at(s)})) for s in (-3.0, 0.0, 3.0)]
    shared = share_events(ztautau, soft, ends)
    passes, features = features_everywhere(shared, at)
    table = apply_variation(ztautau, PerEventVariation("t", {"tes": TES.at(shift)}), soft)
    assert passes.sum() == len(table)  # every event that passes at the shift is among the shared ones
    ids = shared.event_id[passes]
    np.testing.assert_array_equal(np.sort(ids), np.sort(table["event_id"].to_numpy()))
    order = np.argsort(table["event_id"].to_numpy())
    for name in ("PRI_tau_pt", "DER_mass_vis", "PRI_met", "DER_mass_MMC"):
        np.testing.assert_allclose(np.asarray(features[name])[passes][np.argsort(ids)],
                                   table[name].to_numpy()[order], rtol=1e-5)  # fmt: skip


def test_per_event_shifts_move_each_event_to_its_own_value(ztautau):
    soft = soft_met_draws(len(ztautau), 7)
    ends = [variation_values(PerEventVariation("t", {"tes": TES.at(s)})) for s in (-3.0, 0.0, 3.0)]
    shared = share_events(ztautau, soft, ends)
    shifts = np.random.default_rng(0).uniform(-3, 3, len(shared.weight))
    _, moved = features_everywhere(shared, variation_values(PerEventVariation("t", {"tes": TES.at(shifts)})))
    _, nominal = features_everywhere(shared, variation_values(PerEventVariation("t", {})))
    ratio = np.asarray(moved["PRI_tau_pt"]) / np.asarray(nominal["PRI_tau_pt"])
    np.testing.assert_allclose(ratio, TES.at(shifts), rtol=1e-5)  # TES scales the tau pT by its own value


def test_the_unbinned_method_trains_on_its_own_tables_and_exports_score_fractions_and_coefficients(tmp_path):
    """Training tables from the canonical events of every process (moved by the variation code), a short training,
    and an ONNX graph whose first output is the signal fraction (what the score rule reads), then fractions that sum
    to 1 and one log-ratio polynomial per process and shape NP; the processes, NPs and ranges in its metadata."""
    import json
    from pathlib import Path

    import torch

    from systlab.config import load_config_files
    from systlab.likelihood.unbinned_inputs import PROCESSES_KEY, SHAPE_BOUNDS_KEY, SHAPE_NPS_KEY
    from systlab.methods.onnx_io import OnnxScorer
    from systlab.methods.setup import method_options, model_training_tables, training_settings
    from systlab.methods.unbinned import train_unbinned

    torch.set_num_threads(1)
    root = Path(__file__).resolve().parents[1]
    overlay = tmp_path / "unbinned.yaml"
    overlay.write_text("methods: [baseline, unbinned]\nmethod_settings:\n  unbinned: {hidden: [16], epochs: 2, "
                       "yield_step: 1.5}\ngenerator_check: {methods: [], closure_models: [baseline]}\n"
                       "fair_protocol: {models: [baseline]}\n")  # fmt: skip
    cfg = load_config_files(root / "config" / "config.yaml", root / "config" / "tiny.yaml", overlay)
    counts = {"htautau": 6_000, "ztautau": 30_000, "ttbar": 6_000, "diboson": 3_000}
    events = {p: simulate_process(p, n, seed=i + 1, signal_boost=50.0 if p == "htautau" else 1.0)
              for i, (p, n) in enumerate(counts.items())}  # fmt: skip
    spec = cfg.model("unbinned")
    tables = model_training_tables(cfg, spec, events, 1)  # replica 1: bootstrapped
    data = tables["events"]
    assert data.processes == ("htautau", "ztautau", "ttbar", "diboson") and len(data.ranges) == len(cfg.shape_nps)
    assert any((e.counts != 1).any() for e in data.events)  # the replica's Poisson bootstrap of the train split
    trained = train_unbinned(tables, list(cfg.features), training_settings(cfg, 1), seed=3, out_dir=tmp_path,
                             **method_options(cfg, spec))  # fmt: skip
    scorer = OnnxScorer(trained.onnx_path)
    x, weight = data.at({}, list(cfg.features))
    rows = x[weight > 0][:500]
    score, fractions, coef = scorer.outputs(rows)
    np.testing.assert_array_equal(scorer.score(rows), score)
    np.testing.assert_allclose(score, fractions[:, 0], rtol=1e-6)
    np.testing.assert_allclose(fractions.sum(axis=1), 1.0, atol=1e-5)
    assert coef.shape == (500, 4, len(cfg.shape_nps), 4)
    assert json.loads(scorer.metadata[PROCESSES_KEY]) == list(data.processes)
    assert json.loads(scorer.metadata[SHAPE_NPS_KEY]) == [n.name for n in cfg.shape_nps]
    assert json.loads(scorer.metadata[SHAPE_BOUNDS_KEY]) == [list(r) for r in data.ranges]
