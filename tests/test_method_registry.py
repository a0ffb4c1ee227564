"""The method registry: a method added from outside systlab runs the whole chain; gradient reversal works as said."""

from __future__ import annotations

import json
from pathlib import Path

import awkward as ak
import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from systlab.config import deep_update, load_config
from systlab.infer.fit import asimov_counts, fit_dataset
from systlab.likelihood.workspace import build_workspace, workspace_settings
from systlab.methods import METHODS, REGISTRY, Method, get, register, unregister
from systlab.methods.common import train_classifier
from systlab.methods.data import method_draws
from systlab.methods.grl import GradientReversalLoss, hidden_features, reverse_gradient
from systlab.methods.loop import WeightedBCE, make_batch
from systlab.methods.model import Classifier
from systlab.methods.setup import method_options, model_training_tables, training_settings
from systlab.samples.simulate import simulate_process
from systlab.samples.vary import vary_process
from systlab.templates.histograms import build_templates
from systlab.templates.score import score_sample

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def trivial():
    """A method defined here, not in systlab: weighted BCE on nominal events, with one option of its own."""
    calls = []

    def train_trivial(samples, features, settings, seed, out_dir, scale=1.0):
        calls.append(scale)
        return train_classifier("trivial", WeightedBCE(), samples, features, settings, seed, out_dir,
                                options={"scale": scale})  # fmt: skip

    register(Method("trivial", train_trivial, draws="nominal",
                    options=lambda cfg, spec: {"scale": cfg.method_settings.extra["trivial"]["scale"]}))
    yield calls
    unregister("trivial")


def test_registry_names_every_builtin_and_refuses_duplicates():
    assert {"baseline", "augmented", "pivot", "disco", "grl", "aware", "oracle", "inferno"} <= set(REGISTRY)
    assert get("aware").parameterized and not any(REGISTRY[m].parameterized for m in ("grl", "disco", "baseline"))
    assert get("pivot").targets and not get("baseline").targets and not get("augmented").targets
    with pytest.raises(ValueError, match="already registered"):
        register(Method("baseline", "systlab.methods.baseline:train_baseline"))
    with pytest.raises(KeyError, match="unknown method 'nope'"):
        get("nope")
    with pytest.raises(ValueError, match="draws"):
        Method("x", "m:f", draws="sometimes")


def test_unregistered_method_is_refused_by_the_config():
    raw = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    with pytest.raises(ValueError, match=r"field 'methods': unknown method\(s\) \['trivial'\]"):
        load_config(deep_update(raw, {"methods": ["baseline", "trivial"]}))


def test_a_method_registered_in_a_test_runs_train_onnx_templates_fit(trivial, tmp_path):
    """The issue's test: one registry entry + config settings, then train -> ONNX -> templates -> workspace -> fit."""
    raw = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    raw = deep_update(raw, {"methods": ["baseline", "trivial"], "method_settings": {"trivial": {"scale": 2.0}},
                            "training": {"hidden": [8], "epochs": 2, "patience": 2, "replicas": 1},
                            "simulate": {"signal_boost": 20.0}, "fit": {"histosys_check": []},
                            "generator_check": {"methods": [], "closure_models": []}})  # fmt: skip
    raw["systematics"]["shape"] = {"tes": raw["systematics"]["shape"]["tes"] | {"grid": [-1, 0, 1]}}
    cfg = load_config(raw)
    assert "trivial" in cfg.model_names() and method_options(cfg, cfg.model("trivial")) == {"scale": 2.0}
    events, samples = {}, {}
    for process in cfg.processes:
        events[process] = simulate_process(process, 4_000, seed=cfg.seed, signal_boost=cfg.signal_boost)
        ak.to_parquet(events[process], tmp_path / f"{process}.parquet")
        samples[process] = {v.name: tmp_path / f"{process}__{v.name}.parquet" for v in cfg.variations()}
        vary_process(tmp_path / f"{process}.parquet", list(cfg.variations()), samples[process],
                     label=int(process == cfg.signal), seed=cfg.seed, fractions=cfg.splits, draw_seed=1)  # fmt: skip
    spec = cfg.model("trivial")
    tables = model_training_tables(cfg, spec, events, replica=0)
    trained = METHODS["trivial"](tables, list(cfg.features), training_settings(cfg), seed=cfg.seed,
                                 out_dir=tmp_path / "model", **method_options(cfg, spec))  # fmt: skip
    assert trivial == [2.0] and json.loads(trained.meta_path.read_text())["options"] == {"scale": 2.0}
    scores = {}
    for process, paths in samples.items():
        for variation, path in paths.items():
            scores[(process, variation)] = tmp_path / f"score_{process}__{variation}.parquet"
            score_sample(trained.onnx_path, path, scores[(process, variation)])
    templates = build_templates(scores, bins=3, binning=cfg.binning)
    workspace = build_workspace(templates, **workspace_settings(cfg))
    fit = fit_dataset(workspace, asimov_counts(workspace), cfg.mu_range, 5, "asimov")
    assert fit.converged and fit.mu_hat == pytest.approx(1.0, abs=1e-3)
    assert fit.interval_68[0] < 1.0 < fit.interval_68[1]


def test_grl_draws_two_domains_half_nominal():
    cfg = load_config(yaml.safe_load((ROOT / "config" / "config.yaml").read_text()))
    draws = method_draws("grl", cfg.shape_nps, cfg.target)
    z = draws["tes"].sample(20_000, np.random.default_rng(1))
    nominal = z == 0
    assert abs(nominal.mean() - 0.5) < 0.02 and abs(z[~nominal].std() - 1.0) < 0.03
    assert all(d.kind == "fixed" and d.low == 0 for name, d in draws.items() if name != "tes")


def test_reverse_gradient_is_identity_forward_and_minus_lambda_backward():
    x = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = reverse_gradient(x, 0.5)
    assert torch.equal(y, x)
    (y * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert torch.allclose(x.grad, torch.tensor([-0.5, -1.0, -1.5]))


def test_grl_head_learns_the_domain_and_the_features_unlearn_it():
    """One update: the head's gradient lowers the domain loss, the features' (reversed) gradient raises it."""
    torch.manual_seed(0)
    n = 512
    x = torch.randn(n, 3).numpy()
    z = np.where(np.random.default_rng(2).random(n) < 0.5, 0.0, 1.0)
    x[:, 0] += 2.0 * z  # the first feature tells the domain
    table = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "weight": 1.0, "label": np.arange(n) % 2,
                          "z_tes": z})  # fmt: skip
    batch = make_batch(table, ["a", "b", "c"], ["z_tes"])
    model = Classifier(3, (8,))
    loss = GradientReversalLoss(8, lam=1.0, nuisance="tes", hidden=(8,), seed=1)
    before = float(loss.domain_loss(model, batch).detach())
    for part in (loss.head, model.net):
        head_only = torch.optim.SGD(part.parameters(), lr=0.5)
        head_only.zero_grad()
        loss.loss(model, batch).backward()
        head_only.step()
        after = float(loss.domain_loss(model, batch).detach())
        assert (after < before) if part is loss.head else (after > before), (part, before, after)
        before = after
    assert hidden_features(model, batch.features).shape == (n, 8)
