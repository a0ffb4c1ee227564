"""The FAIR-Universe protocol (:mod:`systlab.infer.fair_protocol`): its draws (μ of a set, NP truths from either prior
setting, the same PEs from the same seed, the bootstrap), the pseudo-data (the held-out events are the nominal sample's
toy split, the drawn shape NPs move their features), the observed-counts path of both fit engines against the
one-dataset fits, and the summary table (:mod:`systlab.studies.fair_summary`).

The models are real: events simulated and varied by systlab, a fixed linear classifier and a parameterized one
(its TES parameter a score offset) exported to ONNX, scored, binned and built into a workspace and grid workspaces by
the same functions as the workflow.
"""

from __future__ import annotations

import copy
import inspect
import json
import re
from pathlib import Path

import awkward as ak
import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from systlab.config import ConfigError, load_config
from systlab.events import SPLITS
from systlab.infer import fair_protocol as fp
from systlab.infer.fair_settings import Settings
from systlab.infer.fit import profile_interval
from systlab.infer.grid_fit import TOY_INTERPOLATION
from systlab.infer.grid_interval import grid_interval
from systlab.infer.toys import fair_score
from systlab.likelihood.binned import Likelihood
from systlab.likelihood.grid import GridLikelihood
from systlab.likelihood.grid_alpha import alpha_profile
from systlab.likelihood.grid_inputs import (
    build_grid_workspaces,
    grid_morph,
    grid_points,
    point_samples,
    score_grid_point,
)
from systlab.likelihood.workspace import build_workspace, workspace_settings
from systlab.methods.onnx_io import OnnxScorer, export_onnx
from systlab.samples.simulate import process_seed, simulate_process
from systlab.samples.vary import vary_process
from systlab.studies.fair_summary import COLUMNS, binomial_se, fair_protocol_markdown, fair_protocol_table
from systlab.studies.summary import build_summary, write_summary
from systlab.templates.histograms import build_templates, write_templates
from systlab.templates.score import score_sample

ROOT = Path(__file__).resolve().parents[1]
EVENTS = {"htautau": 4000, "ztautau": 8000, "ttbar": 3000}
FEATURES = ("PRI_tau_pt", "DER_mass_vis", "PRI_met", "DER_mass_transverse_met_lep")
WEIGHTS = (0.04, 0.03, -0.02, -0.03)  # score = sigmoid(w . x + b (+ 0.3 alpha_tes)): a crude H-vs-Z separation
BIAS = -(0.04 * 40 + 0.03 * 70 - 0.02 * 25 - 0.03 * 40)


def protocol_config(**fair):
    """Three processes, TES (grid −1, 0, 1), JES, one-sided soft MET, a ttbar normsys and lumi; baseline and aware."""
    m = copy.deepcopy(yaml.safe_load((ROOT / "config" / "config.yaml").read_text()))
    m["processes"] = {"signal": "htautau", "backgrounds": ["ztautau", "ttbar"]}
    m["simulate"].update(events=dict(EVENTS), luminosity_fb=0.1, signal_boost=200.0)
    m["systematics"] = {"shape": {"tes": {"nominal": 1.0, "sigma": 0.03, "grid": [-1, 0, 1]},
                                  "jes": {"nominal": 1.0, "sigma": 0.01},
                                  "soft_met": {"nominal": 0.0, "sigma": 3.0, "one_sided": True}},
                        "norm": {"ttbar_xsec": {"processes": ["ttbar"], "sigma": 0.02}},
                        "lumi_sigma": 0.02}  # fmt: skip
    m["pseudo_data"] = {"nominal": {"mu": 1.0}}
    m["methods"] = ["baseline", "aware"]
    m["method_settings"]["aware"] = {"leave_out": []}
    m["generator_check"] = {"methods": [], "closure_models": []}
    m["templates"] = {"bins": 4, "binning": "signal_quantiles"}
    m["fit"] = {"mu_range": [-2.0, 5.0], "scan_points": 7, "grid_interpolation": "quadratic", "grid_morph_step": 0.0}
    m["fair_protocol"] = {"sets": 2, "pseudo_experiments": 3, **fair}
    return load_config(m)


