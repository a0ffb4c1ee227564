"""Inference figures (profile curves, width vs α, coverage, impacts, asymptotics) from small synthetic files
laid out as the workflow writes them: the readers, the curve densification, and non-empty PDF + PNG."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from systlab.visualize.asymptotics import plot_asymptotics
from systlab.visualize.coverage import plot_coverage
from systlab.visualize.impacts import plot_impacts, select_rows
from systlab.visualize.inference_inputs import (
    dense_curves,
    impact_rows,
    interval_widths,
    models_for_truth,
    profile_curves,
    toy_figures,
)
from systlab.visualize.profile_curves import plot_profile_curves
from systlab.visualize.style import save_figure
from systlab.visualize.width_vs_alpha import plot_width_vs_alpha

MODELS = ("baseline", "aware", "oracle_tes_-1sd", "oracle_tes_0sd", "oracle_tes_+1sd")
TRUTHS = {"below": -1.0, "nominal": 0.0, "above": 1.0}
REPLICAS = ("r0", "r1")


def write(path: Path, payload: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload))
    return path


def parabola_fit(mu_hat: float, sigma: float) -> dict:
    """A fit-result JSON with the exact −2ΔlnL = ((μ − μ̂)/σ)² on a coarse scan."""
    mu = np.linspace(-1.0, 3.0, 9)
    q = ((mu - mu_hat) / sigma) ** 2
    return {"mu_hat": mu_hat, "interval_68": [mu_hat - sigma, mu_hat + sigma],
            "scan": {"mu": mu.tolist(), "twice_dnll": [None if i == 0 else v for i, v in enumerate(q)]}}  # fmt: skip


@pytest.fixture
def results(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    for m_i, model in enumerate(MODELS):
        for r_i, replica in enumerate(REPLICAS):
            for t_i, truth in enumerate(TRUTHS):
                fit = parabola_fit(1.0 + 0.05 * (r_i + t_i), 0.3 + 0.02 * m_i + 0.01 * r_i)
                write(tmp_path / "fits" / model / replica / f"expected_{truth}.json", fit)
            toy = {"coverage": 0.68 - 0.05 * r_i, "sigma68": 0.047, "mean_width": 0.6 + 0.02 * m_i, "score": 0.4}
            if model != "aware":  # a writer without q_mu: the figure must say so, not fail
                toy["q_mu_true"] = [*rng.chisquare(1, 100).tolist(), None]
            write(tmp_path / "toys" / model / f"{replica}.json", toy)
    for replica in REPLICAS:
        ranking = [{"name": n, "postfit_up": s, "postfit_down": -0.8 * s, "prefit_up": 1.5 * s, "prefit_down": -s}
                   for n, s in (("jes", 0.2), ("staterror_c[0]", 0.15), ("tes", 0.1), ("lumi", 0.05),
                                ("staterror_c[1]", 0.01), ("staterror_c[2]", 0.005))]  # fmt: skip
        pulls = {r["name"]: {"pull": 0.1, "constraint": 0.6, "over_constrained": False} for r in ranking}
        write(tmp_path / "inference" / "baseline" / replica / "impacts.json", {"pulls": pulls, "ranking": ranking})
    return tmp_path


def saved(fig, tmp_path: Path, name: str) -> None:
    save_figure(fig, tmp_path / f"{name}.pdf", "test")
    for suffix in (".pdf", ".png"):
        assert (tmp_path / f"{name}{suffix}").stat().st_size > 5000, suffix


def test_profile_curves_figure(results):
    curves = profile_curves(sorted(results.glob("fits/*/*/expected_*.json")))
    assert set(curves) == {f"expected_{t}" for t in TRUTHS}
    panels = [(truth, {m: curves[f"expected_{truth}"][m] for m in models_for_truth(MODELS, shift)})
              for truth, shift in TRUTHS.items()]  # fmt: skip
    assert list(panels[0][1]) == ["baseline", "aware", "oracle_tes_-1sd"]
    saved(plot_profile_curves(panels, lumi_fb=10.0, note="synthetic"), results, "profile_curves")


def test_dense_curves_touch_zero_at_mu_hat_and_cross_one_at_the_interval_ends(results):
    curves = profile_curves(sorted(results.glob("fits/baseline/*/expected_nominal.json")))["expected_nominal"]
    curves = curves["baseline"]
    dense = dense_curves(curves, points=4001)
    for k, (lo, hi) in enumerate(curves.intervals):
        assert np.interp(curves.mu_hat[k], dense.mu, dense.q[k]) == pytest.approx(0.0, abs=2e-3)
        assert np.interp([lo, hi], dense.mu, dense.q[k]) == pytest.approx([1.0, 1.0], abs=2e-3)
    assert np.isnan(dense.q[:, 0]).all()  # the undefined first scan point is not extrapolated


def test_width_vs_alpha_figure(results):
    widths = interval_widths(sorted(results.glob("fits/*/*/expected_*.json")))
    per_model = {m: {s: widths[f"expected_{t}"][m] for t, s in TRUTHS.items()} for m in ("baseline", "aware")}
    oracle = {s: widths[f"expected_{t}"][f"oracle_tes_{s:+g}sd" if s else "oracle_tes_0sd"] for t, s in TRUTHS.items()}
    assert per_model["baseline"][0.0].values == pytest.approx([0.6, 0.62])
    saved(plot_width_vs_alpha(per_model, oracle, lumi_fb=10.0, np_name="tes", sigma=0.03), results, "width_vs_alpha")


def test_coverage_and_asymptotics_figures(results):
    toys = toy_figures(sorted(results.glob("toys/*/*.json")), sorted(results.glob("fits/*/*/expected_nominal.json")))
    assert toys["aware"].q_mu_true == (None, None) and toys["baseline"].q_mu_true[0].size == 101
    # baseline: mu_hat 1.05 / 1.10 on its expectation, mean width 0.6 -> Phi(1 - b/0.3) - Phi(-1 - b/0.3)
    assert toys["baseline"].coverage_from_bias == pytest.approx([0.67600, 0.65630], abs=1e-4)
    assert toy_figures(sorted(results.glob("toys/*/*.json")))["baseline"].coverage_from_bias is None
    saved(plot_coverage(toys, n_toys=100, lumi_fb=10.0), results, "coverage")
    saved(plot_asymptotics(toys, lumi_fb=10.0), results, "asymptotics")


def test_impacts_figure_keeps_gammas_only_in_the_top_ranks(results):
    replicas, rows = impact_rows(sorted(results.glob("inference/baseline/*/impacts.json")))
    assert replicas == REPLICAS and [r.name for r in rows[:3]] == ["jes", "staterror_c[0]", "tes"]
    shown, hidden = select_rows(rows, max_rows=15, gamma_rank=3)
    assert [r.name for r in shown] == ["jes", "staterror_c[0]", "tes", "lumi"]
    assert {r.name for r in hidden} == {"staterror_c[1]", "staterror_c[2]"}
    saved(plot_impacts(rows, replicas, "baseline", lumi_fb=10.0), results, "impacts_baseline")


def test_a_file_without_a_needed_field_is_named(results):
    bad = write(results / "toys" / "pivot" / "r0.json", {"coverage": 0.7})
    with pytest.raises(ValueError, match=r"toys/pivot/r0.json: field 'sigma68' missing"):
        toy_figures([bad])
    with pytest.raises(ValueError, match="input file missing"):
        profile_curves([results / "fits" / "nope" / "r0" / "expected_nominal.json"])
