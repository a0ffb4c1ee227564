"""Grid workspaces of a parameterized classifier from per-point score tables, event-level pseudo-data, grid fits."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.interpolate
import scipy.optimize
import yaml

from systlab.config import load_config
from systlab.events import SPLITS
from systlab.infer.event_toys import (
    binned,
    binned_at_points,
    bootstrapped_multiplicities,
    expected_multiplicities,
    poisson_multiplicities,
    truth_events,
)
from systlab.infer.grid_fit import grid_fit, grid_fit_payload, grid_observations
from systlab.infer.grid_profile import grid_profile
from systlab.likelihood.grid_inputs import (
    build_grid_workspaces,
    grid_points,
    parameterized_models,
    point_samples,
    read_grid_scores,
)

ROOT = Path(__file__).resolve().parents[1]
N_EVENTS = {"htautau": 60_000, "ztautau": 300_000}
YIELD = {"htautau": 400.0, "ztautau": 4000.0}
SLOPE = 0.04  # score shift per σ of TES between the simulated TES and the classifier's α


def tes_only_config(lumi_sigma: float = 1e-4, grid: tuple[float, ...] = (-1, 0, 1)):
    """The default config with TES as the only NP (grid −1, 0, +1σ), one background, one shifted truth."""
    m = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    m = copy.deepcopy(m)
    m["processes"] = {"signal": "htautau", "backgrounds": ["ztautau"]}
    m["simulate"]["events"] = {"htautau": 1000, "ztautau": 1000}
    m["systematics"] = {"shape": {"tes": {"nominal": 1.0, "sigma": 0.03, "grid": list(grid)}}, "norm": {},
                        "lumi_sigma": lumi_sigma}  # fmt: skip
    m["pseudo_data"] = {"x": {"mu": 1.2, "tes": 0.4}}
    m["methods"] = ["aware"]
    m["method_settings"]["aware"] = {"leave_out": []}  # no interior point to leave out of a 3-point grid
    m["generator_check"] = {"methods": [], "closure_models": []}  # needs the baseline and fixed classifiers
    m["templates"] = {"bins": 5, "binning": "signal_quantiles"}
    m["fit"] = {"mu_range": [0.0, 3.0], "scan_points": 31}
    return load_config(m)


def base_scores(process: str, rng: np.random.Generator) -> np.ndarray:
    u = rng.uniform(size=N_EVENTS[process])
    return 0.1 + 0.8 * (np.sqrt(u) if process == "htautau" else u**2)


def score_at(base: np.ndarray, simulated: float, alpha: float) -> np.ndarray:
    """The toy classifier f(x; α): events simulated at TES shift t score base + SLOPE·(t − α), stretched with α
    (so every grid point gets its own bin edges and MC-statistics widths)."""
    return np.clip(base + SLOPE * (simulated - alpha) + 0.1 * alpha * (base - 0.5), 0.0, 1.0)


def write_point_tables(cfg, directory: Path) -> list[Path]:
    """One score table per grid point (columns of score_grid_point), halves template / toy split."""
    rng = np.random.default_rng(7)
    bases = {p: base_scores(p, rng) for p in N_EVENTS}
    shifts = {v: cfg.variation_shifts(v).get("tes", 0.0) for v in cfg.variation_names()}
    paths = []
    for point in grid_points(cfg, "tes"):
        frames = []
        for process, base in bases.items():
            n = base.size
            split = np.where(np.arange(n) % 2 == 0, SPLITS["template"], SPLITS["toy"]).astype(np.int8)
            for variation in point_samples(cfg, "tes", point):
                frames.append(pd.DataFrame({
                    "process": process, "variation": variation, "event_id": np.arange(n, dtype=np.uint64),
                    "weight": np.full(n, 2.0 * YIELD[process] / n), "split": split,
                    "label": np.int8(process == "htautau"),
                    "score": score_at(base, shifts[variation], point.alpha).astype(np.float32)}))  # fmt: skip
        path = directory / f"{point.label}.parquet"
        pd.concat(frames, ignore_index=True).to_parquet(path, index=False)
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def tes_only(tmp_path_factory):
    cfg = tes_only_config()
    paths = write_point_tables(cfg, tmp_path_factory.mktemp("grid"))
    grid = build_grid_workspaces(cfg, "tes", paths)
    per_point = [read_grid_scores(p) for p in paths]
    return cfg, grid, per_point


def strip_nuisances(spec: dict) -> dict:
    """The same workspace with μ as the only parameter (no lumi, no staterror)."""
    spec = copy.deepcopy(spec)
    for sample in spec["channels"][0]["samples"]:
        sample["modifiers"] = [m for m in sample["modifiers"] if m["type"] == "normfactor"]
    spec["measurements"][0]["config"]["parameters"] = []
    return spec


def plain_grid_profile(grid, observed, mu_range):
    """−2lnL from the Poisson deviance of each grid point's templates + prior α², spline in α, profiled by hand."""
    samples = [{s["name"]: np.asarray(s["data"]) for s in spec["channels"][0]["samples"]} for spec in grid.specs]

    def profile(mu: float) -> float:
        values = []
        for sample, n, a in zip(samples, observed, grid.alphas, strict=True):
            nu = mu * sample["htautau"] + sample["ztautau"]
            values.append(2 * np.sum(nu - n + n * np.log(n / nu)) + a**2)
        spline = scipy.interpolate.CubicSpline(grid.alphas, values)
        return scipy.optimize.minimize_scalar(spline, bounds=(grid.alphas[0], grid.alphas[-1]), method="bounded",
                                              options={"xatol": 1e-9}).fun  # fmt: skip

    best = scipy.optimize.minimize_scalar(profile, bounds=mu_range, method="bounded", options={"xatol": 1e-9})
    lo = scipy.optimize.brentq(lambda m: profile(m) - best.fun - 1, mu_range[0], best.x)
    hi = scipy.optimize.brentq(lambda m: profile(m) - best.fun - 1, best.x, mu_range[1])
    return best.x, (lo, hi)