def linear_model(parameterized: bool) -> torch.nn.Module:
    n = len(FEATURES) + parameterized
    layer = torch.nn.Linear(n, 1)
    with torch.no_grad():
        layer.weight[:] = torch.tensor([[*WEIGHTS, *((0.3,) if parameterized else ())]])
        layer.bias[:] = BIAS
    return torch.nn.Sequential(layer, torch.nn.Sigmoid())


@pytest.fixture(scope="module")
def analysis(tmp_path_factory):
    """(config, canonical event paths, sample paths, fixed-model inputs, parameterized-model inputs)."""
    cfg, tmp = protocol_config(), tmp_path_factory.mktemp("fair_protocol")
    canonical, samples = {}, {}
    for process, n in EVENTS.items():
        canonical[process] = tmp / "events" / f"{process}.parquet"
        canonical[process].parent.mkdir(exist_ok=True)
        ak.to_parquet(simulate_process(process, n, process_seed(cfg.seed, process), cfg.luminosity_fb,
                                       cfg.signal_boost if process == cfg.signal else 1.0), canonical[process])
        paths = {v.name: tmp / "samples" / process / f"{v.name}.parquet" for v in cfg.variations()}
        paths[next(iter(paths))].parent.mkdir(parents=True, exist_ok=True)
        vary_process(canonical[process], list(cfg.variations()), paths, int(process == cfg.signal), cfg.seed,
                     cfg.splits, process_seed(cfg.seed + 1, process))  # fmt: skip
        samples.update({(process, v): p for v, p in paths.items()})
    fixed_onnx = export_onnx(linear_model(False), FEATURES, tmp / "baseline.onnx", {})
    scores = {}
    for (process, variation), path in samples.items():
        scores[process, variation] = tmp / "scores" / process / f"{variation}.parquet"
        scores[process, variation].parent.mkdir(parents=True, exist_ok=True)
        score_sample(fixed_onnx, path, scores[process, variation])
    templates = build_templates(scores, cfg.bins, cfg.binning)
    write_templates(templates, tmp / "templates.json")
    (tmp / "workspace.json").write_text(json.dumps(build_workspace(templates, **workspace_settings(cfg))))
    aware_onnx = export_onnx(linear_model(True), (*FEATURES, "alpha_tes"), tmp / "aware.onnx",
                             {"parameters": ["alpha_tes"]})  # fmt: skip
    point_scores = []
    for point in grid_points(cfg, "tes"):
        wanted = {(p, v): samples[p, v] for p in EVENTS for v in point_samples(cfg, "tes", point)}
        point_scores.append(tmp / "grid" / f"{point.label}.parquet")
        point_scores[-1].parent.mkdir(exist_ok=True)
        score_grid_point(aware_onnx, wanted, "alpha_tes", point.alpha, point_scores[-1])
    grid = build_grid_workspaces(cfg, "tes", point_scores)
    from systlab.atomic import write_json
    from systlab.likelihood.grid_inputs import grid_workspaces_payload

    write_json(tmp / "workspaces.json", grid_workspaces_payload(grid))
    events = [str(canonical[p]) for p in EVENTS]
    fixed = {"model": str(fixed_onnx), "events": events, "workspace": str(tmp / "workspace.json"),
             "templates": str(tmp / "templates.json")}  # fmt: skip
    aware = {"model": str(aware_onnx), "events": events, "workspaces": str(tmp / "workspaces.json"),
             "scores": [str(p) for p in point_scores]}  # fmt: skip
    return cfg, canonical, samples, fixed, aware


# ---- the draws ---------------------------------------------------------------------------------------------------
def test_the_sets_mu_is_uniform_in_the_range_and_shared_by_its_pseudo_experiments():
    cfg = protocol_config(sets=200, pseudo_experiments=2, mu_range=[0.1, 3.0])
    pes = fp.pseudo_experiments(cfg, cfg.fair_protocol, "challenge", 7)
    mus = np.array([pe.mu for pe in pes]).reshape(200, 2)
    assert np.all(mus[:, 0] == mus[:, 1]) and [pe.set_index for pe in pes[:4]] == [0, 0, 1, 1]
    assert mus.min() >= 0.1 and mus.max() <= 3.0
    assert mus[:, 0].mean() == pytest.approx(1.55, abs=4 * 2.9 / np.sqrt(12 * 200))
    assert mus.min() < 0.3 and mus.max() > 2.8
    few = fp.set_mus(protocol_config(sets=4, pseudo_experiments=1).fair_protocol, 7)  # stratified: one per quarter
    assert np.array_equal(np.floor((few - 0.1) / (2.9 / 4)), np.arange(4))


