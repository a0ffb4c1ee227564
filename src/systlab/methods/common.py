"""What every method shares after its loss: batches from sample tables, fit, ONNX export, model files.

A method module builds its loss (and maybe an adversary) and calls :func:`train_classifier`, which
writes ``model.pt``, ``model.onnx``, ``history.json`` and ``meta.json`` the same way for every method.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd
import torch

from systlab import __version__
from systlab.atomic import atomic_path, write_json
from systlab.events import SPLITS
from systlab.methods.loop import Batch, Method, TrainingHistory, TrainingSettings, fit, make_batch, select_split
from systlab.methods.model import Classifier, feature_statistics
from systlab.methods.onnx_io import PARAMETERS_KEY, export_onnx

log = logging.getLogger(__name__)

#: Rows of the validation set used for the ONNX-vs-torch parity check.
PARITY_ROWS = 4096

#: Called after training with (model, train, validation); returns JSON-ready facts for meta and history.
AfterFit = Callable[[Classifier, Batch, Batch], dict[str, Any]]


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


def training_batches(
    samples: Mapping[str, pd.DataFrame], features: Sequence[str], extra_columns: Sequence[str] = ()
) -> tuple[Batch, Batch]:
    """Train and validation batches from per-process tables (rows of other splits are ignored)."""
    if not samples:
        raise ValueError("no sample tables given")
    train = make_batch(select_split(samples, SPLITS["train"]), features, extra_columns)
    validation = make_batch(select_split(samples, SPLITS["validation"]), features, extra_columns)
    return train, validation


def save_state(model: torch.nn.Module, path: Path) -> Path:
    """Save the state_dict (tensors only, so ``torch.load(..., weights_only=True)`` works), atomically."""
    buffer = io.BytesIO()  # a file object: torch names the archive "archive", not after the random temp file
    torch.save(model.state_dict(), buffer)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getvalue())
    return path


def load_classifier(out_dir: str | os.PathLike) -> Classifier:
    """Rebuild a trained Classifier from ``meta.json`` and ``model.pt`` in ``out_dir`` (weights only)."""
    out = Path(out_dir)
    meta = json.loads((out / "meta.json").read_text())
    model = Classifier(len(meta["features"]), tuple(meta["settings"]["hidden"]))
    model.load_state_dict(torch.load(out / "model.pt", weights_only=True, map_location="cpu"))
    return model.eval()


def classifier_factory(train: Batch, hidden: Sequence[int]) -> Callable[[], Classifier]:
    """A zero-argument builder (called after seeding) of a Classifier standardised on ``train``."""
    mean, std = feature_statistics(train.features.numpy(), train.weight.numpy())
    return lambda: Classifier(train.features.shape[1], tuple(hidden), mean, std)


def train_classifier(
    method_name: str,
    loss: Method,
    samples: Mapping[str, pd.DataFrame],
    features: Sequence[str],
    settings: TrainingSettings,
    seed: int,
    out_dir: str | os.PathLike,
    *,
    extra_columns: Sequence[str] = (),
    options: Mapping[str, Any] | None = None,
    make_model: Callable[[Batch], Callable[[], Classifier]] | None = None,
    early_stopping: bool = True,
    after_fit: AfterFit | None = None,
    export_model: Callable[[torch.nn.Module, Batch, Batch], torch.nn.Module] | None = None,
) -> TrainedModel:
    """Fit a Classifier on ``features`` (the ONNX inputs) with ``loss``; write model.pt, .onnx, history, meta.

    ``options`` (e.g. lambda) enter the training hash and meta; ``make_model`` replaces the fresh classifier
    (pre-training); ``after_fit`` adds method facts (e.g. the adversary's final loss) to history and meta;
    ``export_model`` turns the trained network into the one-score module that goes to ONNX (INFERNO's bins).
    """
    start = time.perf_counter()
    out = Path(out_dir)
    features = list(features)
    train, validation = training_batches(samples, features, extra_columns)
    identity = {
        "method": method_name,
        "features": features,
        "seed": seed,
        "settings": settings.to_dict(),
        "processes": list(samples),
        "options": dict(options or {}),
    }
    digest = config_hash(identity)
    builder = (make_model or (lambda batch: classifier_factory(batch, settings.hidden)))(train)
    model, history = fit(builder, loss, train, validation, settings, seed, early_stopping=early_stopping)
    info = after_fit(model, train, validation) if after_fit else {}

    model_path = save_state(model, out / "model.pt")
    exported = export_model(model, train, validation).eval() if export_model else model
    onnx_path = export_onnx(
        exported,
        features,
        out / "model.onnx",
        {
            "method": method_name,
            "training_hash": digest,
            "seed": seed,
            PARAMETERS_KEY: list((options or {}).get("parameters", [])),
        },
        sample=validation.features[:PARITY_ROWS].numpy(),
    )
    history_path = out / "history.json"
    log.info("%s trained, checked and exported in %.1f s", method_name, time.perf_counter() - start)
    write_json(history_path, {**history.to_dict(), **({"method_info": info} if info else {})})
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
            "method_info": info,
        },
    )
    return TrainedModel(model_path, onnx_path, history_path, meta_path, history)
