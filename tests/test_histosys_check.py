"""The grid construction for a fixed classifier agrees with pyhf's histosys fit when the simulated variation is
the histosys interpolation itself, and departs from it when the simulated shape bends beyond ±1σ."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from systlab.config import load_config, variation_name
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
ROOT = Path(__file__).resolve().parents[1]


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
              interpolation: str = "cubic", grid: tuple[float, ...] = GRID):  # fmt: skip
    cfg = dataclasses.replace(tes_only_config(grid=grid), grid_morph_step=morph_step)
    t = templates(bend, scale)
    spec = build_workspace(t, **workspace_settings(cfg))
    truth = 1 + tes * TILT + bend * tes * tes * BEND  # the simulated shape at the true TES (σ), μ = 1.2
    observed = scale * (1.2 * YIELDS["htautau"] * truth + YIELDS["ztautau"] * truth)
    histosys = fit_result_payload(fit_dataset(spec, observed, cfg.mu_range, cfg.scan_points, "expected_x"))
    alphas, specs = grid_specs(cfg, t, "tes")
    return check_dataset(cfg, alphas, specs, observed, spec, histosys, "tes", interpolation), alphas


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
    assert profile.alphas.size == 101 and np.diff(profile.alphas) == pytest.approx(0.1)  # −5…5 (the NP's bounds)


def test_grid_of_a_fixed_classifier_sees_a_shape_the_histosys_interpolation_misses():
    """A quadratic term: the ±1σ templates carry it once, the truth at +2σ four times; the histosys extrapolates
    linearly from ±1σ and misses, the grid holds the simulated +2σ sample."""
    (linear, _), _ = run_check(bend=0.0, tes=2.0)
    (bent, _), _ = run_check(bend=0.5, tes=2.0)
    assert bent.converged
    assert abs(bent.grid_mu_hat - 1.2) < 0.3 * abs(bent.histosys_mu_hat - 1.2)  # the grid knows the true shape
    assert abs(bent.grid_mu_hat - bent.histosys_mu_hat) > 10 * abs(linear.grid_mu_hat - linear.histosys_mu_hat)


def test_on_the_same_points_grid_and_histosys_agree_with_the_same_interpolation_and_code_4p_differs():
    """A TES response bent asymmetrically (±1σ templates not mirror images) on a −1, 0, +1σ grid: the grid (linear
    between its points) and the code-0 histosys fit (linear between the same ±1σ templates) are one model and give
    the same μ̂ and interval; the fits rule's code 4p bends inside ±1σ and gives another (the 2–6 % width
    differences of the tiny run's first histosys check, which compared the grid with code 4p)."""
    (check, _), _ = run_check(bend=1.0, tes=0.5, scale=10.0, morph_step=0.05, interpolation="quadratic",
                              grid=(-1.0, 0.0, 1.0))  # fmt: skip
    width = check.histosys_interval[1] - check.histosys_interval[0]
    assert check.converged
    assert abs(check.grid_mu_hat - check.histosys_mu_hat) < 2e-3 * width
    assert check.grid_interval == pytest.approx(check.histosys_interval, abs=5e-3 * width)
    assert abs(check.default_mu_hat - check.histosys_mu_hat) > 10 * abs(check.grid_mu_hat - check.histosys_mu_hat)
    default_width, grid_width = (i[1] - i[0] for i in (check.default_interval, check.grid_interval))
    assert abs(default_width - width) > 3 * abs(grid_width - width)  # measured: 1.9 % against 0.3 %


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


def full_config(grid: tuple[float, ...]):
    """The default config's NPs (TES with ``grid``, JES, one-sided soft MET, lumi) on two processes, no norm NPs."""
    m = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    m["processes"] = {"signal": "htautau", "backgrounds": ["ztautau"]}
    m["simulate"]["events"] = {"htautau": 1000, "ztautau": 1000}
    m["systematics"]["shape"]["tes"]["grid"] = list(grid)
    m["systematics"]["norm"] = {}
    m["pseudo_data"] = {"x": {"mu": 1.0, "tes": 0.4}}
    m["methods"], m["method_settings"]["aware"] = ["baseline"], {"leave_out": []}
    m["generator_check"] = {"methods": [], "closure_models": []}
    m["templates"] = {"bins": 5, "binning": "signal_quantiles"}
    m["fit"] = {"mu_range": [-1.0, 3.0], "scan_points": 41, "grid_morph_step": 0.125,
                "grid_interpolation": "quadratic"}  # fmt: skip
    return load_config(m)


JES = 0.04 * ((X - 0.5) * 4)  # relative change per σ of JES