def test_challenge_priors_are_higgsml_0_1_5s_own():
    """The table of distributions and clips is the one in HiggsML's generate_pseudo_exp_data (its source parsed)."""
    systematics = pytest.importorskip("HiggsML.systematics")
    source = inspect.getsource(systematics.generate_pseudo_exp_data)
    found = re.findall(r'dict_systematics\["(\w+)"\]:\s+\w+ = np\.clip\(\s*random_state\.(\w+)\((?:loc|mean)=([\d.]+), '
                       r'(?:scale|sigma)=([\d.]+)\),\s*a_min=([\d.]+), a_max=([\d.]+)\s*\)', source)  # fmt: skip
    parsed = {name: (dist, *map(float, numbers)) for name, dist, *numbers in found}
    assert parsed == fp.CHALLENGE_PRIORS
    assert list(parsed) == list(fp.CHALLENGE_PRIORS)  # drawn in this order


def test_challenge_draws_follow_those_priors_and_scale_the_processes_as_the_bootstrap_does():
    cfg = protocol_config(sets=1, pseudo_experiments=3000)
    pes = fp.pseudo_experiments(cfg, cfg.fair_protocol, "challenge", 11)
    tes, jes, soft = (np.array([pe.shape[k] for pe in pes]) for k in ("tes", "jes", "soft_met"))
    for x in (tes, jes):
        assert x.min() >= 0.99 and x.max() <= 1.01
        assert x.mean() == pytest.approx(1.0, abs=4e-3 / np.sqrt(3000))
        assert x.std() == pytest.approx(1e-3, rel=0.06)
    assert soft.min() >= 0.0 and soft.max() == 5.0  # clipped
    assert np.median(soft) == pytest.approx(1.0, rel=0.08)  # LogNormal(0, 1): median e^0
    assert np.mean(soft == 5.0) == pytest.approx(0.0538, abs=0.015)  # P(Z > ln 5)
    scale = {p: np.array([pe.scale[p] for pe in pes]) for p in cfg.processes}
    assert np.all(scale["htautau"] == 1.0)  # μ scales the signal
    assert scale["ztautau"].std() == pytest.approx(1e-3, rel=0.06)  # the background scale alone
    assert scale["ttbar"].std() == pytest.approx(np.hypot(0.02, 1e-3), rel=0.06)  # ttbar × background scale
    sigma = fp.shifts_in_sigma(cfg, pes[0].shape)
    assert sigma["tes"] == pytest.approx((tes[0] - 1.0) / 0.03) and sigma["soft_met"] == pytest.approx(soft[0] / 3.0)


def test_systlab_draws_follow_the_configs_priors():
    cfg = protocol_config(sets=1, pseudo_experiments=3000)
    pes = fp.pseudo_experiments(cfg, cfg.fair_protocol, "systlab", 11)
    shifts = [fp.shifts_in_sigma(cfg, pe.shape) for pe in pes]
    for name in ("tes", "jes"):
        z = np.array([s[name] for s in shifts])
        assert abs(z.mean()) < 4 / np.sqrt(3000) and z.std() == pytest.approx(1.0, rel=0.06)
    soft = np.array([s["soft_met"] for s in shifts])  # one-sided: the width |value|, half-normal in σ units
    assert soft.min() >= 0 and soft.mean() == pytest.approx(np.sqrt(2 / np.pi), rel=0.06)
    lumi = np.array([pe.scale["ztautau"] for pe in pes])
    assert lumi.mean() == pytest.approx(1.0, abs=4 * 0.02 / np.sqrt(3000))
    assert lumi.std() == pytest.approx(0.02, rel=0.06)
    ttbar = np.log(np.array([pe.scale["ttbar"] for pe in pes]) / lumi)  # normsys (1 ± 0.02)^|α|
    assert ttbar.std() == pytest.approx(np.log(1.02), rel=0.06)
    assert np.array_equal([pe.mu for pe in pes], [pe.mu for pe in fp.pseudo_experiments(
        cfg, cfg.fair_protocol, "challenge", 11)])  # both settings: the same sets  # fmt: skip


