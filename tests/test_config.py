"""Config: schema at the door, typed values, clear errors naming the field."""

from pathlib import Path

import pytest
import yaml

from systlab.config import SCHEMA_PATH, ConfigError, deep_update, load_config, load_config_files, validate_and_fill
from systlab.likelihood.grid_points import parameterized_np
from systlab.methods.data import method_draws

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "config" / "config.yaml"


@pytest.fixture
def raw():
    return yaml.safe_load(DEFAULT.read_text())


def test_default_and_tiny_configs_load():
    cfg = load_config_files(DEFAULT)
    assert cfg.processes == ("htautau", "ztautau", "ttbar", "diboson")
    assert cfg.shape_np("tes").at(1) == pytest.approx(1.10)  # the default TES prior: 10 %
    tiny = load_config_files(DEFAULT, ROOT / "config" / "tiny.yaml")
    assert tiny.run_id == "tiny" and tiny.shape_np("tes").grid == (-1.0, 0.0, 1.0)
    assert "bkg_norm" in {n.name for n in tiny.norm_nps}  # overlays merge key by key


def test_variations_cover_nominal_shifts_grid_and_truths():
    cfg = load_config_files(DEFAULT)
    names = cfg.variation_names()
    assert names[0] == "nominal"
    assert {"tes_+1sd", "tes_-1sd", "jes_+1sd", "jes_-1sd", "soft_met_+1sd", "tes_+0.5sd", "tes_-3sd"} <= set(names)
    assert {"truth_below", "truth_nominal", "truth_above"} <= set(names)
    assert len(names) == len(set(names))
    by_name = {v.name: v for v in cfg.variations()}
    assert by_name["truth_below"].value("tes") == pytest.approx(0.90)
    assert by_name["truth_nominal"].value("tes") == 1.0


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"trainig": {}}, "(top level)", "Additional properties"),
        ({"seed": "abc"}, "seed", "is not of type 'integer'"),
        ({"methods": ["baseline", "magic"]}, "methods", "unknown method(s) ['magic']; registered:"),
        ({"systematics": {"shape": {"tes": {"nominal": 1.0, "sigma": -0.1}}}}, "systematics.shape.tes.sigma", ""),
        ({"systematics": {"shape": {"tes": {"nominal": 1.0, "sigma": 0.03, "grid": [-1, 1]}}}},
         "systematics.shape.tes.grid", "does not contain"),
        ({"features": ["PRI_tau_pt", "DER_nonsense"]}, "features", "unknown feature"),
        ({"fit": {"mu_range": [3, 1], "scan_points": 11}}, "fit.mu_range", "low < high"),
        ({"toys": {"n": 10, "chunks": 20}}, "toys.chunks", "needs chunks <= n"),
        ({"fit": {"grid_interpolation": "cubic", "grid_morph_step": 0.1}}, "fit.grid_interpolation", "'quadratic'"),
        ({"fit": {"grid_morph_step": 2.0}}, "fit.grid_morph_step", "greater than the maximum"),
        ({"pseudo_data": {"x": {"mu": 1.0, "jes": 1.0}}}, None, None),
        ({"systematics": {"norm": {"x": {"processes": ["wjets"], "sigma": 0.1}}}}, "systematics.norm.x.processes",
         "unknown process"),
    ],
)
def test_bad_config_fails_with_the_field(raw, change, field, message):
    bad = deep_update(raw, change)
    if field is None:  # a valid change: must load
        load_config(bad)
        return
    with pytest.raises(ConfigError) as err:
        load_config(bad, source="my.yaml")
    assert f"my.yaml: field '{field}'" in str(err.value)
    assert message in str(err.value)


def test_pseudo_data_shift_of_unconfigured_np_is_refused(raw):
    bad = deep_update(raw, {"systematics": {"shape": {"tes": raw["systematics"]["shape"]["tes"]}}})
    bad["systematics"]["shape"] = {"tes": raw["systematics"]["shape"]["tes"]}
    bad["pseudo_data"]["x"] = {"mu": 1.0, "jes": 1.0}
    with pytest.raises(ConfigError, match="pseudo_data.x"):
        load_config(bad)


def test_model_names_and_method_settings():
    cfg = load_config_files(DEFAULT)
    assert cfg.model_names() == ("baseline", "augmented", "pivot", "disco", "grl", "aware", "oracle_tes_-1sd",
                                 "oracle_tes_0sd", "oracle_tes_+1sd", "inferno", "unbinned")  # fmt: skip
    assert (cfg.method_settings.inferno_bins, cfg.method_settings.inferno_temperature) == (10, 0.1)
    assert cfg.model("oracle_tes_-1sd").point == -1.0 and cfg.model("pivot").method == "pivot"
    assert cfg.training.replicas == 10 and cfg.training.study_replica_count == 3
    assert cfg.method_settings.pivot.lam > 0 and cfg.method_settings.disco.lam > 0
    assert 0.0 in cfg.method_settings.disco.lambda_scan
    assert cfg.variation_shifts("truth_above") == {"tes": 1.0} and cfg.variation_shifts("jes_-1sd") == {"jes": -1.0}
    assert cfg.variation_shifts("nominal") == {}
    tiny = load_config_files(DEFAULT, ROOT / "config" / "tiny.yaml")
    assert tiny.training.replicas == 2 and len(tiny.model_names()) == 11


