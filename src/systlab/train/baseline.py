"""The baseline method: a plain weighted-BCE classifier trained on the nominal samples of all processes."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd
import torch

from systlab import __version__
from systlab.atomic import atomic_path, write_json
from systlab.events import SPLITS
from systlab.onnx_io import export_onnx
from systlab.train.loop import (
    Batch,
    TrainingHistory,
    TrainingSettings,
    WeightedBCE,
    fit,
    make_batch,
    select_split,
)
from systlab.train.model import Classifier, feature_statistics

#: Rows of the validation set used for the ONNX-vs-torch parity check.
PARITY_ROWS = 4096


class TrainedModel(NamedTuple):
    """Files written by a training method, and its history."""

    model_path: Path
    onnx_path: Path
    history_path: Path
    meta_path: Path
    history: TrainingHistory


def config_hash(payload: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of what determines a training (method, features, seed, settings)."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def training_batches(samples: Mapping[str, pd.DataFrame], features: Sequence[str]) -> tuple[Batch, Batch]:
    """Train and validation batches from the nominal tables of all processes."""
    if not samples:
        raise ValueError("no sample tables given")
    train = make_batch(select_split(samples, SPLITS["train"]), features)
    validation = make_batch(select_split(samples, SPLITS["validation"]), features)
    return train, validation


def save_state(model: torch.nn.Module, path: Path) -> Path:
    """Save the state_dict (tensors only, so ``torch.load(..., weights_only=True)`` works), atomically."""
    with atomic_path(path) as tmp:
        torch.save(model.state_dict(), tmp)
    return path


def load_classifier(out_dir: str | os.PathLike) -> Classifier:
    """Rebuild a trained Classifier from ``meta.json`` and ``model.pt`` in ``out_dir`` (weights only)."""
    out = Path(out_dir)
    meta = json.loads((out / "meta.json").read_text())
    model = Classifier(len(meta["features"]), tuple(meta["settings"]["hidden"]))
    model.load_state_dict(torch.load(out / "model.pt", weights_only=True, map_location="cpu"))
    return model.eval()


def train_baseline(
    samples: dict[str, pd.DataFrame],
    features: list[str],
    settings: TrainingSettings,
    seed: int,
    out_dir: str | os.PathLike,
) -> TrainedModel:
    """Train the baseline on all processes' nominal tables; write model.pt, model.onnx, history, meta."""
    out = Path(out_dir)
    features = list(features)
    train, validation = training_batches(samples, features)
    mean, std = feature_statistics(train.features.numpy(), train.weight.numpy())
    identity = {
        "method": "baseline",
        "features": features,
        "seed": seed,
        "settings": settings.to_dict(),
        "processes": list(samples),
    }
    digest = config_hash(identity)

    model, history = fit(
        lambda: Classifier(len(features), settings.hidden, mean, std),
        WeightedBCE(),
        train,
        validation,
        settings,
        seed,
    )
    model_path = save_state(model, out / "model.pt")
    onnx_path = export_onnx(
        model,
        features,
        out / "model.onnx",
        {"method": "baseline", "training_hash": digest, "seed": seed},
        sample=validation.features[:PARITY_ROWS].numpy(),
    )
    history_path = history.write(out / "history.json")
    meta_path = out / "meta.json"
    write_json(
        meta_path,
        {
            **identity,
            "training_hash": digest,
            "systlab_version": __version__,
            "torch_version": torch.__version__,
            "device": history.device,
            "n_train": history.n_train,
            "n_validation": history.n_validation,
        },
    )
    return TrainedModel(model_path, onnx_path, history_path, meta_path, history)
