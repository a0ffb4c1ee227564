"""Right formula, right inputs: staterror from Σw², lumi on every sample, pseudo-data from the toy split.

The fixtures tell inputs apart: non-unit weights (Σw² ≠ Σw), a toy split far from the template split,
several backgrounds, norm NPs and lumi with widths of their own, and a truth_nominal sample that is not nominal.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from systlab.config import Truth, load_config
from systlab.infer.event_toys import binned, expected_multiplicities, truth_events
from systlab.infer.fit import asimov_counts, pseudo_data_counts
from systlab.infer.toys import (
    TOY_STUDY_SPLITS,
    aux_widths,
    model_expectation,
    study_expectations,
    toy_counts,
    toy_expectation,
    toy_truth,
    truth_sample,
)
from systlab.likelihood.binned import Likelihood
from systlab.likelihood.workspace import LUMI, STATERROR, build_workspace, workspace_model, workspace_settings
from systlab.templates.histograms import Templates, build_templates, counts, hist_from_payload, sumw2

ROOT = Path(__file__).resolve().parents[1]
EDGES = np.linspace(0.0, 1.0, 5)
SIGNAL, BACKGROUNDS = "htautau", ("ztautau", "ttbar", "diboson")
TEMPLATE = {  # nominal template-split counts
    "htautau": np.array([4.0, 10.0, 25.0, 60.0]),
    "ztautau": np.array([500.0, 200.0, 60.0, 12.0]),
    "ttbar": np.array([150.0, 80.0, 30.0, 8.0]),
    "diboson": np.array([40.0, 20.0, 8.0, 3.0]),
}
WEIGHT = {  # mean event weight per bin: sumw2 = counts * weight, never = counts
    "htautau": np.array([0.2, 0.2, 0.3, 0.3]),
    "ztautau": np.array([2.5, 1.5, 0.8, 0.4]),
    "ttbar": np.array([0.3, 0.5, 0.7, 1.7]),
    "diboson": np.array([3.0, 2.0, 1.2, 0.5]),
}
TOY_FACTOR = {"htautau": np.full(4, 3.0), **{b: np.array([0.5, 1.6, 2.2, 0.6]) for b in BACKGROUNDS}}
TES = {"tes_+1sd": np.array([-0.05, 0.0, 0.06, 0.12]), "tes_-1sd": np.array([0.04, 0.0, -0.05, -0.1])}
TRUTH_NOMINAL = 1.01  # truth_nominal = 1.01 x nominal: tells which of the two a no-shift truth draws from
NORM_NPS = {"ttbar_xsec": (["ttbar"], 0.15), "bkg_norm": (["ztautau", "ttbar", "diboson"], 0.3)}
LUMI_SIGMA = 0.07


def entry(values: np.ndarray, weight: np.ndarray) -> dict:
    return {"counts": values.tolist(), "sumw2": (values * weight).tolist()}


def make_templates() -> Templates:
    """Template split: nominal, TES ±1σ, truths; toy split: nominal, truths, 3x the signal, reshaped background."""
    template, toy = {}, {}
    for p, nom in TEMPLATE.items():
        w = WEIGHT[p]
        template[p] = {
            "nominal": entry(nom, w),
            **{v: entry(nom * (1 + s), w) for v, s in TES.items()},
            "truth_nominal": entry(nom * TRUTH_NOMINAL, w),
            "truth_up": entry(nom * (1 + TES["tes_+1sd"]), w),
        }
        t = nom * TOY_FACTOR[p]
        toy[p] = {
            "nominal": entry(t, 4.0 * w),
            "truth_nominal": entry(t * TRUTH_NOMINAL, 4.0 * w),
            "truth_up": entry(t * (1 + TES["tes_+1sd"]), 4.0 * w),
        }
    splits = {"template": hist_from_payload(EDGES, template), "toy": hist_from_payload(EDGES, toy)}
    return Templates(edges=EDGES, splits=splits, signal=(SIGNAL,))


def split_sum(templates: Templates, variation: str, split: str, mu: float = 1.0) -> np.ndarray:
    """The reference expectation: mu x signal + every background of one variation in one split."""
    return sum((mu if p == SIGNAL else 1.0) * counts(templates, p, variation, split) for p in TEMPLATE)


@pytest.fixture(scope="module")
def templates() -> Templates:
    return make_templates()


@pytest.fixture(scope="module")
def spec(templates) -> dict:
    return build_workspace(templates, SIGNAL, list(BACKGROUNDS), {"tes": False}, NORM_NPS, LUMI_SIGMA)


def sample_modifiers_of(spec: dict) -> dict[str, list[dict]]:
    (channel,) = spec["channels"]
    return {s["name"]: s["modifiers"] for s in channel["samples"]}


def expected_by_sample(spec: dict, **values: float) -> dict[str, np.ndarray]:
    """Expected counts per sample with the named scalar parameters set (others at their init)."""
    model = workspace_model(spec)
    pars = np.asarray(model.config.suggested_init(), dtype=float)
    for name, value in values.items():
        pars[model.config.par_slice(name)] = value
    by_sample = np.asarray(model.main_model.expected_data(pars, return_by_sample=True), dtype=float)
    return dict(zip(model.config.samples, by_sample, strict=True))


# 1. staterror: √Σw² of each background's nominal template


def test_fixture_tells_sumw2_from_counts_and_toy_from_template(templates):
    for p in TEMPLATE:
        assert np.all(np.abs(sumw2(templates, p, "nominal") / counts(templates, p, "nominal") - 1) > 0.15)
    ratio = split_sum(templates, "nominal", "toy") / split_sum(templates, "nominal", "template")
    assert np.all(np.abs(ratio - 1) > 0.3)


def test_staterror_is_sqrt_sumw2_of_each_background_nominal_template(templates, spec):
    mods = sample_modifiers_of(spec)
    assert not [m for m in mods[SIGNAL] if m["type"] == "staterror"]
    for b in BACKGROUNDS:
        (stat,) = [m for m in mods[b] if m["type"] == "staterror"]
        assert stat["name"] == STATERROR
        np.testing.assert_allclose(stat["data"], np.sqrt(sumw2(templates, b, "nominal", "template")), rtol=1e-12)
        assert np.all(np.abs(np.asarray(stat["data"]) - np.sqrt(counts(templates, b, "nominal"))) > 0.1)
        assert np.all(np.abs(np.asarray(stat["data"]) - np.sqrt(sumw2(templates, b, "nominal", "toy"))) > 0.1)


def test_aux_widths_are_combined_staterror_lumi_sigma_and_unit_normsys(spec, templates):
    """What the toys fluctuate: staterror √(Σ_b Σw²)/Σ_b counts, lumi its σ, normsys 1 (σ sits in hi/lo)."""
    lik = Likelihood(spec, asimov_counts(spec), (-2.0, 4.0))
    widths, config = aux_widths(lik), lik.model.config
    by_name, i = {}, 0
    for name in config.auxdata_order:
        n = config.param_set(name).n_parameters
        by_name[name], i = widths[i : i + n], i + n
    total_sumw2 = sum(sumw2(templates, b, "nominal") for b in BACKGROUNDS)
    total = sum(counts(templates, b, "nominal") for b in BACKGROUNDS)
    np.testing.assert_allclose(by_name[STATERROR], np.sqrt(total_sumw2) / total, rtol=1e-10)
    np.testing.assert_allclose(by_name[LUMI], [LUMI_SIGMA])
    for name in NORM_NPS:
        np.testing.assert_allclose(by_name[name], [1.0])


@pytest.fixture(scope="module")
def score_paths(tmp_path_factory):
    """Weighted events: template split weights in [0.1, 1], toy split weights in [2, 4] and other scores."""
    rng, out = np.random.default_rng(11), tmp_path_factory.mktemp("scores")
    paths = {}
    for process, label in (("htautau", 1), ("ztautau", 0), ("ttbar", 0)):
        n = 900
        split = rng.choice(np.array([0, 2, 3], dtype=np.int8), n)
        toy = split == 3
        table = pd.DataFrame({
            "event_id": np.arange(n, dtype=np.uint64),
            "weight": np.where(toy, rng.uniform(2.0, 4.0, n), rng.uniform(0.1, 1.0, n)),
            "split": split,
            "label": np.full(n, label, dtype=np.int8),
            "score": np.where(toy, rng.beta(3.0, 1.0, n), rng.uniform(0.0, 1.0, n)),
        })  # fmt: skip
        for variation in ("nominal", "tes_+1sd", "tes_-1sd", "truth_nominal"):
            path = out / f"{process}__{variation}.parquet"
            table.to_parquet(path)
            paths[(process, variation)] = path
    return paths


def test_staterror_from_weighted_events_is_sqrt_of_summed_squared_weights(score_paths):
    templates = build_templates(score_paths, bins=4)
    spec = build_workspace(templates, "htautau", ["ztautau", "ttbar"], {"tes": False}, {}, LUMI_SIGMA)
    mods = sample_modifiers_of(spec)
    for b in ("ztautau", "ttbar"):
        t = pd.read_parquet(score_paths[(b, "nominal")])
        t = t[t["split"] == 2]
        w2 = np.histogram(t["score"], bins=EDGES, weights=t["weight"] ** 2)[0]
        (stat,) = [m for m in mods[b] if m["type"] == "staterror"]
        np.testing.assert_allclose(stat["data"], np.sqrt(w2), rtol=1e-10)
        w = np.histogram(t["score"], bins=EDGES, weights=t["weight"])[0]
        assert np.all(np.abs(np.asarray(stat["data"]) - np.sqrt(w)) > 0.5)


# 2. lumi: one shared parameter on every sample, with the configured σ


def test_lumi_modifier_on_every_sample_with_one_configured_parameter(spec):
    for sample, mods in sample_modifiers_of(spec).items():
        lumis = [m for m in mods if m["type"] == "lumi"]
        assert [m["name"] for m in lumis] == [LUMI], sample
    (lumi,) = spec["measurements"][0]["config"]["parameters"]
    assert lumi["name"] == LUMI and lumi["sigmas"] == [LUMI_SIGMA]
    config = workspace_model(spec).config
    assert list(config.parameters).count(LUMI) == 1 and config.param_set(LUMI).n_parameters == 1
    np.testing.assert_allclose(config.param_set(LUMI).sigmas, [LUMI_SIGMA])


def test_lumi_shift_scales_every_sample(spec):
    nominal, shifted = expected_by_sample(spec), expected_by_sample(spec, lumi=1.05)
    assert set(nominal) == {SIGNAL, *BACKGROUNDS}
    for sample in nominal:
        np.testing.assert_allclose(shifted[sample], 1.05 * nominal[sample], rtol=1e-12, err_msg=sample)


def test_norm_np_scales_only_its_processes_by_its_prior_width(spec):
    nominal = expected_by_sample(spec)
    for name, (processes, sigma) in NORM_NPS.items():
        shifted = expected_by_sample(spec, **{name: 1.0})
        for sample in nominal:
            factor = 1.0 + sigma if sample in processes else 1.0
            np.testing.assert_allclose(shifted[sample], factor * nominal[sample], rtol=1e-12, err_msg=name)


# 3. held-out toys and pseudo-data from the toy split; model toys from the workspace


def test_toy_expectation_defaults_to_the_toy_split(templates):
    for truth, variation in (("nominal", "nominal"), ("up", "truth_up")):
        got = toy_expectation(templates, truth, mu=2.0, signal=SIGNAL)
        np.testing.assert_allclose(got, split_sum(templates, variation, "toy", mu=2.0), rtol=1e-12)
        assert np.all(np.abs(got / split_sum(templates, variation, "template", mu=2.0) - 1) > 0.3)


def test_pseudo_data_counts_draw_from_the_toy_split(templates):
    toy, template = split_sum(templates, "truth_up", "toy", 1.5), split_sum(templates, "truth_up", "template", 1.5)
    draws = np.array([pseudo_data_counts(templates, "up", 1.5, seed, SIGNAL) for seed in range(400)])
    np.testing.assert_array_equal(draws[0], np.random.default_rng(0).poisson(toy).astype(float))
    error = np.sqrt(toy / len(draws))
    assert np.all(np.abs(draws.mean(axis=0) - toy) < 4 * error)
    assert np.all(np.abs(draws.mean(axis=0) - template) > 10 * error)


def test_model_toys_mean_is_asimov_and_held_out_toys_mean_is_toy_split(templates, spec):
    expected = study_expectations(templates, spec, Truth("nominal", 1.0, {}), SIGNAL)
    n = 400
    means = {k: np.mean([toy_counts(v, 5, i) for i in range(n)], axis=0) for k, v in expected.items()}
    asimov, toy = asimov_counts(spec), split_sum(templates, "nominal", "toy")
    assert np.all(np.abs(means["model"] - asimov) < 4 * np.sqrt(asimov / n))
    assert np.all(np.abs(means["held_out"] - toy) < 4 * np.sqrt(toy / n))
    assert np.all(np.abs(means["model"] - means["held_out"]) > 10 * np.sqrt((asimov + toy) / n))


# 4. the toy truth and each study's expectation, from the config


@pytest.fixture(scope="module")
def raw() -> dict:
    raw = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    raw["systematics"] = {
        "shape": {"tes": raw["systematics"]["shape"]["tes"]},
        "norm": {name: {"processes": p, "sigma": s} for name, (p, s) in NORM_NPS.items()},
        "lumi_sigma": LUMI_SIGMA,
    }
    raw["pseudo_data"] = {"up": {"mu": 1.0, "tes": 1.0}, "nominal": {"mu": 1.0}, "strong": {"mu": 1.7}}
    return raw


def test_toy_truth_is_read_from_the_config(raw):
    cfg = load_config(raw)
    truth = toy_truth(cfg)
    assert (truth.name, truth.mu, dict(truth.shifts)) == ("nominal", 1.0, {})
    assert truth_sample(truth) == "nominal" and truth_sample(Truth("up", 1.0, {"tes": 1.0})) == "truth_up"


def test_config_without_toy_truth_is_a_clear_one_line_error(raw):
    cfg = load_config({**raw, "pseudo_data": {"up": {"mu": 1.0, "tes": 1.0}, "strong": {"mu": 1.7}}})
    with pytest.raises(ValueError, match="no toy truth") as err:
        toy_truth(cfg)
    assert "\n" not in str(err.value)


def test_study_expectations_of_the_config_truth_equal_the_former_hard_coded_ones(raw, templates):
    """The workflow's numbers do not change: held-out = toy split nominal at mu = 1, model = the Asimov counts."""
    cfg = load_config(raw)
    spec = build_workspace(templates, **workspace_settings(cfg))
    expected = study_expectations(templates, spec, toy_truth(cfg), cfg.signal)
    assert set(expected) == set(TOY_STUDY_SPLITS) == {"held_out", "model"}
    np.testing.assert_array_equal(expected["held_out"], toy_expectation(templates, "nominal", 1.0, cfg.signal))
    np.testing.assert_array_equal(expected["model"], asimov_counts(spec))
    assert not np.allclose(expected["held_out"], toy_expectation(templates, "truth_nominal", 1.0, cfg.signal))