def test_oracle_points_default_to_the_truths_and_tes_is_required(raw):
    raw = deep_update(raw, {"method_settings": {"oracle": None}})
    raw["method_settings"].pop("oracle")
    raw["pseudo_data"] = {"low": {"mu": 1.0, "tes": -2.0}, "nom": {"mu": 1.0}}
    assert load_config(raw).method_settings.oracle_points == (-2.0, 0.0)
    raw["systematics"]["shape"].pop("tes")
    raw["pseudo_data"] = {"nom": {"mu": 1.0}}
    with pytest.raises(ConfigError, match="'systematics.target'.*target NP 'tes', which is not in systematics.shape"):
        load_config(raw)
    with pytest.raises(ConfigError, match="method_settings.pivot"):
        load_config(deep_update(yaml.safe_load(DEFAULT.read_text()), {"method_settings": {"pivot": {"lamda": 1}}}))


@pytest.mark.parametrize("key", ["region_nps", "calibrate_spread"])
def test_unbinned_region_and_calibrated_nps_must_be_shape_nps(raw, key):
    """method_settings.unbinned.region_nps and calibrate_spread name shape systematics; a typo stops the run at load,
    naming the key; a known systematic the run does not vary does not apply."""
    valid = {"region_nps": ["jes", "soft_met"], "calibrate_spread": ["tes"]}[key]  # the default's region_nps: JES, MET
    ok = load_config(deep_update(raw, {"method_settings": {"unbinned": {key: valid}}}))
    assert ok.method_settings.extra["unbinned"][key] == valid
    raw["systematics"]["shape"].pop("jes")
    load_config(raw)  # the default's region_nps name jes: not varied here, no error
    with pytest.raises(ConfigError, match=rf"method_settings.unbinned.{key}.*\['jse'\] are not shape system"):
        load_config(deep_update(raw, {"method_settings": {"unbinned": {key: ["jes", "jse"]}}}))
    with pytest.raises(ConfigError, match=r"calibrate_spread.*\['tes'\] are also region_nps"):
        load_config(deep_update(raw, {"method_settings": {"unbinned": {"region_nps": ["tes"],
                                                                       "calibrate_spread": ["tes"]}}}))


def test_the_target_np_is_one_config_key(raw):
    """systematics.target moves every method's NP: oracle names and points, draws, the grid, the metric samples."""
    raw["systematics"]["target"] = "jes"
    raw["systematics"]["shape"]["jes"]["grid"] = [-2, -1, 0, 1, 2]
    raw["pseudo_data"] = {"below": {"mu": 1.0, "jes": -1.0}, "nominal": {"mu": 1.0}, "above": {"mu": 1.0, "tes": 1.0}}
    raw["method_settings"]["aware"] = {"leave_out": [1.0]}
    raw["method_settings"].pop("oracle", None)
    cfg = load_config(raw)
    assert cfg.target == "jes" and cfg.target_np.grid == (-2.0, -1.0, 0.0, 1.0, 2.0)
    assert [m for m in cfg.model_names() if m.startswith("oracle")] == ["oracle_jes_-1sd", "oracle_jes_0sd"]
    assert cfg.model("oracle_jes_-1sd").point == -1.0 and cfg.model("pivot").nuisance == "jes"
    assert [m.name for m in cfg.interpolation_models()] == ["aware_without_jes_+1sd"]
    assert cfg.target_variations() == ("jes_-1sd", "nominal", "jes_+1sd")
    assert [cfg.target_shift(t) for t in cfg.truths] == [-1.0, 0.0, 0.0]
    assert parameterized_np(cfg, "aware") == "jes" and parameterized_np(cfg, "baseline") is None
    draws = method_draws("aware", cfg.shape_nps, cfg.target)
    assert (draws["jes"].kind, draws["jes"].low, draws["jes"].high) == ("uniform", -2.0, 2.0)
    assert draws["tes"] == method_draws("augmented", cfg.shape_nps, cfg.target)["tes"]  # the others from priors
    raw["systematics"]["target"] = "lepton_scale"
    with pytest.raises(ConfigError, match="'systematics.target'.*'lepton_scale', which is not in systematics.shape"):
        load_config(raw)


def test_toy_truth_is_the_truth_at_mu_one_with_every_np_nominal(raw):
    assert load_config(raw).toy_truth == "nominal"
    raw["pseudo_data"] = {"shifted": {"mu": 1.0, "jes": 1.0}, "strong": {"mu": 2.0}}  # neither is the toys' truth
    assert load_config(raw).toy_truth is None


