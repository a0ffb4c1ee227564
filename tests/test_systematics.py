"""The shape-systematics registry: built-ins in a fixed order, config validated against it, and a new NP
(a toy lepton energy scale) is one registered module plus a config entry, all the way to a histosys."""

import sys
from pathlib import Path

import awkward as ak
import numpy as np
import pandas as pd
import pytest
import yaml

from systlab.config import ConfigError, deep_update, load_config
from systlab.config.catalogue import KNOWN_SHAPE_NPS, Variation
from systlab.likelihood.workspace import build_workspace, workspace_settings
from systlab.samples import systematics
from systlab.samples.simulate import LEP_PT_CUT, simulate_process
from systlab.samples.systematics import SYSTEMATICS, Objects, Systematic, get, register, unregister
from systlab.samples.vary import apply_variation, finish_sample, np_point, soft_met_draws, vary_process
from systlab.templates.histograms import build_templates

ROOT = Path(__file__).resolve().parents[1]
FRACTIONS = {"train": 0.35, "validation": 0.15, "template": 0.3, "toy": 0.2}
LES = {"nominal": 1.0, "sigma": 0.01}


def les_apply(objects: Objects, value) -> Objects:
    """Toy lepton energy scale: lepton pT x alpha; MET += (1 - alpha) pT(lepton) as a vector."""
    lep_pt = objects.lep_pt
    return objects._replace(
        met_x=objects.met_x + (1.0 - value) * lep_pt * objects.lep_direction[0],
        met_y=objects.met_y + (1.0 - value) * lep_pt * objects.lep_direction[1],
        lep_pt=lep_pt * value,
    )


@pytest.fixture
def les():
    """The toy LES registered for one test (after the built-ins), unregistered afterwards whatever happens."""
    systematic = register(name="les", nominal=1.0, moves={"lep", "met"})(les_apply)
    yield systematic
    unregister("les")


@pytest.fixture(scope="module")
def htautau():
    return simulate_process("htautau", 8_000, seed=3)


@pytest.fixture
def raw():
    return yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def test_builtins_are_registered_in_application_order():
    assert list(SYSTEMATICS) == ["tes", "jes", "soft_met"]
    assert dict(KNOWN_SHAPE_NPS) == {"tes": 1.0, "jes": 1.0, "soft_met": 0.0}
    assert [s.name for s in systematics.ordered({"tau", "lep"})] == ["tes"]  # only TES moves events across a cut
    assert [s.name for s in systematics.ordered({"jets"})] == ["jes"]  # the jet-feature cache key
    assert get("tes").selects and not get("jes").selects and get("soft_met").key(-3.0) == 3.0
    with pytest.raises(KeyError, match="unknown shape systematic 'les'; registered"):
        get("les")
    with pytest.raises(ValueError, match="already registered"):
        register(get("tes"))
    with pytest.raises(ValueError, match=r"moves unknown object\(s\) \['photon'\]"):
        Systematic("pes", 1.0, les_apply, moves={"photon"})


def test_a_registered_np_is_known_everywhere_until_unregistered(les):
    assert list(SYSTEMATICS)[-1] == "les" and KNOWN_SHAPE_NPS["les"] == 1.0
    assert Variation("x").value("les") == 1.0  # nominal where a variation does not name it
    assert np_point(Variation("x", {"les": 1.01})) != np_point(Variation("y"))
    unregister("les")
    assert "les" not in KNOWN_SHAPE_NPS
    register(les)  # back, for the fixture's clean-up


def test_config_validates_shape_nps_against_the_registry(raw, les):
    cfg = load_config(
        deep_update(raw, {"systematics": {"shape": {"les": LES}}, "pseudo_data": {"x": {"mu": 1.0, "les": -1.0}}})
    )
    assert cfg.shape_np("les").at(1) == pytest.approx(1.01)
    assert {"les_-1sd", "les_+1sd", "truth_x"} <= set(cfg.variation_names())
    with pytest.raises(ConfigError, match=r"field 'systematics.shape.les.nominal': must be 1.0"):
        load_config(deep_update(raw, {"systematics": {"shape": {"les": {**LES, "nominal": 0.0}}}}), source="my.yaml")
    with pytest.raises(ConfigError, match=r"my.yaml: field 'systematics.shape.pes': unknown shape NP 'pes'"):
        load_config(deep_update(raw, {"systematics": {"shape": {"pes": LES}}}), source="my.yaml")
    with pytest.raises(ConfigError, match=r"pseudo_data.x"):  # a shift of an NP the config does not have
        load_config(deep_update(raw, {"pseudo_data": {"x": {"mu": 1.0, "pes": 1.0}}}))


