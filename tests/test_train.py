"""Training loop and baseline on small synthetic samples: separation, early stopping, files, determinism."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from systlab.events import SAMPLE_COLUMNS, SENTINEL
from systlab.methods import METHODS
from systlab.methods.baseline import load_classifier, train_baseline, training_batches
from systlab.methods.loop import TrainingSettings, WeightedBCE, balanced_weights, evaluate, fit
from systlab.methods.model import Classifier, feature_statistics

FEATURES = ["PRI_tau_pt", "PRI_met", "DER_mass_vis", "PRI_jet_leading_pt", "DER_deltaeta_jet_jet"]
CENTRES = np.array([40.0, 30.0, 80.0, 60.0, 2.0])
WIDTHS = np.array([15.0, 20.0, 25.0, 30.0, 1.0])
JET_COLUMNS = [3, 4]
SETTINGS = TrainingSettings(hidden=(16, 16), epochs=100, batch_size=256, learning_rate=3e-3, patience=3)


def synthetic_process(n: int, label: int, yield_: float, seed: int, id_offset: int) -> pd.DataFrame:
    """A sample table: Gaussian features (signal shifted by one width), ~30% without jets (SENTINEL)."""
    rng = np.random.default_rng(seed)
    x = CENTRES + WIDTHS * (rng.normal(size=(n, len(FEATURES))) + label)
    x[np.ix_(rng.random(n) < 0.3, JET_COLUMNS)] = SENTINEL
    split = rng.choice(4, size=n, p=[0.4, 0.2, 0.2, 0.2]).astype(np.int8)
    raw = rng.uniform(0.5, 1.5, size=n)
    weight = np.zeros(n)
    for code in range(4):
        mask = split == code
        weight[mask] = raw[mask] * yield_ / raw[mask].sum()
    table = pd.DataFrame(
        {
            "event_id": np.arange(id_offset, id_offset + n, dtype=np.uint64),
            "weight": weight,
            "split": split,
            "label": np.full(n, label, dtype=np.int8),
        }
    ).astype(SAMPLE_COLUMNS)
    for i, name in enumerate(FEATURES):
        table[name] = x[:, i].astype(np.float32)
    return table


def synthetic_samples(n: int = 3000) -> dict[str, pd.DataFrame]:
    """Nominal tables of one signal and two background processes with very different yields."""
    return {
        "htautau": synthetic_process(n, 1, 10.0, seed=1, id_offset=0),
        "ztautau": synthetic_process(n, 0, 1000.0, seed=2, id_offset=n),
        "ttbar": synthetic_process(n, 0, 200.0, seed=3, id_offset=2 * n),
    }


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Unweighted ROC AUC by ranking (Mann-Whitney U); scores are continuous so ties are ignored."""
    ranks = np.empty(len(scores))
    ranks[np.argsort(scores, kind="stable")] = np.arange(1, len(scores) + 1)
    n_sig = int(labels.sum())
    n_bkg = len(labels) - n_sig
    return float((ranks[labels == 1].sum() - n_sig * (n_sig + 1) / 2) / (n_sig * n_bkg))


@pytest.fixture(scope="module")
def samples() -> dict[str, pd.DataFrame]:
    return synthetic_samples()


@pytest.fixture(scope="module")
def trained(samples, tmp_path_factory):
    return train_baseline(samples, FEATURES, SETTINGS, seed=7, out_dir=tmp_path_factory.mktemp("baseline"))


def template_events(samples: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return pd.concat([t[t["split"] == 2] for t in samples.values()], ignore_index=True)


def test_auc_helper():
    labels = np.array([0, 0, 1, 1])
    assert auc(np.array([0.1, 0.2, 0.3, 0.4]), labels) == 1.0
    assert auc(np.array([0.1, 0.3, 0.2, 0.4]), labels) == 0.75


def test_training_separates_signal(trained, samples):
    model = load_classifier(trained.model_path.parent)
    events = template_events(samples)
    with torch.no_grad():
        scores = model(torch.from_numpy(events[FEATURES].to_numpy(np.float32, copy=True))).numpy()
    assert ((scores >= 0) & (scores <= 1)).all()
    assert auc(scores, events["label"].to_numpy()) > 0.8


def test_early_stopping_keeps_best_epoch(trained, samples):
    history = trained.history
    assert history.stopped_early
    assert len(history.val_loss) == history.best_epoch + SETTINGS.patience + 1 < SETTINGS.epochs
    assert history.best_val_loss == min(history.val_loss) == history.val_loss[history.best_epoch]
    _, validation = training_batches(samples, FEATURES)
    reloaded = load_classifier(trained.model_path.parent)
    assert evaluate(reloaded, WeightedBCE(), validation, 4096) == pytest.approx(
        history.best_val_loss, rel=1e-5
    )


def test_outputs_written(trained):
    for path in (trained.model_path, trained.onnx_path, trained.history_path, trained.meta_path):
        assert path.is_file() and path.parent == trained.model_path.parent
    history = json.loads(trained.history_path.read_text())
    assert history["train_loss"] == trained.history.train_loss
    assert history["device"] == "cpu" and trained.history.samples_per_second > 0
    assert "seconds" not in json.dumps(history)  # wall times stay in the log and the rule's benchmark file
    assert history["n_train"] == trained.history.n_train > 0
    meta = json.loads(trained.meta_path.read_text())
    assert meta["features"] == FEATURES and meta["seed"] == 7
    assert meta["settings"] == SETTINGS.to_dict()
    assert meta["torch_version"] == torch.__version__ and meta["device"] == "cpu"
    assert TrainingSettings.from_dict(meta["settings"]) == SETTINGS


def test_state_dict_loads_weights_only(trained):
    state = torch.load(trained.model_path, weights_only=True)
    assert {"mean", "std"} <= set(state)
    model = Classifier(len(FEATURES), SETTINGS.hidden)
    model.load_state_dict(state)
    assert torch.equal(model.mean, state["mean"])


def test_same_seed_gives_identical_weights(samples, tmp_path):
    quick = replace(SETTINGS, epochs=3)
    first = train_baseline(samples, FEATURES, quick, seed=3, out_dir=tmp_path / "a")
    second = train_baseline(samples, FEATURES, quick, seed=3, out_dir=tmp_path / "b")
    other = train_baseline(samples, FEATURES, quick, seed=4, out_dir=tmp_path / "c")
    a, b, c = (torch.load(t.model_path, weights_only=True) for t in (first, second, other))
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)
    assert first.history.train_loss == second.history.train_loss
    assert first.history_path.read_bytes() == second.history_path.read_bytes()  # no wall time in history.json


