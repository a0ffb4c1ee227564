"""Sensitivity studies: the single-bin cut, prior-drawn pseudo-data, one evaluated point, the figure."""

import numpy as np
import pandas as pd
import pytest

from systlab.events import SPLITS
from systlab.likelihood.workspace import build_workspace
from systlab.studies.sensitivity import (
    Truth,
    cut_edges,
    evaluate,
    make_templates,
    point_payload,
    prior_toy_expectations,
    settings,
)
from systlab.templates.histograms import Templates, bin_edges
from systlab.visualize.sensitivity import plot_sensitivity
from systlab.visualize.style import save_figure

WORKSPACE = {"signal": "sig", "backgrounds": ["bkg"], "shape_nps": {"tes": False}, "norm_nps": {}, "lumi_sigma": 0.02}


def _table(rng, n, label, shift, weight):
    """Scores: signal peaks high, background low; the TES shift moves every score a little."""
    centre = 0.7 if label else 0.3
    score = np.clip(rng.normal(centre + 0.03 * shift, 0.15, n), 0.0, 1.0)
    return pd.DataFrame({"event_id": np.arange(n), "weight": np.full(n, weight), "label": label,
                         "split": rng.choice([SPLITS["template"], SPLITS["toy"]], n), "score": score})


@pytest.fixture(scope="module")
def tables():
    rng = np.random.default_rng(7)
    out = {}
    for variation, shift in (("nominal", 0), ("tes_+1sd", 1), ("tes_-1sd", -1), ("truth_nominal", 0)):
        out[("sig", variation)] = _table(rng, 4000, 1, shift, 0.05)
        out[("bkg", variation)] = _table(rng, 20000, 0, shift, 0.5)
    return out


def test_the_cut_keeps_the_configured_signal_fraction(tables):
    edges = cut_edges(tables, ["sig"], 0.3)
    sig = tables[("sig", "nominal")]
    sig = sig[sig["split"] == SPLITS["template"]]
    kept = sig.loc[sig["score"] >= edges[0], "weight"].sum() / sig["weight"].sum()
    assert edges[1] == 1.0 and kept == pytest.approx(0.3, abs=0.01)
    with pytest.raises(ValueError, match="field 'cut_signal_efficiency'"):
        cut_edges(tables, ["sig"], 1.5)


def test_prior_draws_scale_the_spread_of_the_pseudo_data(tables):
    spec = build_workspace(make_templates(tables, bin_edges(tables, 4, "signal_quantiles", ["sig"])), **WORKSPACE)
    draws = [prior_toy_expectations(spec, {"tes": s}, 200, seed=1) for s in (0.5, 1.0, 4.0)]
    spreads = [rows[np.all(np.isfinite(rows), axis=1)].std(axis=0).sum() for rows in draws]  # NaN: outside
    assert spreads[0] < spreads[1] < spreads[2]
    rows = prior_toy_expectations(spec, {"tes": 1.0}, 200, seed=1)
    assert np.array_equal(rows, prior_toy_expectations(spec, {"tes": 1.0}, 200, seed=1))  # seeded
    with pytest.raises(ValueError, match="'jes'.*not in the workspace"):
        prior_toy_expectations(spec, {"jes": 1.0}, 3, seed=1)


def test_prior_draws_outside_the_model_are_counted_not_fitted(tables):
    """A draw where some bin's expectation is negative (TES far beyond its templates) has no pseudo-data: its row is
    NaN, and evaluate counts it as outside the model and fits the others."""
    spec = build_workspace(make_templates(tables, bin_edges(tables, 4, "signal_quantiles", ["sig"])), **WORKSPACE)
    rows = prior_toy_expectations(spec, {"tes": 20.0}, 30, seed=1)
    outside = ~np.all(np.isfinite(rows), axis=1)
    assert 0 < outside.sum() < 30 and np.all(rows[~outside] >= 0.0)
    edges_only = Templates(edges=np.linspace(0.0, 1.0, 5), splits={}, signal=("sig",))
    point = evaluate("prior", "20", edges_only, spec, [], (-4.0, 6.0), 3, n_toys=30, seed=2, toy_expected=rows)
    assert point.coverage["n_outside_model"] == outside.sum()
    assert point.coverage["n_toys"] == 30 - outside.sum()


def test_an_evaluated_point_has_interval_bias_and_coverage(tables):
    templates = make_templates(tables, bin_edges(tables, 4, "signal_quantiles", ["sig"]))
    spec = build_workspace(templates, **WORKSPACE)
    point = evaluate("bins", "4", templates, spec, [Truth("nominal", 1.0, "truth_nominal")], (-2.0, 4.0), 13,
                     n_toys=20, seed=3)
    lo, hi = point.asimov_interval
    assert lo < point.asimov_mu_hat < hi and point.asimov_mu_hat == pytest.approx(1.0, abs=1e-3)
    assert point.coverage["n_toys"] == 20 and 0.0 <= point.coverage["coverage"] <= 1.0
    assert abs(point.expected["nominal"]["bias"]) < hi - lo  # held-out split: MC noise, not a model bias
    assert point_payload(point)["point"] == "4"


def test_settings_defaults_and_the_figure(tmp_path):
    assert settings(None).models == () and settings({"models": ["baseline"]}).bins == (1, 2, 5, 10, 20)

    def payload(study, names, replica):
        return {"study": study, "model": "baseline", "replica": replica, "points": [
            {"point": n, "asimov_interval": [0.5, 1.5 + 0.1 * i],
             "coverage": {"coverage": 0.65 + 0.01 * i, "mean_width": 1.0 + 0.1 * i, "n_used": 100}}
            for i, n in enumerate(names)]}
    results = {"bins": {"baseline": [payload("bins", ["cut", "2", "5"], r) for r in ("r0", "r1")]},
               "prior": {"baseline": [payload("prior", ["0.5", "1", "2"], r) for r in ("r0", "r1")]}}
    save_figure(plot_sensitivity(results, lumi_fb=10.0, np_name="tes"), tmp_path / "sensitivity.pdf", "test")
    assert (tmp_path / "sensitivity.png").stat().st_size > 5000
