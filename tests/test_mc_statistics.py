"""Effective MC events per expected event: one over the weight for equal weights, the worst bin per split named in
the summary, and the panel of the templates figure."""

from __future__ import annotations

import json

import numpy as np
import pytest

from systlab.studies.summary import summary_from_files
from systlab.templates.histograms import NOMINAL, Templates, empty_hist, write_templates
from systlab.templates.mc_statistics import CLOSURE_TARGET, effective_ratio, mc_statistics, worst_by_split

EDGES = np.linspace(0.0, 1.0, 4)


def weighted_templates(weights: dict[tuple[str, str], float], events: int = 400) -> Templates:
    """Every (split, process) bin filled with ``events`` MC events of one weight each (the signal with weight 1)."""
    splits = {}
    for split in ("template", "toy"):
        h = empty_hist(["htautau", "ztautau", "ttbar"], [NOMINAL], EDGES)
        for process in h.axes["process"]:
            w = weights.get((split, process), 1.0)
            for x in 0.5 * (EDGES[1:] + EDGES[:-1]):
                h.fill(process=process, variation=NOMINAL, score=np.full(events, x), weight=np.full(events, w))
        splits[split] = h
    return Templates(edges=EDGES, splits=splits, signal=("htautau",))


def test_the_ratio_is_one_over_the_weight_and_the_worst_bin_names_its_split():
    t = weighted_templates({("template", "ztautau"): 0.05, ("toy", "ztautau"): 0.5, ("toy", "ttbar"): 0.02,
                            ("template", "ttbar"): 0.01})  # fmt: skip
    stats = {(s.split, s.process): s.ratio for s in mc_statistics(t)}
    assert set(stats) == {(s, p) for s in ("template", "toy") for p in ("ztautau", "ttbar")}  # backgrounds only
    assert stats[("template", "ztautau")] == pytest.approx(np.full(3, 20.0))
    assert stats[("toy", "ztautau")] == pytest.approx(np.full(3, 2.0))
    assert worst_by_split(mc_statistics(t)) == pytest.approx({"template": 20.0, "toy": 2.0})
    assert worst_by_split(mc_statistics(t))["toy"] < CLOSURE_TARGET < worst_by_split(mc_statistics(t))["template"]


def test_an_empty_bin_is_no_ratio_and_unequal_weights_count_as_fewer_events():
    assert np.isnan(effective_ratio(np.array([0.0]), np.array([0.0]))).all()
    w = np.array([1.0, 9.0])  # two events, expected 10: N_eff = 100/82
    assert effective_ratio(np.array([w.sum()]), np.array([(w**2).sum()])) == pytest.approx([10 / 82])


def test_the_summary_reports_the_worst_ratio_per_split(tmp_path):
    metrics = tmp_path / "models" / "baseline" / "metrics.json"
    metrics.parent.mkdir(parents=True)
    metrics.write_text(json.dumps({"replicas": {r: {"auc": {"nominal": 0.9}} for r in ("r0", "r1")}}))
    paths = []
    for replica, w in (("r0", 0.05), ("r1", 0.2)):
        path = tmp_path / "templates" / "baseline" / f"{replica}.json"
        weights = {("template", "ztautau"): w, ("toy", "ztautau"): 2 * w, ("template", "ttbar"): 0.01,
                   ("toy", "ttbar"): 0.01}  # fmt: skip
        write_templates(weighted_templates(weights), path)
        paths.append(path)
    summary = summary_from_files([metrics], [], [], {}, template_paths=paths)
    stats = summary["methods"]["baseline"]["metrics"]
    assert stats["mc_closure.template"]["mean"] == pytest.approx((20.0 + 5.0) / 2)  # Z->tautau's bins are the worst
    assert summary["methods"]["baseline"]["replicas"]["r1"]["mc_closure.toy"] == pytest.approx(2.5)
