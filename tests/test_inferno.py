"""INFERNO on the H->tautau problem: training tables at three TES points, the loss as the paper defines it, export."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from systlab.config import ShapeNP
from systlab.methods.inferno import PASS, PROCESS, InfernoLoss, SoftBinner, shifted_column, train_inferno
from systlab.methods.inferno_data import inferno_training_tables
from systlab.methods.loop import TrainingSettings, make_batch
from systlab.methods.onnx_io import OnnxScorer
from systlab.samples.simulate import simulate_process
from systlab.studies.metrics import weighted_auc

FRACTIONS = {"train": 0.35, "validation": 0.15, "template": 0.3, "toy": 0.2}
FEATURES = ["PRI_tau_pt", "PRI_lep_pt", "PRI_met", "DER_mass_vis", "DER_mass_transverse_met_lep", "DER_pt_h",
            "DER_mass_MMC", "PRI_jet_num"]  # fmt: skip
TES = ShapeNP("tes", 1.0, 0.03, False, (-1.0, 0.0, 1.0))
EXTRA = [PROCESS, PASS + "nominal", PASS + "up", PASS + "down",
         *(shifted_column(s, f) for s in ("up", "down") for f in FEATURES)]  # fmt: skip


@pytest.fixture(scope="module")
def tables():
    torch.set_num_threads(1)
    events = {"htautau": simulate_process("htautau", 12_000, seed=1, signal_boost=50.0),
              "ztautau": simulate_process("ztautau", 50_000, seed=2),
              "ttbar": simulate_process("ttbar", 15_000, seed=3)}  # fmt: skip
    return events, inferno_training_tables(events, "htautau", TES, FEATURES, seed=5, split_seed=11,
                                           fractions=FRACTIONS, soft_seed=12)  # fmt: skip


def test_every_event_carries_its_features_at_three_tes_points(tables):
    events, t = tables
    z = t["ztautau"]
    assert set(np.unique(z["split"])) == {0, 1} and z["event_id"].is_unique
    both = (z[PASS + "nominal"] == 1) & (z[PASS + "up"] == 1) & (z[PASS + "down"] == 1)
    np.testing.assert_allclose(z.loc[both, shifted_column("up", "PRI_tau_pt")] / z.loc[both, "PRI_tau_pt"], 1.03,
                               rtol=1e-5)  # fmt: skip
    np.testing.assert_allclose(z.loc[both, shifted_column("down", "PRI_tau_pt")] / z.loc[both, "PRI_tau_pt"], 0.97,
                               rtol=1e-5)  # fmt: skip
    only_up = (z[PASS + "nominal"] == 0) & (z[PASS + "up"] == 1)  # taus just below 26 GeV that TES +3% lifts
    assert only_up.any() and (z.loc[only_up, shifted_column("up", "PRI_tau_pt")] > 26.0).all()
    assert (z[PASS + "down"] <= z[PASS + "nominal"]).all()  # a TES down-shift never adds events


def test_loss_of_a_constant_binning_is_the_one_bin_fisher_variance(tables):
    """All logits equal: every bin holds 1/K of every process, so var(mu) is that of one Poisson bin with the TES,
    ttbar-norm and lumi NPs profiled, computed here by hand."""
    _, t = tables
    coded = {p: x.assign(**{PROCESS: float(i)}) for i, (p, x) in enumerate(t.items())}
    batch = make_batch(pd.concat(coded.values()), FEATURES, EXTRA)
    yields = {0: 1000.0, 1: 1.0e6, 2: 4.0e4}
    loss = InfernoLoss(yields, 0, [([2], 0.05)], 0.02, FEATURES)
    model = SoftBinner(len(FEATURES), (8,), bins=5)
    torch.nn.init.zeros_(model.net[-1].weight), torch.nn.init.zeros_(model.net[-1].bias)
    with torch.no_grad():
        got = float(loss.loss(model, batch))

    w = batch.weight.numpy()
    code = batch.extras[PROCESS].numpy()

    def n(c, point):  # expected events of process c passing the cuts at the point
        mine = code == c
        return yields[c] * (w[mine] * batch.extras[PASS + point].numpy()[mine]).sum() / (
            w[mine] * batch.extras[PASS + "nominal"].numpy()[mine]).sum()  # fmt: skip

    s, b = n(0, "nominal"), n(1, "nominal") + n(2, "nominal")
    d_tes = sum((n(c, "up") - n(c, "down")) / 2 for c in yields)
    jac = np.array([[s, d_tes, 0.05 * n(2, "nominal"), 0.02 * (s + b)]])
    info = jac.T @ jac / (s + b) + np.diag([0.0, 1.0, 1.0, 1.0])
    # K identical bins: J and m both scale by 1/K, so J^T J / m is the one-bin value
    assert got == pytest.approx(np.linalg.inv(info)[0, 0], rel=2e-3)  # float32 torch vs float64 here


def test_training_lowers_the_expected_variance_and_exports_a_purity_score(tables, tmp_path):
    _, t = tables
    settings = TrainingSettings(hidden=(32, 32), epochs=6, batch_size=2048, learning_rate=3e-3, patience=6)
    trained = train_inferno(t, FEATURES, settings, 1, tmp_path, signal="htautau",
                            norms={"ttbar_xsec": (["ttbar"], 0.02)}, lumi_sigma=0.02, bins=6)  # fmt: skip
    losses = trained.history.val_loss
    assert losses[-1] < 0.7 * losses[0], losses
    scorer = OnnxScorer(trained.onnx_path)
    assert scorer.metadata["method"] == "inferno"
    x = pd.concat(t.values())
    score = scorer.score(x[FEATURES].to_numpy(np.float32))
    assert 0.0 <= score.min() and score.max() <= 1.0
    auc = weighted_auc(score, x["label"].to_numpy(), x["weight"].to_numpy())
    assert auc > 0.7, auc  # the purer bins hold the signal


def test_inferno_needs_its_signal_among_the_processes(tables, tmp_path):
    _, t = tables
    with pytest.raises(ValueError, match="signal 'hww' is not among"):
        train_inferno(t, FEATURES, TrainingSettings(epochs=1), 1, tmp_path, signal="hww")