def test_grid_workspaces_morph_tes_to_the_neighbours_and_have_their_own_binning(tes_only):
    cfg, grid, per_point = tes_only
    assert parameterized_models(cfg) == ("aware",)
    assert grid.labels == ("tes_-1sd", "tes_+0sd", "tes_+1sd") and grid.alphas.tolist() == [-1.0, 0.0, 1.0]
    for spec, alpha in zip(grid.specs, grid.alphas, strict=True):
        types = {m["type"] for s in spec["channels"][0]["samples"] for m in s["modifiers"]}
        assert types == {"normfactor", "lumi", "staterror", "histosys"}
        assert {"name": "tes", "auxdata": [-alpha]} in spec["measurements"][0]["config"]["parameters"]
    # at the middle point the TES histosys leads (one σ away) exactly to the neighbours' samples, scored with
    # the middle point's f(x; 0) and binned with its edges
    middle = {s["name"]: s for s in grid.specs[1]["channels"][0]["samples"]}["ztautau"]
    tes = next(m for m in middle["modifiers"] if m["name"] == "tes")["data"]
    rows = per_point[1]
    for key, variation in (("hi_data", "tes_+1sd"), ("lo_data", "tes_-1sd")):
        t = rows[("ztautau", variation)]
        t = t[t["split"] == SPLITS["template"]]
        expected = binned(t["score"].to_numpy(), t["weight"].to_numpy(), grid.edges[1])
        assert tes[key] == pytest.approx(expected, rel=1e-9)
    # each point is binned at its own signal quantiles (the classifier's output stretches with α)
    assert not np.allclose(grid.edges[0], grid.edges[2], atol=1e-3)


def test_only_tes_active_the_full_workspace_grid_equals_the_plain_grid_profile(tes_only):
    cfg, grid, per_point = tes_only
    observed = grid_observations(cfg, grid, per_point, "expected_x")
    mu_hat, interval = plain_grid_profile(grid, observed, cfg.mu_range)
    bare = grid_profile([strip_nuisances(s) for s in grid.specs], observed, grid.alphas, mu_range=cfg.mu_range,
                        scan_points=31, half_grid=False)  # fmt: skip
    assert bare.mu_hat == pytest.approx(mu_hat, abs=2e-4)
    assert bare.interval_68 == pytest.approx(interval, abs=2e-4)
    # the workspaces as built (lumi σ 1e-4 and MC-statistics gammas of a large MC sample kept): the same answer
    # up to the small extra width of the MC-statistics NPs, whose ln σ constraint terms must not bias α
    full, profile = grid_fit(cfg, grid, observed, "expected_x")
    width = interval[1] - interval[0]
    assert full.converged and full.mu_hat == pytest.approx(mu_hat, abs=0.01 * width)
    assert full.interval_68 == pytest.approx(interval, abs=0.02 * width)
    assert profile.alpha_hat == pytest.approx(bare.alpha_hat, abs=0.05)
    payload = grid_fit_payload(full, profile, "tes")
    assert {"mu_hat", "mu_error", "interval_68", "interval_open", "scan", "pulls", "converged", "nll_min",
            "notes", "grid"} <= set(payload)  # fmt: skip
    assert payload["grid"]["alphas"] == [-1.0, 0.0, 1.0] and len(payload["grid"]["per_point"]) == 3