def test_the_same_seed_gives_the_same_pseudo_experiments(analysis):
    cfg, *_ = analysis
    held = fp.held_out_events(cfg, analysis[1])
    again = fp.pseudo_experiments(cfg, cfg.fair_protocol, "systlab", 5)
    assert again == fp.pseudo_experiments(cfg, cfg.fair_protocol, "systlab", 5)
    assert again != fp.pseudo_experiments(cfg, cfg.fair_protocol, "systlab", 6)
    pd.testing.assert_frame_equal(fp.pe_events(held, again[1]), fp.pe_events(held, again[1]))
    assert not fp.pe_events(held, again[1]).equals(fp.pe_events(held, again[2]))


def test_bootstrap_multiplicities_have_mean_scale_times_weight():
    rng = np.random.default_rng(3)
    weight = rng.uniform(0.05, 3.0, 40)
    draws = np.array([fp.bootstrap_multiplicities(weight, 1.7, rng) for _ in range(20000)])
    assert draws.dtype.kind == "i" and draws.min() >= 0
    se = np.sqrt(1.7 * weight / 20000)
    assert np.all(np.abs(draws.mean(axis=0) - 1.7 * weight) < 4.5 * se)
    assert draws.var(axis=0) == pytest.approx(1.7 * weight, rel=0.1)  # Poisson


# ---- the pseudo-data -----------------------------------------------------------------------------------------------
def nominal_pe(cfg, stream=(1, 2, 3)) -> fp.PseudoExperiment:
    return fp.PseudoExperiment(0, 0, 1.0, {"tes": 1.0, "jes": 1.0, "soft_met": 0.0}, dict.fromkeys(cfg.processes, 1.0),
                               stream)  # fmt: skip


def test_the_held_out_events_at_nominal_are_the_nominal_samples_toy_split(analysis):
    """A PE at nominal NPs is made of the nominal sample's toy-split events, their features to the bit."""
    cfg, canonical, samples, *_ = analysis
    held = fp.held_out_events(cfg, canonical)
    table = fp.pe_events(held, nominal_pe(cfg))
    assert set(held.process) == set(canonical)
    for process in sorted(canonical):
        sample = pd.read_parquet(samples[process, "nominal"])
        toy = sample[sample["split"] == SPLITS["toy"]].set_index("event_id")
        rows = table[table["process"] == process].set_index("event_id")
        assert len(rows) > 0.5 * len(toy)
        assert set(rows.index) <= set(toy.index)  # nothing outside the toy split passes at nominal
        for feature in FEATURES:
            np.testing.assert_array_equal(rows[feature].to_numpy(np.float32), toy.loc[rows.index, feature].to_numpy())
        expected = toy["weight"].sum()  # multiplicities are Poisson(w): their sum is near the toy split's yield
        assert rows["multiplicity"].sum() == pytest.approx(expected, abs=5 * np.sqrt(expected) + 1)


def test_the_drawn_tes_moves_the_features_and_the_counts(analysis):
    """A PE at TES +3σ: the same events (same stream) with the tau pT ×1.09, MET and the masses moved, and other
    counts in the fixed classifier's bins than the PE at nominal. Fails if the drawn NP were not applied."""
    cfg, canonical, _, fixed, _ = analysis
    held = fp.held_out_events(cfg, canonical)
    nominal = nominal_pe(cfg)
    shifted = nominal._replace(shape={**nominal.shape, "tes": cfg.shape_np("tes").at(3.0)})
    a, b = (fp.pe_events(held, pe).set_index(["process", "event_id"]) for pe in (nominal, shifted))
    common = a.index.intersection(b.index)
    assert len(common) > 0.9 * len(a)
    ratio = b.loc[common, "PRI_tau_pt"].to_numpy(float) / a.loc[common, "PRI_tau_pt"].to_numpy(float)
    np.testing.assert_allclose(ratio, 1.09, rtol=1e-6)
    assert np.all(b.loc[common, "DER_mass_vis"].to_numpy() > a.loc[common, "DER_mass_vis"].to_numpy())
    assert not np.allclose(b.loc[common, "PRI_met"], a.loc[common, "PRI_met"])
    from systlab.templates.histograms import read_templates

    binning = fp.Binning(OnnxScorer(fixed["model"]), ({},), (read_templates(fixed["templates"]).edges,))
    counts = [fp.pe_counts(binning, fp.pe_events(held, pe))[0] for pe in (nominal, shifted)]
    assert counts[1].sum() > 1.05 * counts[0].sum()  # taus pushed over the pT threshold: events enter
    shapes = [c / c.sum() for c in counts]
    assert np.abs(shapes[1] - shapes[0]).max() > 5 * np.sqrt(counts[0].max()) / counts[0].sum()  # moved between bins


