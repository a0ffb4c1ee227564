"""systlab.infer.pipeline: one entry point per inference stage for both model kinds — a fixed classifier through its
workspace, a parameterized one through its grid-profiled likelihood — giving what the infer functions give when
called directly, toys independent of the chunking, and the merged toys written as write_coverage writes them."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from systlab.atomic import write_json
from systlab.config import load_config
from systlab.infer import pipeline
from systlab.infer.fit import asimov_counts, fit_dataset, fit_result_payload
from systlab.infer.impacts import impacts, impacts_payload
from systlab.infer.limits import upper_limit_in_range, upper_limit_payload
from systlab.infer.significance import discovery_significance, significance_payload
from systlab.infer.toy_io import toy_chunk_from_payload, write_coverage
from systlab.infer.toys import merge_chunks
from systlab.likelihood.grid_inputs import build_grid_workspaces, grid_workspaces_payload
from systlab.likelihood.workspace import build_workspace, workspace_settings, write_workspace
from systlab.templates.histograms import build_templates, write_templates
from test_grid_toys import write_point_tables

ROOT = Path(__file__).resolve().parents[1]
N_TOYS, N_GRID_TOYS = 6, 3


def pipeline_config(**toys):
    """Signal + one background, TES grid (−1, 0, 1), a baseline (fixed) and an aware (parameterized) model."""
    m = copy.deepcopy(yaml.safe_load((ROOT / "config" / "config.yaml").read_text()))
    m["processes"] = {"signal": "htautau", "backgrounds": ["ztautau"]}
    m["simulate"]["events"] = {"htautau": 1000, "ztautau": 1000}
    m["systematics"] = {"shape": {"tes": {"nominal": 1.0, "sigma": 0.03, "grid": [-1, 0, 1]}},
                        "norm": {"sig_xsec": {"processes": ["htautau"], "sigma": 0.12}}, "lumi_sigma": 0.02}
    m["pseudo_data"] = {"nominal": {"mu": 1.0}, "above": {"mu": 1.0, "tes": 1.0}}
    m["methods"] = ["baseline", "aware"]
    m["method_settings"]["aware"] = {"leave_out": []}
    m["generator_check"] = {"methods": [], "closure_models": []}
    m["templates"] = {"bins": 3, "binning": "signal_quantiles"}
    m["fit"] = {"mu_range": [-2.0, 4.0], "scan_points": 7, "grid_interpolation": "quadratic", "grid_morph_step": 0.0}
    m["toys"] = {"n": N_TOYS, "grid_n": N_GRID_TOYS, "chunks": 2, **toys}
    return load_config(m)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, dict]:
    """The rule inputs of each model kind, as files: baseline's workspace + templates (binned from the grid's
    α = 0 table, whose samples include ±1σ TES and the truths), aware's grid workspaces + per-point scores."""
    cfg, tmp = pipeline_config(), tmp_path_factory.mktemp("pipeline")
    scores = write_point_tables(cfg, tmp)
    table = pd.read_parquet(scores[1])  # the α = 0 point
    score_paths = {}
    for (process, variation), rows in table.groupby(["process", "variation"]):
        score_paths[process, variation] = tmp / f"{process}_{variation}.parquet"
        rows.to_parquet(score_paths[process, variation], index=False)
    templates = build_templates(score_paths, cfg.bins, cfg.binning)
    write_templates(templates, tmp / "templates.json")
    write_workspace(build_workspace(templates, **workspace_settings(cfg)), tmp / "workspace.json")
    write_json(tmp / "workspaces.json", grid_workspaces_payload(build_grid_workspaces(cfg, "tes", scores)))
    return {"baseline": {"workspace": str(tmp / "workspace.json"), "templates": str(tmp / "templates.json")},
            "aware": {"workspaces": str(tmp / "workspaces.json"), "scores": [str(p) for p in scores]}}


def without_seconds(payload):
    """A payload without its wall-time fields (keys containing "seconds")."""
    if isinstance(payload, dict):
        return {k: without_seconds(v) for k, v in payload.items() if "seconds" not in k}
    return payload


def test_the_route_and_the_toy_counts_follow_the_model_kind():
    cfg = pipeline_config()
    assert not pipeline.is_parameterized(cfg, "baseline") and pipeline.is_parameterized(cfg, "aware")
    assert pipeline.toy_count(cfg, "baseline") == N_TOYS and pipeline.toy_count(cfg, "aware") == N_GRID_TOYS
    assert pipeline.toy_chunk_count(cfg, "baseline") == 2 == pipeline.toy_chunk_count(cfg, "aware")
    few = dataclasses.replace(cfg, n_grid_toys=1)  # toys.chunks is checked against toys.n only
    assert pipeline.toy_chunk_count(few, "aware") == 1 and pipeline.toy_chunk_count(few, "baseline") == 2


