"""The aware interpolation check: training without a grid point's neighbourhood, AUC per TES point, the figure."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from systlab.config import ConfigError, ModelSpec, ShapeNP, load_config
from systlab.methods import METHODS
from systlab.methods.aware import alpha_column
from systlab.methods.data import Draw, method_draws, nearest_cell, training_tables
from systlab.methods.loop import TrainingSettings
from systlab.methods.onnx_io import OnnxScorer
from systlab.methods.setup import model_training_tables
from systlab.samples.simulate import simulate_process
from systlab.samples.vary import Variation, apply_variation, finish_sample, soft_met_draws
from systlab.studies.interpolation_check import auc_at, check_payload, gap_summary, minus_reference, model_curve
from systlab.studies.metrics import weighted_auc
from systlab.studies.result_files import model_files, payloads_by_model
from systlab.templates.score import score_sample
from systlab.visualize.interpolation import plot_interpolation
from systlab.visualize.style import save_figure

ALPHA = alpha_column("tes")

ROOT = Path(__file__).resolve().parents[1]
FRACTIONS = {"train": 0.35, "validation": 0.15, "template": 0.3, "toy": 0.2}
FEATURES = ["PRI_tau_pt", "PRI_lep_pt", "PRI_met", "DER_mass_vis", "DER_mass_transverse_met_lep", "DER_pt_h"]
SHAPE_NPS = (ShapeNP("tes", 1.0, 0.10, False, (-2.0, -1.0, 0.0, 1.0, 2.0)),)


def _default() -> dict:
    return yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def test_uniform_draw_with_a_gap_never_lands_in_it_and_is_flat_elsewhere():
    x = Draw("uniform", -3.0, 3.0, (0.75, 1.5)).sample(200_000, np.random.default_rng(1))
    assert x.min() >= -3.0 and x.max() <= 3.0 and not ((x > 0.75) & (x < 1.5)).any()
    counts, _ = np.histogram(x, bins=[-3.0, -0.75, 0.75, 1.5, 3.0])
    density = counts / np.array([2.25, 1.5, 0.75, 1.5])
    assert density[2] == 0 and np.allclose(density[[0, 1, 3]] / density[0], 1.0, atol=0.02)
    with pytest.raises(ValueError, match="proper sub-interval"):
        Draw("uniform", 0.0, 1.0, (0.5, 2.0))


def test_left_out_cell_is_the_neighbourhood_nearer_to_the_point():
    assert nearest_cell([-3, -2, -1, -0.5, 0, 0.5, 1, 2, 3], 1.0) == (0.75, 1.5)
    assert nearest_cell([-1, 0, 1], 0.0) == (-0.5, 0.5)
    assert nearest_cell([-1, 0, 1], None) is None
    with pytest.raises(ValueError, match="not an interior point"):
        nearest_cell([-1, 0, 1], 1.0)
    draw = method_draws("aware", SHAPE_NPS, "tes", left_out=1.0)["tes"]
    assert (draw.low, draw.high, draw.gap) == (-2.0, 2.0, (0.5, 1.5))


def test_config_names_the_left_out_models_and_rejects_edge_points():
    cfg = load_config(_default())
    spec = cfg.model("aware_without_tes_+1sd")
    assert (spec.method, spec.left_out) == ("aware", 1.0)
    assert [m.name for m in cfg.interpolation_models()] == ["aware_without_tes_+1sd"]
    raw = _default()
    raw["method_settings"]["aware"] = {"leave_out": [3.0]}
    with pytest.raises(ConfigError, match="field 'method_settings.aware.leave_out'.*interior"):
        load_config(raw)
    raw["method_settings"]["aware"] = {"leave_out": [0.25]}
    with pytest.raises(ConfigError, match="field 'method_settings.aware.leave_out'"):
        load_config(raw)


def test_left_out_training_tables_have_no_tes_in_the_cell():
    events = {"htautau": simulate_process("htautau", 3_000, seed=1),
              "ztautau": simulate_process("ztautau", 6_000, seed=2)}  # fmt: skip
    cfg = load_config({**_default(), "processes": {"signal": "htautau", "backgrounds": ["ztautau"]},
                       "systematics": {**_default()["systematics"], "norm": {}}})  # fmt: skip
    tables = model_training_tables(cfg, cfg.model("aware_without_tes_+1sd"), events, replica=0)
    z = np.concatenate([t["z_tes"].to_numpy() for t in tables.values()])
    assert not ((z > 0.75) & (z < 1.5)).any() and z.min() < -2.5 and z.max() > 2.5


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Baseline and aware trained quickly, and template samples at TES -1, 0, +1 sigma (10%) on disk."""
    torch.set_num_threads(1)
    tmp = tmp_path_factory.mktemp("interp")
    events = {"htautau": simulate_process("htautau", 8_000, seed=1, signal_boost=50.0),
              "ztautau": simulate_process("ztautau", 30_000, seed=2)}  # fmt: skip
    quick = TrainingSettings(hidden=(16,), epochs=3, batch_size=512, learning_rate=3e-3, patience=3)
    models = {}
    for method in ("baseline", "aware"):
        tables = training_tables(events, "htautau", SHAPE_NPS, method_draws(method, SHAPE_NPS, "tes"), seed=5,
                                 split_seed=11, fractions=FRACTIONS, soft_seed=12)  # fmt: skip
        options = {"nuisance": "tes"} if method == "aware" else {}
        models[method] = METHODS[method](tables, FEATURES, quick, seed=3, out_dir=tmp / method, **options).onnx_path
    samples = {}
    for k in (-1.0, 0.0, 1.0):
        samples[k] = []
        for process, label in (("htautau", 1), ("ztautau", 0)):
            table = apply_variation(events[process], Variation("x", {"tes": SHAPE_NPS[0].at(k)}),
                                    soft_met_draws(len(events[process]), 12))  # fmt: skip
            path = tmp / f"{process}_{k:+g}.parquet"
            finish_sample(table, label, 11, FRACTIONS).to_parquet(path)
            samples[k].append(path)
    return models, samples, tmp