def test_study_expectations_follow_the_truth_mu_and_shifts(templates, spec):
    strong = study_expectations(templates, spec, Truth("strong", 1.7, {}), SIGNAL)
    np.testing.assert_allclose(strong["held_out"], split_sum(templates, "nominal", "toy", 1.7), rtol=1e-12)
    np.testing.assert_allclose(strong["model"], split_sum(templates, "nominal", "template", 1.7), rtol=1e-12)
    up = study_expectations(templates, spec, Truth("up", 1.0, {"tes": 1.0}), SIGNAL)
    np.testing.assert_allclose(up["held_out"], split_sum(templates, "truth_up", "toy"), rtol=1e-12)
    np.testing.assert_allclose(up["model"], split_sum(templates, "tes_+1sd", "template"), rtol=1e-12)
    with pytest.raises(KeyError, match="jes"):
        model_expectation(spec, 1.0, {"jes": 1.0})


def test_grid_toy_events_of_each_study_come_from_its_split(score_paths):
    """grid toys: held-out events bin to the toy-split expectation, model events to the template split."""
    templates = build_templates(score_paths, bins=4)
    tables = {key: pd.read_parquet(path) for key, path in score_paths.items()}
    truth = Truth("nominal", 1.0, {})
    for split in TOY_STUDY_SPLITS.values():
        events = truth_events([tables], truth_sample(truth), ["htautau"], split=split)
        got = binned(events.scores[0], expected_multiplicities(events, 1.3), templates.edges)
        np.testing.assert_allclose(got, toy_expectation(templates, "nominal", 1.3, "htautau", split=split), rtol=1e-10)
    held_out = toy_expectation(templates, "nominal", 1.3, "htautau", split=TOY_STUDY_SPLITS["held_out"])
    model = toy_expectation(templates, "nominal", 1.3, "htautau", split=TOY_STUDY_SPLITS["model"])
    assert TOY_STUDY_SPLITS == {"held_out": "toy", "model": "template"}
    assert np.all(np.abs(held_out / model - 1) > 0.3)
