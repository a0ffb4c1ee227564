"""Metrics: weighted AUC, JS divergence, per-replica figures and their summary from score files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from systlab.studies.metrics import js_divergence, model_metrics, score_histogram, weighted_auc


def test_weighted_auc_matches_pair_counting_and_weights_act_as_counts():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 20, 300) / 20.0  # ties on purpose
    labels = rng.integers(0, 2, 300)
    sig, bkg = scores[labels == 1], scores[labels == 0]
    pairs = (sig[:, None] > bkg[None, :]).mean() + 0.5 * (sig[:, None] == bkg[None, :]).mean()
    assert weighted_auc(scores, labels, np.ones(300)) == pytest.approx(pairs)
    counts = rng.integers(1, 4, 300)
    repeated = weighted_auc(np.repeat(scores, counts), np.repeat(labels, counts), np.ones(counts.sum()))
    assert weighted_auc(scores, labels, counts.astype(float)) == pytest.approx(repeated)
    assert weighted_auc(np.array([0.1, 0.9]), np.array([0, 1]), np.ones(2)) == 1.0
    with pytest.raises(ValueError, match="signal and background"):
        weighted_auc(np.ones(3), np.zeros(3), np.ones(3))


def test_js_divergence_bounds():
    p = score_histogram(np.array([0.1, 0.2, 0.3]), np.ones(3))
    assert js_divergence(p, 3 * p) == 0.0
    assert js_divergence(np.array([1.0, 0.0]), np.array([0.0, 1.0])) == pytest.approx(1.0)
    assert 0 < js_divergence(np.array([1.0, 1.0]), np.array([1.0, 2.0])) < 0.1


def score_table(n, shift, seed):
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, n).astype(np.int8)
    score = np.clip(0.3 + 0.4 * label + 0.1 * rng.normal(size=n) + shift, 0, 1).astype(np.float32)
    return pd.DataFrame({"event_id": np.arange(n, dtype=np.uint64), "weight": rng.uniform(0.5, 1.5, n),
                         "split": rng.integers(2, 4, n).astype(np.int8), "label": label, "score": score})  # fmt: skip


def test_model_metrics_from_score_files(tmp_path):
    paths = {}
    for r, replica in enumerate(("r0", "r1")):
        paths[replica] = {}
        for variation, shift in (("tes_-1sd", -0.05), ("nominal", 0.0), ("tes_+1sd", 0.05)):
            path = tmp_path / replica / "all" / f"{variation}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            score_table(4000, shift, seed=r).to_parquet(path)
            paths[replica][("all", variation)] = path
    payload = model_metrics("m", paths, tmp_path / "metrics.json", ("tes_-1sd", "nominal", "tes_+1sd"))
    assert json.loads((tmp_path / "metrics.json").read_text()) == payload
    r0 = payload["replicas"]["r0"]
    assert set(r0["auc"]) == {"tes_-1sd", "nominal", "tes_+1sd"} and 0.9 < r0["auc"]["nominal"] < 1.0
    assert r0["js_divergence"] > 0.01
    summary = payload["summary"]
    assert "seconds" not in json.dumps(payload)  # no wall time in a result: two clean runs write the same bytes
    assert summary["auc"]["nominal"]["mean"] == pytest.approx(
        np.mean([payload["replicas"][r]["auc"]["nominal"] for r in ("r0", "r1")]))