def test_auc_at_a_point_is_the_weighted_auc_of_the_template_split(trained):
    models, samples, tmp = trained
    scored = []
    for path in samples[1.0]:
        score_sample(models["aware"], path, tmp / "scored.parquet", parameters={ALPHA: 1.0})
        scored.append(pd.read_parquet(tmp / "scored.parquet").query("split == 2"))
    table = pd.concat(scored)
    want = weighted_auc(table["score"].to_numpy(), table["label"].to_numpy(), table["weight"].to_numpy())
    assert auc_at(OnnxScorer(models["aware"]), samples[1.0], "tes", 1.0) == pytest.approx(want, abs=1e-12)
    assert 0.6 < want < 1.0


def test_model_curve_and_gap_summary(trained):
    models, samples, _ = trained
    curves = {m: {"method": m, "left_out": None, **model_curve({"r0": p, "r1": p}, samples, "tes")}
              for m, p in models.items()}  # fmt: skip
    assert curves["aware"]["points"] == [-1.0, 0.0, 1.0] and curves["aware"]["std"] == [0.0, 0.0, 0.0]
    oracle = {"method": "oracle", "left_out": None, **model_curve({"r0": models["baseline"]}, samples, "tes", [0.0])}
    assert oracle["points"] == [0.0] and len(oracle["auc"]["r0"]) == 1
    curves["oracle_tes_0sd"] = oracle
    curves["aware_without_tes_0sd"] = {**curves["aware"], "left_out": 0.0}
    summary = gap_summary(curves, {"aware_without_tes_0sd": 0.0})["aware_without_tes_0sd"]
    assert summary["auc"] == summary["aware"] == curves["aware"]["mean"][1]
    assert summary["oracle"] == summary["baseline"] == oracle["mean"][0]
    diff = minus_reference(curves["baseline"], curves["aware"])
    want = [curves["baseline"]["auc"]["r0"][i] - curves["aware"]["auc"]["r0"][i] for i in range(3)]
    assert diff == {"mean": pytest.approx(want), "std": [0.0, 0.0, 0.0]}
    oracle_diff = minus_reference(oracle, curves["aware"])["mean"]
    assert oracle_diff == pytest.approx([oracle["mean"][0] - curves["aware"]["mean"][1]])