def noisy_templates(weight: float, seed: int) -> Templates:
    """Templates of MC events of ``weight`` each: every variation = the same events moved (one noise draw per bin and
    process, shared by the variations as the real samples share their events), plus variation-own noise of a
    tenth of it (bin migration); MC variances weight × counts: staterror matters, as in the default run."""
    rng = np.random.default_rng(seed)
    shapes = {NOMINAL: 0 * X, "tes_+1sd": TILT, "tes_-1sd": -TILT, "jes_+1sd": JES, "jes_-1sd": -JES,
              "soft_met_+1sd": 0.02 * (X - 0.5)}  # fmt: skip
    h = empty_hist(YIELDS, shapes, EDGES)
    view = h.view(flow=False)
    for i, process in enumerate(h.axes["process"]):
        shared = rng.normal(0.0, np.sqrt(weight / YIELDS[process]))
        for j, variation in enumerate(h.axes["variation"]):
            own = rng.normal(0.0, 0.1 * np.sqrt(weight / YIELDS[process])) if variation != NOMINAL else 0.0
            view.value[i, j] = YIELDS[process] * (1 + shapes[variation]) * (1 + shared + own)
            view.variance[i, j] = weight * view.value[i, j]
    return Templates(edges=EDGES, splits={"template": h}, signal=("htautau",))


@pytest.mark.parametrize("grid", [(-1.0, 0.0, 1.0), (-2.0, -1.0, 0.0, 1.0, 2.0)])
def test_a_fixed_classifier_gives_the_histosys_interval_through_the_grid_on_every_dataset(grid):
    """With JES, soft MET and staterror present and MC noise in every template, a fixed classifier whose TES response
    is linear gets the same μ̂ and interval (within 2 % of the width) through the grid as through its histosys
    workspace, on Asimov and on truths inside and beyond the simulated grid (here the histosys fit takes TES past
    the grid's end). The grid samples are the histosys interpolation, so any difference is the construction's."""
    cfg = full_config(grid)
    t = noisy_templates(weight=20.0, seed=3)
    h = t.splits["template"]
    for k in grid:  # the grid samples: the linear TES response of the same noisy events
        if k not in (0.0, 1.0, -1.0):
            name = variation_name("tes", k)
            h = _with_variation(h, name, k)
    t = Templates(edges=EDGES, splits={"template": h}, signal=t.signal)
    spec = build_workspace(t, **workspace_settings(cfg))
    alphas, specs = grid_specs(cfg, t, "tes")
    checks = {}
    for name, (tes, jes) in {"asimov": (0.0, 0.0), "tes_beyond": (-1.8, 0.5), "tes_inside": (0.6, -0.7),
                             "tes_far": (2.6, 0.0)}.items():  # fmt: skip
        truth = (1 + tes * TILT) * (1 + jes * JES)
        observed = YIELDS["htautau"] * truth + YIELDS["ztautau"] * truth
        histosys = fit_result_payload(fit_dataset(spec, observed, cfg.mu_range, cfg.scan_points, name))
        checks[name], _ = check_dataset(cfg, alphas, specs, observed, spec, histosys, "tes", "quadratic")
    for name, c in checks.items():
        width = c.histosys_interval[1] - c.histosys_interval[0]
        assert c.converged, name
        assert (c.grid_interval[1] - c.grid_interval[0]) / width == pytest.approx(1.0, abs=0.02), (name, c)
        assert abs(c.grid_mu_hat - c.histosys_mu_hat) < 0.02 * width, (name, c)
    if grid[-1] == 1.0:  # the histosys fits took TES past both ends of the simulated grid
        assert checks["tes_beyond"].histosys_alpha < grid[0] and checks["tes_far"].histosys_alpha > grid[-1]


def _with_variation(h, name: str, k: float):
    """``h`` with the sample ``name`` = nominal + |k| × (tes_±1sd − nominal): the histosys line at α = k."""
    out = empty_hist(h.axes["process"], [*h.axes["variation"], name], h.axes["score"].edges)
    src, view = h.view(flow=False), out.view(flow=False)
    for i in range(len(out.axes["process"])):
        for j, variation in enumerate(out.axes["variation"]):
            if variation == name:
                side = variation_name("tes", 1 if k > 0 else -1)
                nom, one = (src.value[i, h.axes["variation"].index(v)] for v in (NOMINAL, side))
                view.value[i, j] = nom + abs(k) * (one - nom)
                view.variance[i, j] = src.variance[i, h.axes["variation"].index(NOMINAL)]
            else:
                jj = h.axes["variation"].index(variation)
                view.value[i, j], view.variance[i, j] = src.value[i, jj], src.variance[i, jj]
    return out