def test_asimov_through_the_grid_gives_mu_one_and_alpha_zero(tmp_path):
    """Asimov = the model at α = 0: exact at the α = 0 point; between points only the interpolation errs, so a
    grid fine near 0 (spacing 0.5σ) finds μ̂ = 1 and α̂ = 0 closely, the 3-point grid (spacing 1σ) less so."""
    for grid_alphas, tolerance in (((-2, -1, -0.5, 0, 0.5, 1, 2), 0.01), ((-1, 0, 1), 0.1)):
        cfg = tes_only_config(grid=grid_alphas)
        paths = write_point_tables(cfg, tmp_path)
        grid = build_grid_workspaces(cfg, "tes", paths)
        per_point = [read_grid_scores(p) for p in paths]
        result, profile = grid_fit(cfg, grid, grid_observations(cfg, grid, per_point, "asimov"), "asimov")
        assert result.mu_hat == pytest.approx(1.0, abs=tolerance), grid_alphas
        assert profile.alpha_hat == pytest.approx(0.0, abs=5 * tolerance), grid_alphas
        assert "tes" in result.pulls and result.interval_68[0] < 1.0 < result.interval_68[1]


def test_with_the_morph_the_3_point_grid_finds_mu_one_and_alpha_zero_on_asimov(tmp_path):
    """The α = 0 point's cell is the nominal model moved by TES at a fixed observable: no interpolation error."""
    cfg = dataclasses.replace(tes_only_config(grid=(-1, 0, 1)), grid_morph_step=0.1)
    paths = write_point_tables(cfg, tmp_path)
    grid = build_grid_workspaces(cfg, "tes", paths)
    per_point = [read_grid_scores(p) for p in paths]
    result, profile = grid_fit(cfg, grid, grid_observations(cfg, grid, per_point, "asimov"), "asimov", "quadratic")
    assert result.mu_hat == pytest.approx(1.0, abs=0.01) and profile.alpha_hat == pytest.approx(0.0, abs=0.02)
    assert profile.alphas.size == 101 and profile.simulated_alphas.tolist() == [-1.0, 0.0, 1.0]  # −5…5 by 0.1


def test_model_toys_of_the_grid_draw_around_the_templates(tes_only):
    """Template-split nominal events at μ = 1, binned at the α = 0 point: exactly that point's workspace yields."""
    cfg, grid, per_point = tes_only
    events = truth_events(per_point, "nominal", [cfg.signal], split="template")
    centre = int(np.argmin(np.abs(grid.alphas)))
    counts = binned_at_points(events, expected_multiplicities(events, 1.0), grid.edges)[centre]
    yields = np.sum([s["data"] for s in grid.specs[centre]["channels"][0]["samples"]], axis=0)
    assert counts == pytest.approx(yields, rel=1e-9)
    held_out = truth_events(per_point, "nominal", [cfg.signal])
    assert not np.isin(held_out.event_id, events.event_id).any()  # the two splits share no event


def test_event_level_poisson_data_give_the_same_totals_in_any_binning(tes_only):
    cfg, grid, per_point = tes_only
    events = truth_events(per_point, "truth_x", [cfg.signal])
    counts = poisson_multiplicities(events.weight, np.random.default_rng(3))
    fine = np.linspace(0.0, 1.0, 41)
    coarse = fine[::8]
    for scores in events.scores:  # every grid point's classifier sees the same pseudo-events
        assert binned(scores, counts, fine).reshape(5, 8).sum(axis=1) == pytest.approx(binned(scores, counts, coarse))
        assert binned(scores, counts, coarse).sum() == pytest.approx(counts.sum())
    per_point_counts = binned_at_points(events, counts, grid.edges)
    assert all(c.sum() == pytest.approx(counts.sum()) for c in per_point_counts)
    assert all(np.equal(np.mod(c, 1), 0).all() for c in per_point_counts)  # integer counts in every binning


