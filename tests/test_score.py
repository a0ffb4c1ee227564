"""score_sample: only template/toy events, same bookkeeping, float32 scores as the scorer's, clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from systlab.events import SAMPLE_COLUMNS, SENTINEL
from systlab.methods.model import Classifier
from systlab.methods.onnx_io import MissingFeatureError, OnnxScorer, export_onnx
from systlab.templates.score import ScoreSummary, score_sample

FEATURES = ["PRI_tau_pt", "PRI_met", "DER_mass_vis", "PRI_jet_leading_pt"]


def sample_table(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    """A sample table with all four splits, extra unused columns and SENTINEL jet entries."""
    rng = np.random.default_rng(seed)
    table = pd.DataFrame(
        {
            "event_id": rng.permutation(n).astype(np.uint64) + 10,
            "weight": rng.uniform(0.1, 2.0, n),
            "split": rng.integers(0, 4, n).astype(np.int8),
            "label": rng.integers(0, 2, n).astype(np.int8),
        }
    ).astype(SAMPLE_COLUMNS)
    for name in FEATURES:
        table[name] = (50.0 + 20.0 * rng.normal(size=n)).astype(np.float32)
    table.loc[rng.random(n) < 0.3, "PRI_jet_leading_pt"] = np.float32(SENTINEL)
    table["DER_pt_h"] = np.float32(1.0)
    return table


@pytest.fixture(scope="module")
def onnx_path(tmp_path_factory):
    torch.manual_seed(0)
    table = sample_table(seed=1)
    model = Classifier.from_training_data(table[FEATURES].to_numpy(np.float32), np.ones(len(table)), (16,))
    return export_onnx(model, FEATURES, tmp_path_factory.mktemp("model") / "model.onnx", {})


def test_scores_only_template_and_toy_events(onnx_path, tmp_path):
    table = sample_table()
    sample_path = tmp_path / "ztautau_nominal.parquet"
    table.to_parquet(sample_path)
    out_path = tmp_path / "scores" / "ztautau_nominal.parquet"
    summary = score_sample(onnx_path, sample_path, out_path, threads=1)

    scored = pd.read_parquet(out_path)
    expected = table[table["split"].isin([2, 3])].reset_index(drop=True)
    assert isinstance(summary, ScoreSummary) and summary.events == len(expected) == len(scored)
    assert summary.seconds > 0
    assert list(scored.columns) == ["event_id", "weight", "split", "label", "score"]
    assert set(scored["split"]) == {2, 3}
    pd.testing.assert_frame_equal(scored[list(SAMPLE_COLUMNS)], expected[list(SAMPLE_COLUMNS)])
    assert scored["score"].dtype == np.float32
    assert scored["score"].between(0, 1).all()
    want = OnnxScorer(onnx_path).score(expected[FEATURES].to_numpy(np.float32))
    np.testing.assert_array_equal(scored["score"].to_numpy(), want)


def test_no_scored_splits_writes_empty_table(onnx_path, tmp_path):
    table = sample_table(200)
    table["split"] = np.int8(0)
    table.to_parquet(tmp_path / "s.parquet")
    summary = score_sample(onnx_path, tmp_path / "s.parquet", tmp_path / "out.parquet")
    scored = pd.read_parquet(tmp_path / "out.parquet")
    assert summary.events == 0 and len(scored) == 0 and scored["score"].dtype == np.float32


def test_missing_feature_names_file_and_column(onnx_path, tmp_path):
    sample_path = tmp_path / "ttbar_jes_up.parquet"
    sample_table(100).drop(columns="DER_mass_vis").to_parquet(sample_path)
    out_path = tmp_path / "out.parquet"
    with pytest.raises(MissingFeatureError, match=r"ttbar_jes_up\.parquet.*DER_mass_vis"):
        score_sample(onnx_path, sample_path, out_path)
    assert not out_path.exists()


def test_parameters_fill_model_inputs(tmp_path):
    torch.manual_seed(0)
    table = sample_table(seed=2)
    inputs = [*FEATURES, "alpha_tes"]
    x = table[FEATURES].assign(alpha_tes=np.float32(0.0)).to_numpy(np.float32)
    x[:, -1] = np.random.default_rng(0).uniform(-1, 1, len(x))
    model = Classifier.from_training_data(x, np.ones(len(x)), (16,))
    onnx = export_onnx(model, inputs, tmp_path / "aware.onnx", {"parameters": ["alpha_tes"]})
    assert OnnxScorer(onnx).parameters == ("alpha_tes",)
    table.to_parquet(tmp_path / "s.parquet")
    score_sample(onnx, tmp_path / "s.parquet", tmp_path / "o.parquet", parameters={"alpha_tes": 0.5})
    expected = table[table["split"].isin([2, 3])].assign(alpha_tes=np.float32(0.5))
    want = OnnxScorer(onnx).score(expected[inputs].to_numpy(np.float32))
    np.testing.assert_array_equal(pd.read_parquet(tmp_path / "o.parquet")["score"].to_numpy(), want)
    with pytest.raises(MissingFeatureError, match="alpha_tes"):
        score_sample(onnx, tmp_path / "s.parquet", tmp_path / "o.parquet")