def test_balanced_weights_equal_class_totals():
    label = np.array([1, 0, 0, 0, 1])
    w = balanced_weights(np.array([1.0, 100.0, 50.0, 50.0, 3.0]), label)
    assert w[label == 1].sum() == pytest.approx(2.5) == pytest.approx(w[label == 0].sum())
    with pytest.raises(ValueError, match="class 1"):
        balanced_weights(np.ones(3), np.zeros(3, dtype=int))


def test_standardisation_ignores_sentinel():
    x = np.array([[1.0, SENTINEL], [3.0, SENTINEL], [SENTINEL, SENTINEL]], dtype=np.float32)
    mean, std = feature_statistics(x, np.array([1.0, 1.0, 5.0]))
    assert mean.tolist() == [2.0, 0.0] and std.tolist() == [1.0, 1.0]
    model = Classifier(2, (4,), mean, std)
    z = model.standardise(torch.from_numpy(x))
    assert z.tolist() == [[-1.0, 0.0], [1.0, 0.0], [0.0, 0.0]]


def test_custom_method_plugs_into_loop(samples):
    class ScaledBCE(torch.nn.Module):
        """A method with its own trainable parameter, as adversarial methods will have."""

        def __init__(self):
            super().__init__()
            self.scale = torch.nn.Parameter(torch.tensor(1.0))

        def loss(self, model, batch):
            return WeightedBCE().loss(model, batch) * self.scale**2 + (self.scale - 2.0) ** 2

    train, validation = training_batches(samples, FEATURES)
    method = ScaledBCE()
    model, history = fit(
        lambda: Classifier(len(FEATURES), (8,)),
        method,
        train,
        validation,
        replace(SETTINGS, epochs=2),
        seed=0,
    )
    assert len(history.val_loss) == 2 and method.scale.item() != 1.0
    assert isinstance(model, Classifier)


def test_without_early_stopping_every_epoch_runs_and_the_last_state_is_kept(samples):
    train, validation = training_batches(samples, FEATURES)
    settings = replace(SETTINGS, epochs=4, patience=1, learning_rate=0.5)  # a large step: validation loss jumps
    model, history = fit(lambda: Classifier(len(FEATURES), (8,)), WeightedBCE(), train, validation, settings,
                         seed=0, early_stopping=False)  # fmt: skip
    assert len(history.val_loss) == 4 and history.best_epoch == 3 and not history.stopped_early
    assert evaluate(model, WeightedBCE(), validation, 4096) == pytest.approx(history.val_loss[-1], rel=1e-5)


def test_registry_and_settings_validation():
    assert METHODS["baseline"] is train_baseline
    assert set(METHODS) == {"baseline", "augmented", "pivot", "disco", "grl", "aware", "oracle", "inferno", "unbinned"}
    with pytest.raises(ValueError):
        TrainingSettings(epochs=0)
    assert TrainingSettings(hidden=[8, 4]).hidden == (8, 4)


def test_validation_batches_mix_the_classes():
    """Rows arrive grouped by class; a per-batch loss that depends on the class mix must see mixed batches."""
    from systlab.methods.loop import Batch, evaluate

    n = 2000
    label = torch.cat([torch.ones(n // 2), torch.zeros(n // 2)])
    data = Batch(torch.zeros(n, 1), label, torch.ones(n), {})

    class SignalFractionSquared:
        def loss(self, model, batch):
            return batch.label.mean() ** 2

    value = evaluate(torch.nn.Linear(1, 1), SignalFractionSquared(), data, batch_size=100)
    assert value == pytest.approx(0.25, abs=0.02)  # row order would give 0.5 (pure batches)
