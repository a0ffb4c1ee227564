"""The positive control's machinery (:mod:`systlab.papertoys.control`) on the rotating toy's exact likelihood ratios,
where the answers are known: a fixed classifier's grid profile is the direct pyhf profile of the workspace of the
cell it ends in; the aware construction with exact per-point scores is as narrow as the exact oracle's and the
exact baseline (trained at Z = 1) is wider at Z = 2; the toys' coverage is counted as the item defines it."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyhf
import pytest
import scipy.optimize

from systlab.config.load import load_config_files
from systlab.infer.event_toys import binned_at_points, expected_multiplicities
from systlab.infer.toys import ONE_SIGMA, ToyChunk, merge_chunks
from systlab.likelihood.morph import one_sided_morph
from systlab.papertoys import control
from systlab.papertoys.settings import ControlSettings, parse_paper_toys

SEED = 7
ROOT = Path(__file__).resolve().parents[1]
#: A small control: Z from 1 to 3 (α 0…4), 40 000 template events per class (40× the background yield).
SETTINGS = ControlSettings(z_grid=(1.0, 1.5, 2.0, 2.5, 3.0), true_z=(2.0,), template_events=40_000,
                           data_events=40_000, bins=8, toys=8, morph_step=0.0625, mu_range=(0.0, 2.0),
                           scan_points=41)  # fmt: skip


@pytest.fixture(scope="module")
def samples():
    return control.template_samples(SETTINGS, SEED)


@pytest.fixture(scope="module")
def data():
    return control.data_sample(SETTINGS, SEED, 2.0)


def asimov(model: control.ControlModel, samples, data):
    grid = control.build_grid(model, samples, SETTINGS)
    events = control.data_events(model, data, SETTINGS)
    return grid, events, control.asimov_profile(grid, events, SETTINGS)


def direct_interval(spec: dict, observed: np.ndarray) -> tuple[float, float]:
    """The 68% profile interval of μ from pyhf alone (its own fits, a root finder on −2ΔlnL = 1)."""
    pyhf.set_backend("numpy", "scipy")
    model = pyhf.Workspace(spec).model()
    data = np.concatenate([observed, model.config.auxdata])
    bounds = model.config.suggested_bounds()
    bounds[model.config.poi_index] = SETTINGS.mu_range
    _, best = pyhf.infer.mle.fit(data, model, par_bounds=bounds, return_fitted_val=True)
    mu_hat = pyhf.infer.mle.fit(data, model, par_bounds=bounds)[model.config.poi_index]

    def excess(mu: float) -> float:
        _, value = pyhf.infer.mle.fixed_poi_fit(mu, data, model, par_bounds=bounds, return_fitted_val=True)
        return float(value - best) - 1.0

    lo, hi = SETTINGS.mu_range
    return scipy.optimize.brentq(excess, lo, mu_hat), scipy.optimize.brentq(excess, mu_hat, hi)


def test_grid_profile_of_a_fixed_classifier_is_the_direct_pyhf_fit_of_its_cell(samples, data):
    """The exact baseline at true Z = 2: its grid profile ends in the cell of α = 2 (Z = 2), whose workspace
    carries Z as a histosys to the neighbouring samples; pyhf fitting that workspace alone (made linear towards the
    side of the cell the fit lands in, as the grid's morph is) gives the interval."""
    model = control.analytic_model("baseline", 1.0)
    grid, events, profile = asimov(model, samples, data)
    k = int(np.argmin(np.abs(grid.alphas - profile.alpha_hat)))
    assert grid.alphas[k] == 2.0 and abs(profile.alpha_hat - 2.0) < 0.5  # inside the cell: one workspace decides
    observed = binned_at_points(events, expected_multiplicities(events, 1.0), grid.edges)[k]
    side = 1 if profile.alpha_hat >= grid.alphas[k] else -1  # the grid moves Z linearly towards that neighbour
    lo, hi = direct_interval(one_sided_morph(grid.specs[k], control.NP, side), observed)
    width = hi - lo
    assert profile.converged and not any(profile.interval_open)
    assert profile.interval_68[0] == pytest.approx(lo, abs=0.01 * width)
    assert profile.interval_68[1] == pytest.approx(hi, abs=0.01 * width)


def test_aware_construction_with_exact_scores_matches_the_oracle_and_beats_the_baseline(samples, data):
    """Exact per-point scores f(x; Z_k) through the aware construction: within 5% of the exact oracle at the true
    Z = 2; the exact Z = 1 classifier, 45° off at Z = 2, gives a wider interval (the information it loses)."""
    widths = {}
    for name, z in (("aware", None), ("oracle", 2.0), ("baseline", 1.0)):
        _, _, profile = asimov(control.analytic_model(name, z), samples, data)
        assert profile.converged and profile.mu_hat == pytest.approx(1.0, abs=0.03)
        widths[name] = profile.interval_68[1] - profile.interval_68[0]
    assert widths["aware"] <= 1.05 * widths["oracle"]
    assert widths["baseline"] > 1.1 * widths["oracle"]


def test_control_payload_counts_coverage_and_ratios_as_defined(samples):
    """run_control end to end on exact scores (8 toys): coverage is a count over the toys with σ68 of that count,
    the ratios are those of the replica-mean widths, and every check's verdict follows from its numbers."""
    models = {"baseline": [control.analytic_model("baseline", 1.0)],
              "augmented": [control.analytic_model("augmented", 1.0)],
              "aware": [control.analytic_model("aware", None)],
              "oracle_Z2": [control.analytic_model("oracle_Z2", 2.0)]}  # fmt: skip
    payload = control.run_control(models, SETTINGS, SEED)
    methods = payload["datasets"]["Z=2"]["methods"]
    assert set(methods) == {"baseline", "augmented", "aware", "oracle"} and methods["oracle"]["model"] == "oracle_Z2"
    for method in methods.values():
        c = method["coverage"]
        assert c["n_toys"] == 8 and c["n_used"] + c["n_failed"] == 8
        assert c["coverage"] * c["n_used"] == pytest.approx(round(c["coverage"] * c["n_used"]))
        assert c["sigma68"] == pytest.approx(math.sqrt(ONE_SIGMA * (1 - ONE_SIGMA) / c["n_used"]))
        assert c["within_3_sigma68"] == (abs(c["coverage"] - ONE_SIGMA) <= 3 * c["sigma68"])
        assert method["width"]["mean"] == pytest.approx(method["replicas"][0]["width"])
    # the same pseudo-experiments for every method: the exact baseline and its copy (augmented) agree toy by toy
    same = {k: v for k, v in methods["baseline"]["coverage"].items() if k != "seconds_per_toy"}
    assert same == {k: v for k, v in methods["augmented"]["coverage"].items() if k != "seconds_per_toy"}
    ratio = methods["aware"]["width"]["mean"] / methods["oracle"]["width"]["mean"]
    assert payload["ratios"]["aware/oracle"]["ratio"] == pytest.approx(ratio)
    checks = {c["name"]: c for c in payload["checks"]}
    assert checks["aware_width_vs_oracle_Z2"]["passed"] == (ratio <= control.AWARE_OVER_ORACLE_MAX)
    assert payload["passed"] == all(c["passed"] for c in checks.values()) and len(checks) == 6


def chunk(n: int, covering: int) -> ToyChunk:
    """``n`` toys at μ = 1 whose first ``covering`` intervals contain it (the others lie above it)."""
    lo = np.where(np.arange(n) < covering, 0.9, 1.05)
    return ToyChunk(0, n, 1, np.ones(n), lo + 0.1, lo, lo + 0.2, np.ones(n, bool), np.zeros(n, bool),
                    np.zeros(n, bool), np.ones(n, int), 1.0)  # fmt: skip


@pytest.mark.parametrize(("covering", "inside"), [(320, True), (310, False), (366, True), (376, False)])
def test_coverage_check_is_0_6827_within_3_sigma68_of_the_toys(covering, inside):
    """500 toys: σ68 = 0.0208, so 320 covering (0.640, −2.05σ68) and 366 (0.732, +2.37σ68) pass, 310 (0.620,
    −3.02σ68) and 376 (0.752, +3.33σ68) fail."""
    coverage = merge_chunks([chunk(500, covering)])
    summary = control.coverage_summary(coverage)
    assert summary["coverage"] == pytest.approx(covering / 500) and summary["n_used"] == 500
    assert summary["sigma68"] == pytest.approx(math.sqrt(ONE_SIGMA * (1 - ONE_SIGMA) / 500))
    assert summary["within_3_sigma68"] is inside
    (check,) = control.control_checks({}, {"aware": coverage}, 2.0)
    assert check.passed is inside and check.values["n_toys"] == 500


def test_control_settings_reject_a_grid_the_aware_model_was_not_trained_on():
    raw = {"paper_toys": {"toys": {"rotating": ["baseline"]}, "control": {"z_grid": [0, 1, 2, 3.5]}}}
    with pytest.raises(ValueError, match="paper_toys.control.*outside the aware training range"):
        parse_paper_toys(raw)
    raw["paper_toys"]["control"] = {"z_grid": [0, 1, 2], "true_z": [2.5]}
    with pytest.raises(ValueError, match="true_z.*outside z_grid"):
        parse_paper_toys(raw)
    settings = parse_paper_toys({"paper_toys": {"control": {"toys": 600, "z_grid": [2, 0, 1]}}}).control
    assert settings.toys == 600 and settings.z_grid == (0.0, 1.0, 2.0)


def test_control_rules_dry_run(tmp_path):
    """The default config runs the control on the four rotating models of every replica; the tiny config leaves it
    out (no augmented model there: CI time)."""
    for name in ("Snakefile", "workflow", "config", "resources"):
        (tmp_path / name).symlink_to(ROOT / name)
    targets = ["results/paper_toys/rotating/control.json", "results/figures/toy_positive_control.pdf"]
    run = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "1", *targets], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    for rule in ("paper_toy_control", "figure_toy_positive_control"):
        assert f"rule {rule}:" in run.stdout or f"\n{rule} " in run.stdout, rule
    for model in ("baseline", "augmented", "aware", "oracle_Z2"):
        assert f"results/paper_toys/rotating/{model}/r2/model.onnx" in run.stdout, model
    tiny = load_config_files(ROOT / "config" / "config.yaml", ROOT / "config" / "tiny.yaml").paper_toys
    assert "augmented" not in tiny.toys["rotating"]  # common.smk's paper_toy_control() needs all four