# ---- the fits ------------------------------------------------------------------------------------------------------
def protocol_counts(cfg, binning, held, prior="systlab", n=6):
    pes = fp.pseudo_experiments(cfg, cfg.fair_protocol, prior, 21)[:n]
    return pes, [fp.pe_counts(binning, fp.pe_events(held, pe)) for pe in pes]


def test_the_batched_observed_counts_path_equals_the_one_by_one_fit(analysis):
    """run_toys(observed=...) on a few PEs: each PE's μ̂ and interval as profile_interval on its own data."""
    cfg, canonical, _, fixed, _ = analysis
    from systlab.likelihood.workspace import read_workspace
    from systlab.templates.histograms import read_templates

    spec = read_workspace(fixed["workspace"])
    binning = fp.Binning(OnnxScorer(fixed["model"]), ({},), (read_templates(fixed["templates"]).edges,))
    pes, observed = protocol_counts(cfg, binning, fp.held_out_events(cfg, canonical))
    mus = np.array([pe.mu for pe in pes])
    batch = fp.fixed_fitter(spec, cfg.mu_range, 1, 1.5)(observed, mus)
    assert np.array_equal(batch.mu_true, mus) and batch.converged.all()
    for i, counts in enumerate(observed):
        lik = Likelihood(spec, counts[0], cfg.mu_range)
        one = profile_interval(lik)
        assert batch.mu_hat[i] == pytest.approx(one.mu_hat, abs=1e-4)
        assert (batch.lo[i], batch.hi[i]) == pytest.approx(one.interval_68, abs=1e-3)


