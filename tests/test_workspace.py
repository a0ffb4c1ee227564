"""The pyhf workspace: schema-valid, every modifier in place, one-sided NPs mirrored, clear errors."""

from __future__ import annotations

import json

import numpy as np
import pyhf
import pytest

from systlab.likelihood.workspace import (
    WorkspaceError,
    build_workspace,
    read_workspace,
    validate_workspace,
    write_workspace,
)
from systlab.templates.histograms import Templates, hist_from_payload

EDGES = np.linspace(0.0, 1.0, 5)
NOMINAL = {
    "sig": np.array([1.0, 2.0, 5.0, 10.0]),
    "bkg_a": np.array([100.0, 50.0, 20.0, 5.0]),
    "bkg_b": np.array([30.0, 20.0, 10.0, 2.0]),
}
SHIFTS = {  # relative shift per bin of the +1sd template; the one-sided NP overshoots 2x in bin 3
    "tes_+1sd": np.array([-0.05, 0.0, 0.05, 0.1]),
    "tes_-1sd": np.array([0.04, 0.0, -0.05, -0.08]),
    "soft_met_+1sd": np.array([0.02, 0.01, 0.0, 1.5]),
}
SHAPE_NPS = {"tes": False, "soft_met": True}
NORM_NPS = {"xsec_a": (["bkg_a"], 0.1), "bkg_norm": (["bkg_a", "bkg_b"], 0.02)}


def entry(values: np.ndarray) -> dict:
    """Counts and sumw2 (as from unit-weight events)."""
    return {"counts": values.tolist(), "sumw2": values.tolist()}


@pytest.fixture
def templates() -> Templates:
    split = {
        p: {"nominal": entry(nom), **{v: entry(nom * (1 + s)) for v, s in SHIFTS.items()}}
        for p, nom in NOMINAL.items()
    }
    h = hist_from_payload(EDGES, split)
    return Templates(edges=EDGES, splits={"template": h, "toy": h}, signal=("sig",))


@pytest.fixture
def spec(templates) -> dict:
    return build_workspace(templates, "sig", ["bkg_a", "bkg_b"], SHAPE_NPS, NORM_NPS, 0.02)


def modifiers(spec: dict, sample: str) -> dict[str, dict]:
    """Modifiers of one sample by name."""
    (channel,) = spec["channels"]
    (s,) = [s for s in channel["samples"] if s["name"] == sample]
    return {m["name"]: m for m in s["modifiers"]}


def test_workspace_validates_against_pyhf_schema(spec):
    pyhf.schema.validate(spec, "workspace.json")
    model = pyhf.Workspace(spec).model()
    assert model.config.poi_name == "mu"
    expected = {"mu", "lumi", "tes", "soft_met", "xsec_a", "bkg_norm", "staterror_score"}
    assert set(model.config.parameters) == expected


def test_modifiers_present(spec):
    sig = modifiers(spec, "sig")
    assert sig["mu"]["type"] == "normfactor" and sig["lumi"]["type"] == "lumi"
    assert {"tes", "soft_met"} <= set(sig) and "staterror_score" not in sig and "xsec_a" not in sig
    a, b = modifiers(spec, "bkg_a"), modifiers(spec, "bkg_b")
    assert a["xsec_a"] == {"name": "xsec_a", "type": "normsys", "data": {"hi": 1.1, "lo": 0.9}}
    assert "xsec_a" not in b and b["bkg_norm"]["data"] == {"hi": 1.02, "lo": 0.98}
    np.testing.assert_allclose(a["staterror_score"]["data"], np.sqrt(NOMINAL["bkg_a"]))
    np.testing.assert_allclose(a["tes"]["data"]["hi_data"], NOMINAL["bkg_a"] * (1 + SHIFTS["tes_+1sd"]))
    np.testing.assert_allclose(a["tes"]["data"]["lo_data"], NOMINAL["bkg_a"] * (1 + SHIFTS["tes_-1sd"]))
    (lumi,) = spec["measurements"][0]["config"]["parameters"]
    assert lumi["name"] == "lumi" and lumi["auxdata"] == [1.0] and lumi["sigmas"] == [0.02]


