"""JES granularity: per-jet JES factors, one NP per jet-pT bin vs the coherent NP, the figure."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pandas as pd
import pytest
import torch

from systlab.methods import METHODS
from systlab.methods.loop import TrainingSettings
from systlab.methods.onnx_io import OnnxScorer
from systlab.samples.simulate import process_seed, simulate_process
from systlab.samples.vary import PerEventVariation, Variation, apply_variation, finish_sample, soft_met_draws
from systlab.studies.jes_granularity import (
    bin_labels,
    bin_np_names,
    binned_jes_score_tables,
    per_jet_factor,
    scheme_workspace,
    study,
)
from systlab.studies.sensitivity import Truth, make_templates
from systlab.templates.histograms import shape_variation
from systlab.templates.score import SCORED_SPLITS, scored_table
from systlab.visualize.jes_granularity import plot_jes_granularity
from systlab.visualize.style import save_figure

FRACTIONS = {"train": 0.35, "validation": 0.15, "template": 0.3, "toy": 0.2}
FEATURES = ["PRI_tau_pt", "PRI_lep_pt", "PRI_met", "DER_mass_vis", "PRI_jet_num", "PRI_jet_all_pt", "DER_pt_h"]


@pytest.fixture(scope="module")
def events():
    return {"htautau": simulate_process("htautau", 6_000, seed=1, signal_boost=50.0),
            "ztautau": simulate_process("ztautau", 20_000, seed=2)}  # fmt: skip


def test_bins_names_and_labels():
    assert bin_np_names([50, 100]) == ["jes_pt0", "jes_pt50", "jes_pt100"]
    assert bin_labels([50, 100]) == ["< 50", "50–100", "≥ 100"]
    with pytest.raises(ValueError, match="jes_bins"):
        bin_np_names([100, 50])
    jets = ak.Array([[120.0, 60.0, 21.0], [], [49.9]])
    assert per_jet_factor(jets, [50, 100], 1, 1.1).tolist() == [[1.0, 1.1, 1.0], [], [1.0]]
    assert per_jet_factor(jets, [50, 100], 0, 1.1).tolist() == [[1.0, 1.0, 1.1], [], [1.1]]  # below the jet cut too


def test_per_jet_jes_equal_to_one_factor_is_the_coherent_variation(events):
    ttbar = simulate_process("ttbar", 10_000, seed=3)
    draws = soft_met_draws(len(ttbar), 1)
    coherent = apply_variation(ttbar, Variation("x", {"jes": 1.03}), draws)
    per_jet = apply_variation(ttbar, PerEventVariation("y", {"jes": ak.ones_like(ttbar.jet_pt) * 1.03}), draws)
    pd.testing.assert_frame_equal(coherent, per_jet, check_exact=False, rtol=1e-5, atol=1e-4)
    only_high = apply_variation(ttbar, PerEventVariation("z", {"jes": per_jet_factor(ttbar.jet_pt, [60], 1, 1.03)}),
                                draws)  # fmt: skip
    low_jet_events = only_high["PRI_jet_leading_pt"].between(30, 55)  # leading jet below 60 GeV: untouched
    nominal = apply_variation(ttbar, Variation("n"), draws).set_index("event_id")
    ids = only_high.loc[low_jet_events, "event_id"]
    np.testing.assert_allclose(only_high.set_index("event_id").loc[ids, "PRI_jet_leading_pt"],
                               nominal.loc[ids, "PRI_jet_leading_pt"], rtol=1e-6)  # fmt: skip


def _templates(events, boundaries, tmp_path):
    torch.set_num_threads(1)
    quick = TrainingSettings(hidden=(16,), epochs=2, batch_size=512, learning_rate=3e-3, patience=2)
    tables = {}
    for process, table in events.items():
        soft = soft_met_draws(len(table), process_seed(12, process))
        for name, jes in (("nominal", 1.0), (shape_variation("jes", 1), 1.02), (shape_variation("jes", -1), 0.98)):
            varied = apply_variation(table, Variation(name, {"jes": jes}), soft)
            tables[(process, name)] = finish_sample(varied, int(process == "htautau"), 11, FRACTIONS)
    train = {p: t.loc[t["split"].isin([0, 1])] for (p, v), t in tables.items() if v == "nominal"}
    scorer = OnnxScorer(METHODS["baseline"](train, FEATURES, quick, 3, tmp_path).onnx_path)
    scored = {k: scored_table(t := s[s["split"].isin(SCORED_SPLITS)].reset_index(drop=True), scorer.score_table(t))
              for k, s in tables.items()}  # fmt: skip
    scored |= binned_jes_score_tables(scorer, events, "htautau", 0.02, boundaries, 11, FRACTIONS)
    inner = np.quantile(scored[("ztautau", "nominal")]["score"], [0.25, 0.5, 0.75])
    return make_templates(scored, np.r_[0.0, inner, 1.0])


def test_one_bin_holding_every_jet_reproduces_the_coherent_np(events, tmp_path):
    templates = _templates(events, [1e6], tmp_path)  # bin 0 holds every jet, bin 1 none
    workspace = {"signal": "htautau", "backgrounds": ["ztautau"], "shape_nps": {"jes": False}, "norm_nps": {},
                 "lumi_sigma": 0.02}  # fmt: skip
    assert scheme_workspace(workspace, "per_pt_bin", [1e6])["shape_nps"] == {"jes_pt0": False, "jes_pt1e+06": False}
    result = study(templates, workspace, [1e6], [Truth("nominal", 1.0, "nominal")], (-3.0, 5.0), 13)
    coherent, binned = result["coherent"]["asimov"], result["per_pt_bin"]["asimov"]
    assert binned["width"] == pytest.approx(coherent["width"], rel=1e-4)
    assert binned["jes_constraints"]["jes_pt0"] == pytest.approx(coherent["jes_constraints"]["jes"], rel=1e-3)
    assert binned["jes_constraints"]["jes_pt1e+06"] == pytest.approx(1.0, abs=1e-3)  # an NP that moves nothing
    assert result["per_pt_bin"]["expected_nominal"]["bias"] == pytest.approx(
        result["coherent"]["expected_nominal"]["bias"], abs=1e-3)  # fmt: skip


def test_figure(events, tmp_path):
    templates = _templates(events, [60], tmp_path)
    workspace = {"signal": "htautau", "backgrounds": ["ztautau"], "shape_nps": {"jes": False}, "norm_nps": {},
                 "lumi_sigma": 0.02}  # fmt: skip
    result = study(templates, workspace, [60], [], (-3.0, 5.0), 13)
    assert set(result["per_pt_bin"]["asimov"]["jes_constraints"]) == {"jes_pt0", "jes_pt60"}
    payload = {"model": "baseline", "replica": "r0", "jes_bins": [60], "results": result}
    save_figure(plot_jes_granularity({"baseline": [payload, payload]}, lumi_fb=10.0), tmp_path / "j.pdf", "test")
    assert (tmp_path / "j.pdf").stat().st_size > 5000
