"""The oracle-gap study (issue 20): widths with the target NP profiled and fixed, its share, the templates' Fisher
information on it, and the per-truth table."""

from __future__ import annotations

import numpy as np
import pytest

from systlab.infer.toys import model_expectation
from systlab.likelihood.workspace import build_workspace
from systlab.studies.oracle_gap import Decomposition, decompose, gap_markdown, gap_payload, template_fisher
from systlab.templates.histograms import Templates, hist_from_payload

EDGES = np.linspace(0.0, 1.0, 5)
NOMINAL = {"sig": np.array([5.0, 10.0, 20.0, 40.0]), "bkg": np.array([400.0, 200.0, 80.0, 20.0])}


def spec_with_tes_shift(shift: float) -> dict:
    """A signal + background workspace whose background moves by ``shift`` × (−1, 0, +1, +2) % per σ of TES."""
    slope = shift * np.array([-0.01, 0.0, 0.01, 0.02])
    split = {p: {"nominal": {"counts": n.tolist(), "sumw2": (n / 100).tolist()},
                 "tes_+1sd": {"counts": (n * (1 + (p == "bkg") * slope)).tolist(), "sumw2": (n / 100).tolist()},
                 "tes_-1sd": {"counts": (n * (1 - (p == "bkg") * slope)).tolist(), "sumw2": (n / 100).tolist()}}
             for p, n in NOMINAL.items()}  # fmt: skip
    h = hist_from_payload(EDGES, split)
    templates = Templates(edges=EDGES, splits={"template": h, "toy": h}, signal=("sig",))
    return build_workspace(templates, "sig", ["bkg"], {"tes": False}, {}, 0.02)


def test_pinning_the_np_at_its_truth_narrows_the_interval_by_its_share():
    """On the model's own expectation at α = −1, the width with TES profiled is the NP-fixed width and TES's share
    in quadrature; a steeper TES dependence (×3) means a larger share and ~9× the Fisher information."""
    rows = []
    for shift in (1.0, 3.0):
        spec = spec_with_tes_shift(shift)
        observed = model_expectation(spec, 1.0, {"tes": -1.0})
        rows.append(decompose(spec, observed, "tes", -1.0, (-5.0, 10.0)))
    gentle, steep = rows
    for row in rows:
        assert row.profiled > row.fixed > 0
        assert row.np_share == pytest.approx(np.sqrt(row.profiled**2 - row.fixed**2))
    assert steep.np_share > 1.5 * gentle.np_share
    assert steep.fisher == pytest.approx(9 * gentle.fisher, rel=0.05)


def test_template_fisher_is_the_sum_of_squared_slopes_over_counts():
    spec = spec_with_tes_shift(2.0)
    slope = (model_expectation(spec, 1.0, {"tes": 0.5}) - model_expectation(spec, 1.0, {"tes": 0.3})) / 0.2
    centre = model_expectation(spec, 1.0, {"tes": 0.4})
    assert template_fisher(spec, "tes", 0.4, step=0.1) == pytest.approx(np.sum(slope**2 / centre), rel=1e-9)


def test_the_table_pairs_oracle_and_baseline_by_replica():
    def row(model, replica, profiled, fixed):
        return Decomposition(model, replica, "below", -1.0, profiled, fixed, np.sqrt(profiled**2 - fixed**2), 1.0)

    rows = [row("baseline", "r0", 1.0, 0.8), row("baseline", "r1", 1.2, 0.9), row("oracle_tes_-1sd", "r0", 1.1, 0.7),
            row("oracle_tes_-1sd", "r1", 1.4, 0.8), row("oracle_tes_-1sd", "r2", 9.0, 9.0)]  # r2: no baseline pair
    payload = gap_payload(rows, "tes", "baseline", {"below": "oracle_tes_-1sd"})
    below = payload["truths"]["below"]
    assert below["gap_profiled"]["mean"] == pytest.approx(0.15) and below["gap_profiled"]["n"] == 2
    assert below["gap_fixed"]["mean"] == pytest.approx(-0.1)
    assert below["oracle_profiled"]["mean"] == pytest.approx(1.25)
    text = gap_markdown(payload)
    assert "| below | -1 | oracle − baseline | 0.15 ± 0.05 |" in text


def test_gap_rows_take_each_truth_s_oracle_and_the_baseline_on_that_truth_s_expectation(tmp_path):
    """gap_rows (rule oracle_gap's work): the baseline at every shifted truth, an oracle only at its own truth, each
    fitted on that truth's toy-split expectation of its own templates."""
    import copy
    from pathlib import Path

    import yaml

    from systlab.atomic import write_json
    from systlab.config import load_config
    from systlab.infer.toys import toy_expectation
    from systlab.studies.oracle_gap import gap_rows
    from systlab.templates.histograms import write_templates

    m = copy.deepcopy(yaml.safe_load((Path(__file__).resolve().parents[1] / "config" / "config.yaml").read_text()))
    m["processes"] = {"signal": "htautau", "backgrounds": ["ztautau"]}
    m["systematics"] = {"shape": {"tes": {"nominal": 1.0, "sigma": 0.03}}, "norm": {}, "lumi_sigma": 0.02}
    m["pseudo_data"] = {"below": {"mu": 1.0, "tes": -1.0}, "above": {"mu": 1.0, "tes": 1.0}}
    m["methods"], m["generator_check"] = ["baseline", "oracle"], {"methods": [], "closure_models": []}
    cfg = load_config(m)
    slope = np.array([-0.01, 0.0, 0.01, 0.02])
    processes = {"htautau": NOMINAL["sig"], "ztautau": NOMINAL["bkg"]}
    split = {p: {v: {"counts": (n * (1 + s * (p == "ztautau") * slope)).tolist(), "sumw2": (n / 100).tolist()}
                 for v, s in (("nominal", 0), ("tes_+1sd", 1), ("tes_-1sd", -1), ("truth_below", -1),
                              ("truth_above", 1))} for p, n in processes.items()}  # fmt: skip
    h = hist_from_payload(EDGES, split)
    templates = Templates(edges=EDGES, splits={"template": h, "toy": h}, signal=("htautau",))
    write_templates(templates, tmp_path / "t.json")
    write_json(tmp_path / "w.json", build_workspace(templates, "htautau", ["ztautau"], {"tes": False}, {}, 0.02))
    paths = (tmp_path / "t.json", tmp_path / "w.json")
    models = {("baseline", "r0"): paths, ("oracle_tes_-1sd", "r0"): paths}
    rows = gap_rows(cfg, models, {"below": "oracle_tes_-1sd", "above": "oracle_tes_+1sd"})
    assert sorted((r.model, r.truth) for r in rows) == [("baseline", "above"), ("baseline", "below"),
                                                        ("oracle_tes_-1sd", "below")]  # fmt: skip
    below = next(r for r in rows if r.model == "baseline" and r.truth == "below")
    spec = build_workspace(templates, "htautau", ["ztautau"], {"tes": False}, {}, 0.02)
    want = decompose(spec, toy_expectation(templates, "truth_below", 1.0, "htautau"), "tes", -1.0, cfg.mu_range)
    assert below.alpha == -1.0 and below.profiled == pytest.approx(want.profiled, rel=1e-9)