def test_the_grid_observed_counts_path_equals_the_one_by_one_grid_interval(analysis):
    """run_grid_toys(observed=...) with nominal auxiliary data: each PE as grid_interval on its own data, from the
    same starting points. As for the grid's toys (tests/test_grid_toys.py, the batched-vs-one-toy test): μ̂ comes
    from parabolas on an α-profile with kinks, and the batch's fits (equal to ~1e-8 in −2lnL) can end the walk at
    another point of a flat bottom (here μ̂ differs by up to 3e-4, the ends by 1e-4; a fresh grid per PE once gave
    6e-3 lower). So every PE's batch answer is checked on its one-PE profile (μ̂ no higher than that minimum + 5e-3,
    each end where the profile is 1 above it), and all but one PE must give μ̂ and the ends to 1e-3 outright (the
    fixed classifier's engine meets 1e-4 on μ̂: the test above). A PE whose α̂ is on the grid's last point is left
    out of both (3 of the 6 here; at least 3 must remain): there the α walk is cut off by the grid ([-1, 1] σ here;
    the systlab prior draws a third of the TES truths beyond it) and the two paths can stop apart."""
    cfg, canonical, _, _, aware = analysis
    from systlab.infer.event_toys import binned_at_points, expected_multiplicities, truth_events
    from systlab.likelihood.grid_inputs import read_grid_scores, read_grid_workspaces
    from systlab.templates.histograms import NOMINAL

    grid_ws = read_grid_workspaces(aware["workspaces"])
    binning = fp.Binning(OnnxScorer(aware["model"]), tuple({"alpha_tes": float(a)} for a in grid_ws.alphas),
                         tuple(grid_ws.edges))  # fmt: skip
    pes, observed = protocol_counts(cfg, binning, fp.held_out_events(cfg, canonical), n=6)
    events = truth_events([read_grid_scores(p) for p in aware["scores"]], NOMINAL, [cfg.signal], split="toy")
    morph = grid_morph(cfg, "tes")
    mus = np.array([pe.mu for pe in pes])
    batch = fp.grid_fitter(grid_ws, events, cfg.mu_range, 1, morph)(observed, mus)
    assert np.array_equal(batch.mu_true, mus)
    asimov = binned_at_points(events, expected_multiplicities(events, float(mus.mean())), grid_ws.edges)
    grid = GridLikelihood(grid_ws.specs, asimov, grid_ws.alphas, 0.0, 1.0, cfg.mu_range, morph=morph)
    warm, nominal_aux = grid.warm_starts(), [lik.auxdata.copy() for lik in grid.liks]
    same = edge = 0
    for i, counts in enumerate(observed):  # one PE at a time, from the batch's starting points
        grid.set_data(counts, nominal_aux, warm, [grid.centre])
        one = grid_interval(grid, TOY_INTERPOLATION, mu=float(mus[i]))
        assert batch.converged[i] and one.converged
        if np.isclose(one.alpha_hat, grid_ws.alphas[[0, -1]]).any():  # α̂ on the grid's last point: the walk is
            edge += 1  # cut off there (the fit's note says "widen it") and the two paths may stop at different μ
            continue  # (seen: μ̂ 1.795 vs 1.881 and 2.267 vs 2.358 at α̂ = +1 of this [-1, 1] grid)
        profile = alpha_profile(grid, TOY_INTERPOLATION)
        at_batch = profile(batch.mu_hat[i])[0]
        assert at_batch - one.twice_nll_min < 5e-3, i
        for end in (batch.lo[i], batch.hi[i]):
            if cfg.mu_range[0] < end < cfg.mu_range[1]:
                assert profile(end)[0] - min(at_batch, one.twice_nll_min) == pytest.approx(1.0, abs=0.03), (i, end)
        same += abs(batch.mu_hat[i] - one.mu_hat) < 1e-3 and np.allclose((batch.lo[i], batch.hi[i]),
                                                                         one.interval_68, atol=1e-3)  # fmt: skip
    assert len(observed) - edge >= 3 and same >= len(observed) - 1 - edge


def evaluate_replica(cfg, model: str, inputs: dict) -> dict:
    """One replica through rule fair_protocol's function (one model, its replicas)."""
    return fp.evaluate_method(cfg, model, inputs["events"], {"r0": inputs})["r0"]


def test_every_replica_kind_is_evaluated_on_the_same_pseudo_experiments(analysis):
    cfg, _, _, fixed, aware = analysis
    payloads = {m: evaluate_replica(cfg, m, inputs) for m, inputs in (("baseline", fixed), ("aware", aware))}
    assert payloads["baseline"]["kind"] == "fixed" and payloads["aware"]["kind"] == "grid"
    for prior in ("challenge", "systlab"):
        a, b = (payloads[m]["priors"][prior] for m in ("baseline", "aware"))
        assert a["n"] == b["n"] == 6 and a["pseudo_experiments"]["mu_true"] == b["pseudo_experiments"]["mu_true"]
        assert a["pseudo_experiments"]["shifts_sigma"] == b["pseudo_experiments"]["shifts_sigma"]
        pes = a["pseudo_experiments"]
        ok = np.array(pes["converged"])
        want = fair_score(*(np.array(pes[k], dtype=float)[ok] for k in ("mu_true", "p16", "p84")))
        assert (a["mean_width"], a["coverage"], a["score"]) == pytest.approx(want)
    text = json.dumps(payloads, allow_nan=False)  # what write_json needs
    assert "seconds" not in text  # no wall time in a result: the same bytes from every run
    assert evaluate_replica(cfg, "baseline", fixed) == payloads["baseline"]
    # a job evaluates every replica of a model on PEs built once: each as if evaluated alone
    both = fp.evaluate_method(cfg, "baseline", fixed["events"], {"r0": fixed, "r1": fixed})
    assert both["r0"] == both["r1"] == payloads["baseline"]