def test_lepton_scale_moves_lepton_met_and_the_lepton_threshold(les, htautau):
    draws = soft_met_draws(len(htautau), seed=5)
    nominal = apply_variation(htautau, Variation("n"), draws).set_index("event_id")
    down = apply_variation(htautau, Variation("d", {"les": 0.95}), draws).set_index("event_id")
    assert len(down) < len(nominal) and down["PRI_lep_pt"].min() > LEP_PT_CUT  # events leave at the threshold
    nom = nominal.loc[down.index]
    np.testing.assert_allclose(down["PRI_lep_pt"], 0.95 * nom["PRI_lep_pt"], rtol=1e-6)
    np.testing.assert_allclose(down["DER_pt_ratio_lep_tau"], 0.95 * nom["DER_pt_ratio_lep_tau"], rtol=1e-5)
    for trig in (np.cos, np.sin):  # MET absorbs the lepton's lost transverse momentum
        expected = nom["PRI_met"] * trig(nom["PRI_met_phi"]) + 0.05 * nom["PRI_lep_pt"] * trig(nom["PRI_lep_phi"])
        np.testing.assert_allclose(down["PRI_met"] * trig(down["PRI_met_phi"]), expected, atol=2e-3)
    for name in ("PRI_tau_pt", "PRI_lep_eta", "PRI_jet_all_pt", "DER_deltar_tau_lep"):
        np.testing.assert_array_equal(down[name], nom[name])


def test_shared_grid_with_a_lepton_np_equals_the_per_variation_path(les, htautau, tmp_path):
    """vary_process (selection by TES and LES, lepton features redone per point) == apply_variation, bit for bit."""
    canonical = tmp_path / "events.parquet"
    ak.to_parquet(htautau, canonical)
    grid = [
        Variation("nominal"),
        Variation("les_-1sd", {"les": 0.97}),
        Variation("mixed", {"les": 1.02, "tes": 0.98, "soft_met": 2.0}),
    ]
    outs = {v.name: tmp_path / f"{v.name}.parquet" for v in grid}
    vary_process(canonical, grid, outs, label=1, seed=42, fractions=FRACTIONS, draw_seed=3)
    draws = soft_met_draws(len(htautau), 3)
    for variation in grid:
        expected = finish_sample(apply_variation(htautau, variation, draws), 1, 42, FRACTIONS)
        pd.testing.assert_frame_equal(pd.read_parquet(outs[variation.name]), expected, check_exact=True)
    assert len(pd.read_parquet(outs["les_-1sd"])) < len(pd.read_parquet(outs["nominal"]))


def test_a_new_np_is_one_module_plus_a_config_entry_and_becomes_a_histosys(les, raw, tmp_path):
    """The issue's test: register a toy LES, configure it, vary, template, and find it in the workspace."""
    raw = deep_update(raw, {"systematics": {"shape": {"les": LES}}})
    cfg = load_config(raw)
    score_paths = {}
    for process in cfg.processes:
        canonical = tmp_path / f"{process}.parquet"
        ak.to_parquet(simulate_process(process, 6_000, seed=cfg.seed), canonical)
        outs = {v.name: tmp_path / f"{process}__{v.name}.parquet" for v in cfg.variations()}
        vary_process(canonical, list(cfg.variations()), outs, label=int(process == cfg.signal), seed=cfg.seed,
                     fractions=cfg.splits, draw_seed=7)  # fmt: skip
        for name, path in outs.items():  # a simple score: the lepton pT scaled to [0, 1]
            table = pd.read_parquet(path)
            score = np.clip((table["PRI_lep_pt"].to_numpy(np.float64) - LEP_PT_CUT) / 60.0, 0.0, 1.0)
            scores = table[["event_id", "weight", "split", "label"]].assign(score=score)
            score_paths[(process, name)] = tmp_path / f"score_{process}__{name}.parquet"
            scores.to_parquet(score_paths[(process, name)])
    templates = build_templates(score_paths, bins=4)
    spec = build_workspace(templates, **workspace_settings(cfg))
    for sample in spec["channels"][0]["samples"]:
        les_mods = [m for m in sample["modifiers"] if m["name"] == "les"]
        assert [m["type"] for m in les_mods] == ["histosys"], sample["name"]
        assert les_mods[0]["data"]["hi_data"] != les_mods[0]["data"]["lo_data"], sample["name"]
        assert {"tes", "jes", "soft_met"} <= {m["name"] for m in sample["modifiers"] if m["type"] == "histosys"}


def test_a_module_in_the_package_is_discovered(tmp_path, monkeypatch):
    """A new NP needs no edit of the registry: a module of the package defining ``SYSTEMATIC`` is found."""
    (tmp_path / "les_plugin.py").write_text(
        "from systlab.samples.systematics.base import Systematic\n"
        "SYSTEMATIC = Systematic('les', 1.0, lambda objects, value: objects, moves={'lep', 'met'})\n"
    )
    monkeypatch.setattr(systematics, "__path__", [*systematics.__path__, str(tmp_path)])
    monkeypatch.delitem(sys.modules, "systlab.samples.systematics.les_plugin", raising=False)
    try:
        assert [s.name for s in systematics._discovered()] == ["les"]
    finally:
        sys.modules.pop("systlab.samples.systematics.les_plugin", None)
    assert "les" not in SYSTEMATICS  # found, not registered: registration happens once, at import
