"""The grid construction for a fixed classifier agrees with pyhf's histosys fit when the simulated variation is
the histosys interpolation itself, and departs from it when the simulated shape bends beyond ±1σ."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from systlab.config import variation_name
from systlab.infer.fit import fit_dataset, fit_result_payload
from systlab.likelihood.grid_points import GridPoint
from systlab.likelihood.workspace import build_workspace, workspace_settings
from systlab.studies.histosys_check import check_dataset, check_payload, fixed_point_templates, grid_specs, write_check
from systlab.templates.histograms import NOMINAL, Templates, empty_hist
from test_grid_inputs import tes_only_config

EDGES = np.linspace(0.0, 1.0, 6)
X = 0.5 * (EDGES[1:] + EDGES[:-1])
YIELDS = {"htautau": 300 * np.exp(2 * X), "ztautau": 4000 * np.exp(-2 * X)}
TILT = 0.06 * (X - 0.5) * 4  # relative change per σ of TES
BEND = 0.06 * ((X - 0.5) * 4) ** 2 - 0.06  # a shape the linear part cannot mimic
GRID = (-2.0, -1.0, 0.0, 1.0, 2.0)


def templates(bend: float = 0.0, scale: float = 1.0) -> Templates:
    """Every TES grid sample = nominal × (1 + k·TILT + bend·k²·BEND): linear (histosys-exact) for bend = 0."""
    variations = [NOMINAL] + [variation_name("tes", k) for k in GRID if k]
    h = empty_hist(YIELDS, variations, EDGES)
    view = h.view(flow=False)
    for i, process in enumerate(h.axes["process"]):
        for j, variation in enumerate(h.axes["variation"]):
            k = 0.0 if variation == NOMINAL else float(variation.split("_")[1][:-2])
            view.value[i, j] = scale * YIELDS[process] * (1 + k * TILT + bend * k * k * BEND)
            view.variance[i, j] = 1e-4 * view.value[i, j]  # tiny MC-statistical widths
    return Templates(edges=EDGES, splits={"template": h}, signal=("htautau",))


def run_check(bend: float, tes: float = 0.5, scale: float = 1.0, morph_step: float = 0.0,
              interpolation: str = "cubic"):  # fmt: skip
    cfg = dataclasses.replace(tes_only_config(grid=GRID), grid_morph_step=morph_step)
    t = templates(bend, scale)
    spec = build_workspace(t, **workspace_settings(cfg))
    truth = 1 + tes * TILT + bend * tes * tes * BEND  # the simulated shape at the true TES (σ), μ = 1.2
    observed = scale * (1.2 * YIELDS["htautau"] * truth + YIELDS["ztautau"] * truth)
    histosys = fit_result_payload(fit_dataset(spec, observed, cfg.mu_range, cfg.scan_points, "expected_x"))
    alphas, specs = grid_specs(cfg, t, "tes")
    return check_dataset(cfg, alphas, specs, observed, histosys, "tes", interpolation), alphas


def test_grid_of_a_fixed_classifier_reproduces_the_histosys_fit_for_a_linear_variation(tmp_path):
    (check, profile), alphas = run_check(bend=0.0)
    assert check.converged and check.histosys_alpha == pytest.approx(0.5, abs=0.05)
    assert check.grid_mu_hat == pytest.approx(check.histosys_mu_hat, abs=2e-3)
    assert check.grid_alpha == pytest.approx(check.histosys_alpha, abs=1e-2)
    assert check.grid_interval == pytest.approx(check.histosys_interval, abs=3e-3)
    write_check(check_payload([check], "tes", alphas, "cubic"), tmp_path / "check.json")
    row = json.loads((tmp_path / "check.json").read_text())["datasets"]["expected_x"]
    assert row["width_ratio"] == pytest.approx(1.0, abs=5e-3) and abs(row["delta_mu_hat"]) < 2e-3


def test_morphing_between_grid_points_follows_the_histosys_where_the_data_pin_the_np():
    """30× the events: the data constrain TES to ~0.1σ, a grid spacing of 1σ is coarse and a parabola through
    −2lnL at the grid points misses; with TES moved inside each point's workspace (morph) the grid is the
    histosys fit (both interpolate linearly between the same simulated samples)."""
    (coarse, _), _ = run_check(bend=0.0, tes=0.3, scale=30.0, interpolation="quadratic")
    (morph, profile), _ = run_check(bend=0.0, tes=0.3, scale=30.0, morph_step=0.1, interpolation="quadratic")
    width = morph.histosys_interval[1] - morph.histosys_interval[0]
    assert morph.converged and morph.histosys_alpha == pytest.approx(0.3, abs=0.01)
    assert abs(morph.grid_mu_hat - morph.histosys_mu_hat) < 2e-3 * width
    assert morph.grid_interval == pytest.approx(morph.histosys_interval, abs=2e-3 * width)
    assert morph.grid_alpha == pytest.approx(morph.histosys_alpha, abs=2e-3)
    assert abs(coarse.grid_mu_hat - coarse.histosys_mu_hat) > 10 * abs(morph.grid_mu_hat - morph.histosys_mu_hat)
    assert profile.alphas.size == 41 and np.diff(profile.alphas) == pytest.approx(0.1)  # −2…2 in steps of 0.1


def test_grid_of_a_fixed_classifier_sees_a_shape_the_histosys_interpolation_misses():
    """A quadratic term: the ±1σ templates carry it once, the truth at +2σ four times; the histosys extrapolates
    linearly from ±1σ and misses, the grid holds the simulated +2σ sample."""
    (linear, _), _ = run_check(bend=0.0, tes=2.0)
    (bent, _), _ = run_check(bend=0.5, tes=2.0)
    assert bent.converged
    assert abs(bent.grid_mu_hat - 1.2) < 0.3 * abs(bent.histosys_mu_hat - 1.2)  # the grid knows the true shape
    assert abs(bent.grid_mu_hat - bent.histosys_mu_hat) > 10 * abs(linear.grid_mu_hat - linear.histosys_mu_hat)


def test_fixed_point_templates_need_the_grid_sample():
    t = templates()
    cfg = tes_only_config(grid=(-3.0, 0.0, 3.0))
    with pytest.raises(ValueError, match="tes_-3sd"):
        grid_specs(cfg, t, "tes")
    points = [GridPoint(float(k), variation_name("tes", k), NOMINAL if k == 0 else variation_name("tes", k))
              for k in (-1.0, 0.0, 1.0)]  # fmt: skip
    h = fixed_point_templates(t, points[1], {}, "tes", (points[0], points[2])).splits["template"]
    assert list(h.axes["variation"]) == [NOMINAL, "tes_+1sd", "tes_-1sd"]  # nominal and the morph's ±1
    assert h.view().value == pytest.approx(t.splits["template"].view().value[:, [0, 1, 3]])  # linear: the samples
    missing = GridPoint(-4.0, "tes_-4sd", "tes_-4sd")
    with pytest.raises(ValueError, match="tes_-4sd"):
        fixed_point_templates(t, points[0], {}, "tes", (missing, points[1]))