def test_an_unbinned_replica_is_fitted_on_its_own_tables_of_the_same_pseudo_experiments(analysis, tmp_path):
    """An (untrained) density-ratio model through unbinned_inputs and the protocol: the same PEs as the binned
    replicas, each PE's events tabulated as the event sets were, and the batched fit of all PEs equal to fitting each
    PE alone (fit_events on its tables and multiplicities)."""
    import dataclasses

    from systlab.infer.pipeline import read_unbinned
    from systlab.infer.unbinned import expectation, fit_events
    from systlab.likelihood.unbinned_inputs import (
        PROCESSES_KEY,
        SHAPE_BOUNDS_KEY,
        SHAPE_NPS_KEY,
        build_inputs,
        write_inputs,
    )
    from systlab.methods.density_ratio import DensityRatioModel, ProcessClassifier, RatioNet, export_density_ratio

    cfg, canonical, samples, fixed, _ = analysis
    cfg = load_config({**copy.deepcopy(dict(cfg.raw)), "methods": ["baseline", "unbinned"]})
    torch.manual_seed(0)
    names, bounds = [n.name for n in cfg.shape_nps], [[-3.0, 3.0]] * len(cfg.shape_nps)
    model = DensityRatioModel(ProcessClassifier(len(FEATURES), 3, (8,)),
                              [RatioNet(len(FEATURES), 3, (8,), 4, 3.0) for _ in names]).eval()
    x = pd.read_parquet(samples["htautau", "nominal"], columns=list(FEATURES)).to_numpy(np.float32)[:500]
    onnx = export_density_ratio(model, FEATURES, tmp_path / "unbinned.onnx",
                                {PROCESSES_KEY: json.dumps(list(EVENTS)), SHAPE_NPS_KEY: json.dumps(names),
                                 SHAPE_BOUNDS_KEY: json.dumps(bounds)}, x)  # fmt: skip
    built = build_inputs(cfg, onnx, samples)
    write_inputs(built.model, built.sets, tmp_path / "events.npz", tmp_path / "model.json", built.tabulation)
    inputs = {"model": str(onnx), "events": fixed["events"], "tables": str(tmp_path / "events.npz"),
              "unbinned": str(tmp_path / "model.json")}  # fmt: skip
    payload = evaluate_replica(cfg, "unbinned", inputs)
    baseline = evaluate_replica(cfg, "baseline", fixed)
    assert payload["kind"] == "unbinned"
    for prior in ("challenge", "systlab"):
        a, b = payload["priors"][prior]["pseudo_experiments"], baseline["priors"][prior]["pseudo_experiments"]
        assert a["mu_true"] == b["mu_true"] and a["shifts_sigma"] == b["shifts_sigma"]
    observer, fit, kind = fp.replica_binning_and_fit(cfg, "unbinned", inputs, fp.protocol_seed(cfg))
    pes = fp.pseudo_experiments(cfg, cfg.fair_protocol, "systlab", fp.protocol_seed(cfg))
    held = fp.held_out_events(cfg, canonical)
    observed = [observer.observe(fp.pe_events(held, pe)) for pe in pes]
    batch = fit(observed, np.array([pe.mu for pe in pes]))
    one_model = dataclasses.replace(read_unbinned(inputs).model, mu_range=tuple(cfg.mu_range))
    assert kind == "unbinned" and batch.converged.all()
    for i, (tables, multiplicity) in enumerate(observed):
        one = fit_events(one_model, expectation(tables, multiplicity, one_model.auxdata), f"pe{i}", 3)
        assert batch.mu_hat[i] == pytest.approx(one.mu_hat, abs=1e-4)
        assert (batch.lo[i], batch.hi[i]) == pytest.approx(one.interval_68, abs=1e-3)