def test_fit_all_fits_a_fixed_classifier_through_its_workspace(inputs):
    cfg = pipeline_config()
    datasets = ["asimov", "truth_above", "expected_above"]
    payloads = pipeline.fit_all(cfg, "baseline", inputs["baseline"], datasets)
    assert list(payloads) == datasets and not any("grid" in p for p in payloads.values())
    spec = json.loads(Path(inputs["baseline"]["workspace"]).read_text())
    direct = fit_dataset(spec, asimov_counts(spec), cfg.mu_range, cfg.scan_points, "asimov")
    assert payloads["asimov"] == fit_result_payload(direct)
    assert payloads["asimov"]["mu_hat"] == pytest.approx(1.0, abs=1e-3)
    assert payloads["expected_above"]["pulls"]["tes"]["value"] > 0.3  # the truth at TES +1σ pulls TES up
    assert payloads["truth_above"]["mu_hat"] != payloads["expected_above"]["mu_hat"]  # a Poisson draw


def test_fit_all_fits_a_parameterized_classifier_through_its_grid(inputs):
    payloads = pipeline.fit_all(pipeline_config(), "aware", inputs["aware"], ["asimov", "truth_nominal"])
    assert list(payloads) == ["asimov", "truth_nominal"]
    asimov = payloads["asimov"]
    assert asimov["grid"]["np"] == "tes" and asimov["converged"]
    assert asimov["mu_hat"] == pytest.approx(1.0, abs=0.05)
    assert abs(asimov["grid"]["alpha_hat"]) < 0.2 and asimov["grid"]["surface"]  # Asimov: α̂ ≈ 0, surface kept
    assert payloads["truth_nominal"]["grid"]["surface"] is None  # pseudo-data: no surface
    other = pipeline.fit_all(pipeline_config(), "aware", inputs["aware"], ["asimov"], surface=False)["asimov"]
    assert other["grid"]["surface"] is None and other["interval_68"] == asimov["interval_68"]  # a later replica


@pytest.mark.parametrize("model", ["baseline", "aware"])
def test_toy_chunks_merge_to_the_unchunked_study_as_write_coverage_writes_it(inputs, model, tmp_path):
    chunked, whole = pipeline_config(), pipeline_config(chunks=1)
    chunks = [pipeline.toy_chunk(chunked, model, "r0", inputs[model], k) for k in range(2)]
    one = pipeline.toy_chunk(whole, model, "r0", inputs[model], 0)
    n = pipeline.toy_count(chunked, model)
    (a, b), (c, d) = [(c["held_out"]["start"], c["held_out"]["stop"]) for c in chunks]
    assert a == 0 < b == c < d == n  # two contiguous chunks of every toy
    merged = pipeline.merge_toys([(f"chunk{k}.json", c) for k, c in enumerate(chunks)])
    assert without_seconds(merged) == without_seconds(pipeline.merge_toys([("chunk0.json", one)]))
    assert merged["n_toys"] == n and merged["model"]["n_toys"] == n
    # the file rule toys writes: write_coverage's, with the grid extras of a parameterized model
    results = {name: merge_chunks([toy_chunk_from_payload(c[name], "chunk") for c in chunks])
               for name in ("held_out", "model")}  # fmt: skip
    grid = merged.get("grid")
    write_coverage(results["held_out"], tmp_path / "coverage.json", model=results["model"], grid=grid)
    write_json(tmp_path / "merged.json", merged)
    assert (tmp_path / "merged.json").read_bytes() == (tmp_path / "coverage.json").read_bytes()
    if model == "aware":
        n_fits = np.concatenate([c["held_out"]["n_fits"] for c in chunks])
        assert grid["np"] == "tes" and grid["n_fits_mean"] == float(n_fits.mean()) and grid["alphas"] == [-1, 0, 1]
    else:
        assert grid is None


def test_inference_all_of_a_fixed_classifier_is_the_direct_calls_on_its_asimov_data(inputs):
    cfg = pipeline_config()
    payloads = pipeline.inference_all(cfg, "baseline", inputs["baseline"])
    spec = json.loads(Path(inputs["baseline"]["workspace"]).read_text())
    asimov, high = asimov_counts(spec), max(cfg.mu_range[1], 2.0)
    assert payloads == {
        "limit": upper_limit_payload(upper_limit_in_range(spec, asimov, high, max_high=64.0 * high)),
        "significance": significance_payload(discovery_significance(spec, asimov, (0.0, high))),
        "impacts": impacts_payload(impacts(spec, asimov, cfg.mu_range)),
    }


def test_inference_all_of_a_parameterized_classifier_goes_through_its_grid(inputs):
    payloads = pipeline.inference_all(pipeline_config(), "aware", inputs["aware"])
    limit, significance, result = payloads["limit"], payloads["significance"], payloads["impacts"]
    bands = [limit["expected"][k] for k in ("-2", "-1", "0", "+1", "+2")]
    assert bands == sorted(bands) and limit["observed"] > limit["expected"]["0"]  # the Asimov data hold μ = 1
    assert significance["z0"] == pytest.approx(significance["z0_expected"], rel=1e-3) and significance["z0"] > 0
    names = [r["name"] for r in result["ranking"]]
    assert "tes" in names and not any(n.startswith("staterror") for n in names)  # no per-bin MC stat in the grid
