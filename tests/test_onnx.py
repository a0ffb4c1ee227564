"""ONNX export (parity with torch incl. SENTINEL inputs, metadata, atomicity) and the onnxruntime scorer."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pandas as pd
import pytest
import torch

import systlab
from systlab.events import SENTINEL
from systlab.methods import onnx_io
from systlab.methods.model import Classifier
from systlab.methods.onnx_io import OPSET, MissingFeatureError, OnnxParityError, OnnxScorer, export_onnx

FEATURES = ["PRI_tau_pt", "PRI_met", "DER_mass_vis", "PRI_jet_leading_pt"]


def raw_features(n: int, seed: int = 0) -> np.ndarray:
    """Raw-scale features with ~20% SENTINEL entries."""
    rng = np.random.default_rng(seed)
    x = (50.0 + 20.0 * rng.normal(size=(n, len(FEATURES)))).astype(np.float32)
    x[rng.random(x.shape) < 0.2] = SENTINEL
    return x


@pytest.fixture(scope="module")
def model() -> Classifier:
    torch.manual_seed(0)
    x = raw_features(2000, seed=1)
    return Classifier.from_training_data(x, np.ones(len(x)), hidden=(32, 16)).eval()


@pytest.fixture(scope="module")
def onnx_path(model, tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx") / "model.onnx"
    return export_onnx(model, FEATURES, path, {"training_hash": "abc123", "seed": 5})


def test_parity_with_torch_including_sentinel(model, onnx_path):
    x = raw_features(5000, seed=2)
    assert (x == SENTINEL).any()
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy()
    got = OnnxScorer(onnx_path).score(x)
    assert got.dtype == np.float32 and got.shape == (5000,)
    assert np.max(np.abs(got - want)) < 1e-5


def test_model_is_checked_with_pinned_opset_and_metadata(onnx_path):
    proto = onnx.load(str(onnx_path))
    onnx.checker.check_model(proto)
    assert {o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")} == {OPSET}
    props = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(props["features"]) == FEATURES
    assert props["systlab_version"] == systlab.__version__
    assert props["training_hash"] == "abc123" and props["seed"] == "5"


def test_dynamic_batch_and_chunking(onnx_path):
    x = raw_features(1001, seed=3)
    whole = OnnxScorer(onnx_path, threads=2).score(x)
    chunked = OnnxScorer(onnx_path, batch_size=100).score(x)
    np.testing.assert_array_equal(whole, chunked)
    assert OnnxScorer(onnx_path).score(x[:1]).shape == (1,)


def test_parity_failure_keeps_no_file(model, tmp_path, monkeypatch):
    real = onnx_io.torch_scores
    monkeypatch.setattr(onnx_io, "torch_scores", lambda m, x: real(m, x) + 1e-3)
    path = tmp_path / "bad.onnx"
    with pytest.raises(OnnxParityError, match="differs from torch"):
        export_onnx(model, FEATURES, path, {})
    assert list(tmp_path.iterdir()) == []


def test_export_rejects_wrong_feature_count(model, tmp_path):
    with pytest.raises(ValueError, match="parity sample"):
        export_onnx(model, FEATURES, tmp_path / "m.onnx", {}, sample=np.zeros((3, 2), np.float32))


def test_scorer_reports_file_and_missing_column(onnx_path):
    scorer = OnnxScorer(onnx_path)
    assert scorer.features == tuple(FEATURES)
    table = pd.DataFrame(raw_features(10), columns=FEATURES).drop(columns="PRI_met")
    with pytest.raises(MissingFeatureError, match=r"samples/ztautau_nominal\.parquet.*PRI_met"):
        scorer.score_table(table, "samples/ztautau_nominal.parquet")
    full = pd.DataFrame(raw_features(10), columns=FEATURES)[FEATURES[::-1]]
    np.testing.assert_array_equal(scorer.score_table(full), scorer.score(raw_features(10)))