def test_one_sided_np_is_mirrored_and_clipped(spec):
    nom = NOMINAL["bkg_b"]
    up = nom * (1 + SHIFTS["soft_met_+1sd"])
    down = modifiers(spec, "bkg_b")["soft_met"]["data"]["lo_data"]
    np.testing.assert_allclose(down[:3], 2 * nom[:3] - up[:3])
    assert down[3] == 0.0  # 2*nom - up < 0 there


def test_observation_is_asimov_at_mu_one(spec):
    expected = sum(NOMINAL.values())
    np.testing.assert_allclose(spec["observations"][0]["data"], expected)
    model = pyhf.Workspace(spec).model()
    np.testing.assert_allclose(model.expected_actualdata(model.config.suggested_init()), expected)


def test_writer_is_deterministic_and_round_trips(spec, tmp_path):
    write_workspace(spec, tmp_path / "a.json")
    write_workspace(read_workspace(tmp_path / "a.json"), tmp_path / "b.json")
    text = (tmp_path / "a.json").read_text()
    assert text == (tmp_path / "b.json").read_text()
    assert text == json.dumps(spec, indent=2, sort_keys=True) + "\n"


def test_zero_background_bin_is_named(templates):
    h = templates.splits["template"]
    for p in ("bkg_a", "bkg_b"):
        h.view(flow=False).value[h.axes["process"].index(p), h.axes["variation"].index("nominal"), 2] = 0.0
    with pytest.raises(WorkspaceError, match=r"score bin 2 \[0\.5, 0\.75\)"):
        build_workspace(templates, "sig", ["bkg_a", "bkg_b"], SHAPE_NPS, NORM_NPS, 0.02)


def test_bad_inputs_raise_clear_errors(templates, spec):
    with pytest.raises(WorkspaceError, match="unknown processes.*bkg_c"):
        build_workspace(templates, "sig", ["bkg_a", "bkg_b"], SHAPE_NPS, {"x": (["bkg_c"], 0.1)}, 0.02)
    with pytest.raises(WorkspaceError, match="clash"):
        build_workspace(templates, "sig", ["bkg_a", "bkg_b"], {"lumi": False}, {}, 0.02)
    with pytest.raises(WorkspaceError, match="jes_\\+1sd.*jes_-1sd"):
        build_workspace(templates, "sig", ["bkg_a", "bkg_b"], {"jes": False}, {}, 0.02)
    broken = json.loads(json.dumps(spec))
    broken["channels"][0]["samples"][0]["modifiers"][0]["type"] = "nonsense"
    with pytest.raises(WorkspaceError, match="invalid pyhf workspace"):
        validate_workspace(broken)


def test_workspace_settings_carry_every_configured_np():
    from systlab.config import load_config_files
    from systlab.likelihood.workspace import workspace_settings

    cfg = load_config_files("config/config.yaml")
    settings = workspace_settings(cfg)
    assert settings["shape_nps"] == {"tes": False, "jes": False, "soft_met": True}
    assert set(settings["norm_nps"]) == {"ttbar_xsec", "diboson_xsec", "bkg_norm"} and settings["lumi_sigma"] == 0.02


def test_the_template_figure_shows_the_workspace_histosys_shapes(templates, spec):
    """The figure's ±1σ background shapes are the workspace's histosys data summed over the backgrounds (the
    one-sided soft MET mirrored and clipped as the workspace holds it)."""
    from systlab.visualize.templates import background_shifts

    shifts = background_shifts(templates, ["bkg_a", "bkg_b"], SHAPE_NPS)
    assert list(shifts) == list(SHAPE_NPS)
    for name in SHAPE_NPS:
        data = [modifiers(spec, b)[name]["data"] for b in ("bkg_a", "bkg_b")]
        for i, key in enumerate(("hi_data", "lo_data")):
            np.testing.assert_allclose(shifts[name][i], np.sum([d[key] for d in data], axis=0), rtol=1e-12)
    assert not np.allclose(shifts["soft_met"][1], 2 * (NOMINAL["bkg_a"] + NOMINAL["bkg_b"]) - shifts["soft_met"][0])