def test_pseudo_events_must_be_the_same_at_every_grid_point(tes_only):
    cfg, _, per_point = tes_only
    shuffled = [dict(t) for t in per_point]
    key = ("ztautau", "truth_x")
    shuffled[1][key] = shuffled[1][key].iloc[::-1].reset_index(drop=True)
    with pytest.raises(ValueError, match="grid point 1: the events of 'truth_x' differ"):
        truth_events(shuffled, "truth_x", [cfg.signal])


def test_a_missing_grid_point_is_rejected_clearly(tes_only, tmp_path):
    cfg, _, _ = tes_only
    paths = write_point_tables(cfg, tmp_path)
    with pytest.raises(ValueError, match="2 grid score files for 3 grid points"):
        build_grid_workspaces(cfg, "tes", paths[:2])
    with pytest.raises(ValueError, match="expected the scores of grid point tes_\\+0sd"):
        build_grid_workspaces(cfg, "tes", [paths[0], paths[2], paths[1]])
    missing_truth = read_grid_scores(paths[0])
    with pytest.raises(KeyError, match="no scores of pseudo-data sample 'truth_y'"):
        truth_events([missing_truth], "truth_y", [cfg.signal])
    m = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    m["systematics"]["shape"]["tes"]["grid"] = [-1, 1]
    with pytest.raises(ValueError, match="systematics.shape.tes.grid"):
        grid_points(load_config(m), "tes")


def test_bootstrapped_toys_vary_by_poisson_plus_the_mc_statistical_variance():
    """Per bin: mean = expectation, variance = expectation + Σw² (what the staterror NPs describe)."""
    rng = np.random.default_rng(11)
    weights = rng.uniform(0.5, 3.0, size=4000)
    scores = rng.uniform(size=weights.size)
    edges = np.array([0.0, 0.5, 1.0])
    counts = np.array([binned(scores, bootstrapped_multiplicities(weights, rng), edges) for _ in range(4000)])
    expected = binned(scores, weights, edges)
    mc_variance = binned(scores, weights**2, edges)
    assert counts.mean(axis=0) == pytest.approx(expected, rel=0.01)
    assert counts.var(axis=0) == pytest.approx(expected + mc_variance, rel=0.08)
    plain = np.array([binned(scores, poisson_multiplicities(weights, rng), edges) for _ in range(4000)])
    assert plain.var(axis=0) == pytest.approx(expected, rel=0.08)  # without the bootstrap: Poisson only


def test_a_signal_region_cuts_every_grid_point_at_its_own_signal_quantile(tmp_path):
    """templates.signal_efficiency: each point's lowest edge keeps that share of its own signal (f(x; α_k) differs
    per point), the pseudo-data are binned in the same range, and the Asimov still gives μ̂ = 1 at α = 0."""
    cfg = dataclasses.replace(tes_only_config(grid=(-1, 0, 1)), grid_morph_step=0.1, signal_efficiency=0.7)
    paths = write_point_tables(cfg, tmp_path)
    grid = build_grid_workspaces(cfg, "tes", paths)
    per_point = [read_grid_scores(p) for p in paths]
    for point, edges, rows, spec in zip(grid_points(cfg, "tes"), grid.edges, per_point, grid.specs, strict=True):
        signal = rows[("htautau", point.sample)]  # the sample simulated at α_k, scored with f(x; α_k)
        signal = signal[signal["split"] == SPLITS["template"]]
        kept = signal["weight"][signal["score"] >= edges[0]].sum() / signal["weight"].sum()
        assert edges[0] > 0.0 and kept == pytest.approx(0.7, abs=0.01)
        samples = {s["name"]: s for s in spec["channels"][0]["samples"]}
        assert sum(samples["htautau"]["data"]) == pytest.approx(signal["weight"][signal["score"] >= edges[0]].sum())
    result, profile = grid_fit(cfg, grid, grid_observations(cfg, grid, per_point, "asimov"), "asimov", "quadratic")
    assert result.mu_hat == pytest.approx(1.0, abs=0.01) and profile.alpha_hat == pytest.approx(0.0, abs=0.02)