# ---- config and summary ----------------------------------------------------------------------------------------
def test_the_config_section_defaults_and_bad_values():
    assert protocol_config().fair_protocol == Settings(2, 3, ("challenge", "systlab"), (0.1, 3.0))
    m = copy.deepcopy(yaml.safe_load((ROOT / "config" / "config.yaml").read_text()))
    assert load_config(m).fair_protocol.n >= 200  # 4 sets x 50, fitted by each of the 10 replicas
    del m["fair_protocol"]
    assert load_config(m).fair_protocol == Settings()
    with pytest.raises(ConfigError, match="fair_protocol.mu_range"):
        load_config({**m, "fair_protocol": {"mu_range": [0.1, 9.0]}})
    assert load_config({**m, "fair_protocol": {"models": ["aware"]}}).fair_protocol.models == ("aware",)
    with pytest.raises(ConfigError, match=r"fair_protocol.models.*\['pivot_lambda_0'\]"):  # a study model
        load_config({**m, "fair_protocol": {"models": ["baseline", "pivot_lambda_0"]}})
    with pytest.raises(ConfigError, match="fair_protocol"):
        load_config({**m, "fair_protocol": {"priors": ["flat"]}})


def replica_payload(rng, n=60, shift=0.0):
    mu = np.repeat(rng.uniform(0.1, 3.0, 3), n // 3)
    centre = mu + shift + 0.3 * rng.standard_normal(n)
    pes = {"mu_true": mu.tolist(), "p16": (centre - 0.3).tolist(), "p84": (centre + 0.3).tolist(),
           "mu_hat": centre.tolist(), "converged": [True] * n}  # fmt: skip
    return {"priors": {"challenge": {"pseudo_experiments": pes}, "systlab": {"pseudo_experiments": pes}}}


def test_the_summary_table_has_each_methods_values_with_standard_errors(tmp_path):
    paths = []
    for method, shift in (("baseline", 0.0), ("pivot", 1.0)):
        for replica in ("r0", "r1"):
            path = tmp_path / method / f"{replica}.json"
            path.parent.mkdir(exist_ok=True)
            path.write_text(json.dumps(replica_payload(np.random.default_rng(len(paths)), shift=shift)))
            paths.append(path)
    table = fair_protocol_table(paths)
    assert set(table) == {"challenge", "systlab"} and set(table["challenge"]) == {"baseline", "pivot"}
    stats = table["challenge"]["baseline"]
    assert {*COLUMNS, *(f"{c}_se" for c in COLUMNS), "replicas", "pseudo_experiments"} <= set(stats)
    replicas = [json.loads(p.read_text())["priors"]["challenge"]["pseudo_experiments"] for p in paths[:2]]
    per = [fair_score(*(np.array(r[k]) for k in ("mu_true", "p16", "p84"))) for r in replicas]
    assert stats["coverage"] == pytest.approx(np.mean([p[1] for p in per]))
    assert stats["coverage_se"] >= binomial_se(stats["coverage"], 60) > 0.5 * np.sqrt(0.68 * 0.32 / 60)
    assert binomial_se(0.0, 60) > 0 and binomial_se(0.5, 60) == pytest.approx(np.sqrt(0.25 / 64))
    assert table["challenge"]["pivot"]["coverage"] < 0.1 < stats["coverage"]  # μ̂ shifted by 1: never covers
    text = fair_protocol_markdown(table)
    assert text.splitlines()[0] == "| method | prior | replicas | PEs | coverage | mean width | score |"
    assert len(text.splitlines()) == 2 + 4 and "| baseline | challenge | 2 | 60 |" in text
    summary = {**build_summary({}), "fair_protocol": table}
    write_summary(summary, tmp_path / "summary.json", tmp_path / "summary.md")
    assert "## FAIR-Universe protocol" in (tmp_path / "summary.md").read_text()
    assert json.loads((tmp_path / "summary.json").read_text())["fair_protocol"]["systlab"]["pivot"]["replicas"] == 2


def test_the_rule_s_named_inputs_split_by_replica():
    named = {"events": ["a.parquet"], "r0_model": "m0.onnx", "r0_workspaces": "w0.json", "r0_scores": ["s0", "s1"],
             "r1_model": "m1.onnx", "r1_workspace": "w1.json", "r1_templates": "t1.json"}
    events, replicas = fp.split_inputs(named)
    assert events == ["a.parquet"]
    assert replicas == {"r0": {"model": "m0.onnx", "workspaces": "w0.json", "scores": ["s0", "s1"]},
                        "r1": {"model": "m1.onnx", "workspace": "w1.json", "templates": "t1.json"}}