def test_check_payload_judges_oracles_at_their_point_and_pairs_replicas(trained):
    models, samples, _ = trained
    onnx = {"baseline": {"r0": models["baseline"]}, "aware": {"r0": models["aware"], "r1": models["aware"]},
            "aware_without_tes_0sd": {"r0": models["aware"], "r1": models["aware"]},
            "oracle_tes_+1sd": {"r0": models["baseline"]}, "oracle_tes_+5sd": {"r0": models["baseline"]}}  # fmt: skip
    specs = {"baseline": ModelSpec("baseline", "baseline", "tes"), "aware": ModelSpec("aware", "aware", "tes"),
             "aware_without_tes_0sd": ModelSpec("aware_without_tes_0sd", "aware", "tes", left_out=0.0),
             "oracle_tes_+1sd": ModelSpec("oracle_tes_+1sd", "oracle", "tes", point=1.0),
             "oracle_tes_+5sd": ModelSpec("oracle_tes_+5sd", "oracle", "tes", point=5.0)}  # fmt: skip
    payload = check_payload(onnx, specs, samples)
    curves = payload["curves"]
    assert payload["points"] == [-1.0, 0.0, 1.0] and "oracle_tes_+5sd" not in curves  # off the grid: not judged
    assert curves["oracle_tes_+1sd"]["points"] == [1.0]
    assert curves["oracle_tes_+1sd"]["mean"][0] == pytest.approx(curves["baseline"]["mean"][2])  # same network
    assert curves["aware_without_tes_0sd"]["minus_aware"] == {"mean": [0.0] * 3, "std": [0.0] * 3}
    assert list(payload["left_out"]) == ["aware_without_tes_0sd"]
    assert payload["left_out"]["aware_without_tes_0sd"]["oracle"] is None  # no oracle trained at 0 here


def test_model_files_groups_paths_by_model_and_replica():
    paths = ["results/models/aware/r0/model.onnx", "results/models/aware/r1/model.onnx", "x/models/base/r0/model.onnx"]
    assert model_files(paths) == {"aware": {"r0": paths[0], "r1": paths[1]}, "base": {"r0": paths[2]}}


def test_figure_draws_curves_oracle_and_band(trained, tmp_path):
    models, samples, _ = trained
    curves = {m: {"method": m, "left_out": None, **model_curve({"r0": p}, samples, "tes")} for m, p in models.items()}
    curves["aware_without_tes_0sd"] = {**curves["aware"], "method": "aware", "left_out": 0.0}
    for curve in curves.values():
        curve["minus_aware"] = minus_reference(curve, curves["aware"])
    curves["oracle_tes_+1sd"] = {"method": "oracle", "left_out": None,
                                 **model_curve({"r0": models["aware"]}, samples, "tes", [1.0])}  # fmt: skip
    fig = plot_interpolation({"curves": curves}, [-1.0, 0.0, 1.0], lumi_fb=10.0, np_name="tes")
    save_figure(fig, tmp_path / "aware_interpolation.pdf", "test")
    assert (tmp_path / "aware_interpolation.pdf").stat().st_size > 5000


def test_payloads_by_model_groups_replicas_and_names_a_file_without_model(tmp_path):
    paths = []
    for i, model in enumerate(("base", "aware", "base")):
        paths.append(tmp_path / f"{i}.json")
        paths[-1].write_text(json.dumps({"model": model, "replica": f"r{i}"}))
    grouped = payloads_by_model(paths)
    assert list(grouped) == ["base", "aware"] and [p["replica"] for p in grouped["base"]] == ["r0", "r2"]
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ValueError, match="bad.json.*'model'"):
        payloads_by_model([tmp_path / "bad.json"])