@pytest.mark.parametrize("noise", ["both", "data", "init"])
def test_replica_noise_sets_which_seeds_vary_between_replicas(noise, raw):
    """training.replica_noise: data varies the bootstrap and NP draws only, init the initialisation only, both both;
    the training tables of replica 1 equal replica 0's exactly when only the initialisation varies."""
    import numpy as np
    import pandas as pd

    from systlab.methods.setup import model_training_tables
    from systlab.samples.simulate import simulate_process

    raw = deep_update(raw, {"training": {"replica_noise": noise},
                               "processes": {"signal": "htautau", "backgrounds": ["ztautau"]}})  # fmt: skip
    raw["systematics"]["norm"] = {}
    cfg = load_config(raw)
    zero, one = cfg.replica_seeds(0), cfg.replica_seeds(1)
    assert zero == (cfg.seed, cfg.seed, False)
    assert (one.data != zero.data) == (noise != "init") and (one.init != zero.init) == (noise != "data")
    assert one.resample == (noise != "init")
    events = {"htautau": simulate_process("htautau", 1_500, seed=1),
              "ztautau": simulate_process("ztautau", 3_000, seed=2)}  # fmt: skip
    tables = [model_training_tables(cfg, cfg.model("augmented"), events, replica=r) for r in (0, 1)]
    same = all(t0.equals(t1) for t0, t1 in zip(tables[0].values(), tables[1].values(), strict=True))
    assert same == (noise == "init")
    assert all(isinstance(t, pd.DataFrame) and np.isfinite(t["weight"]).all() for t in tables[1].values())


def test_replica_noise_must_be_one_of_the_three(raw):
    with pytest.raises(ConfigError, match="replica_noise"):
        load_config(deep_update(raw, {"training": {"replica_noise": "weights"}}))


def test_mass_slices_are_typed_and_must_span_the_generated_range(raw):
    from systlab.config import MassSlices

    good = {"simulate": {"mass_slices": {"ztautau": {"edges": [60, 97, 130], "shares": [0.5, 0.5]}}}}
    assert load_config(deep_update(raw, good)).mass_slices == {"ztautau": MassSlices((60.0, 97.0, 130.0), (0.5, 0.5))}
    for entry, field in (({"edges": [70, 97, 130], "shares": [0.5, 0.5]}, "edges"),
                         ({"edges": [60, 130, 97], "shares": [0.5, 0.5]}, "edges"),
                         ({"edges": [60, 97, 130], "shares": [0.5, 0.4]}, "shares"),
                         ({"edges": [60, 97, 130], "shares": [1.0]}, "shares")):  # fmt: skip
        with pytest.raises(ConfigError, match=f"simulate.mass_slices.ztautau.{field}"):
            load_config(deep_update(raw, {"simulate": {"mass_slices": {"ztautau": entry}}}))
    with pytest.raises(ConfigError, match="mass_slices"):  # only a process generated from a line shape
        load_config(deep_update(raw, {"simulate": {"mass_slices": {"ttbar": {"edges": [0, 1], "shares": [1]}}}}))


def test_a_misspelt_key_names_the_closest_valid_one_and_a_yaml_1_1_number_its_fix(raw):
    with pytest.raises(ConfigError, match=r"field 'fit'.*'mu_rnage' -> did you mean 'mu_range'\?"):
        load_config(deep_update(raw, {"fit": {"mu_rnage": [0, 1]}}), source="my.yaml")
    with pytest.raises(ConfigError, match=r"my.yaml: field 'simulate.luminosity_fb'.*write 1.0e\+9"):
        load_config(deep_update(raw, {"simulate": {"luminosity_fb": "1.0e9"}}), source="my.yaml")


def test_study_replicas_default_to_every_replica_and_are_capped_by_them():
    base = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    training = {k: v for k, v in base["training"].items() if k != "study_replicas"}

    def count(**kw):
        return load_config({**base, "training": {**training, **kw}}).training.study_replica_count

    assert count(replicas=4) == 4 and count(replicas=10, study_replicas=3) == 3
    assert count(replicas=2, study_replicas=3) == 2


@pytest.mark.parametrize("overlay", [None, "tiny.yaml", "fair_example.yaml", "nanoaod_example.yaml"])
def test_validate_and_fill_fills_the_defaults_snakemakes_validate_fills(overlay):
    """The Snakefile's one schema pass (common.smk) leaves the config snakemake.utils.validate left before."""
    import copy

    from snakemake.utils import validate

    raw = yaml.safe_load(DEFAULT.read_text())
    if overlay:
        raw = deep_update(raw, yaml.safe_load((ROOT / "config" / overlay).read_text()))
    ours, theirs = copy.deepcopy(raw), copy.deepcopy(raw)
    validate_and_fill(ours)
    validate(theirs, str(SCHEMA_PATH))
    assert ours == theirs and ours != raw  # defaults were filled, and the same ones
    ours_again = copy.deepcopy(raw)
    validate_and_fill(ours_again)
    assert ours_again == ours  # the cached schema's defaults were copied, not shared


def test_validate_and_fill_names_the_field_before_filling(raw):
    raw["training"]["replicas"] = "ten"
    with pytest.raises(ConfigError, match="field 'training.replicas'"):
        validate_and_fill(raw, source="config.yaml")
