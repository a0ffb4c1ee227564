"""ONNX export checked against torch, and a batched onnxruntime scorer that knows its feature names."""

from __future__ import annotations

import copy
import json
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import onnxruntime as ort
import pandas as pd

if TYPE_CHECKING:  # torch is imported where a model is exported, so scoring jobs never load it
    import torch

from systlab import __version__
from systlab.atomic import atomic_path
from systlab.events import SENTINEL

#: Pinned ONNX opset so models are reproducible across torch versions.
OPSET = 17
INPUT_NAME = "features"
OUTPUT_NAME = "score"
#: Maximum allowed |onnxruntime - torch| on the parity batch.
PARITY_ATOL = 1e-5
#: metadata_props key holding the feature names (JSON list).
FEATURES_KEY = "features"
#: metadata_props key naming the input columns that are model parameters, not event features (JSON list).
PARAMETERS_KEY = "parameters"


class OnnxParityError(RuntimeError):
    """The exported model's outputs differ from torch's."""


class MissingFeatureError(ValueError):
    """An input table lacks a feature column the model needs."""


def parity_sample(model: torch.nn.Module, n_features: int, n_events: int = 512, seed: int = 0) -> np.ndarray:
    """Synthetic raw features around the model's standardisation (if any), with some SENTINEL entries."""
    import torch

    rng = np.random.default_rng(seed)
    mean = getattr(model, "mean", torch.zeros(n_features)).detach().cpu().numpy()
    std = getattr(model, "std", torch.ones(n_features)).detach().cpu().numpy()
    x = (mean + std * rng.normal(size=(n_events, n_features))).astype(np.float32)
    x[rng.random(x.shape) < 0.1] = SENTINEL
    return x


def torch_scores(model: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    """The torch model's output on ``x`` (float32, CPU)."""
    import torch

    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy().astype(np.float32)


def metadata_strings(features: Sequence[str], metadata: Mapping[str, Any]) -> dict[str, str]:
    """metadata_props entries: feature names, systlab version, and ``metadata`` (non-strings as JSON)."""
    props = {k: v if isinstance(v, str) else json.dumps(v, sort_keys=True) for k, v in metadata.items()}
    props[FEATURES_KEY] = json.dumps(list(features))
    props.setdefault("systlab_version", __version__)
    props["opset"] = str(OPSET)
    return props


def torch_export(model: torch.nn.Module, n_features: int, path: Path) -> None:
    """TorchScript-based export with a dynamic batch axis (the dynamo exporter needs onnxscript)."""
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            model,
            (torch.zeros(2, n_features),),
            str(path),
            dynamo=False,
            opset_version=OPSET,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
        )


def check_parity(onnx_path: Path, model: torch.nn.Module, sample: np.ndarray, atol: float) -> float:
    """Max |onnxruntime - torch| on ``sample``; raise OnnxParityError above ``atol``."""
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = session.run([OUTPUT_NAME], {INPUT_NAME: sample})[0]
    want = torch_scores(model, sample)
    if got.shape != want.shape:
        raise OnnxParityError(f"ONNX output shape {got.shape} != torch {want.shape}")
    diff = float(np.max(np.abs(got.astype(np.float64) - want.astype(np.float64)))) if len(want) else 0.0
    if not diff <= atol:
        raise OnnxParityError(f"ONNX output differs from torch by {diff:.3g} > {atol:.1g}")
    return diff


def export_onnx(
    model: torch.nn.Module,
    features: Sequence[str],
    path: str | os.PathLike,
    metadata: Mapping[str, Any],
    sample: np.ndarray | None = None,
    atol: float = PARITY_ATOL,
) -> Path:
    """Export ``model`` (raw features -> probability) to ``path``; kept only if checked and equal to torch.

    ``sample``: raw feature rows for the parity check (default: synthetic rows with SENTINEL entries).
    """
    import onnx  # here, not at the top: 0.8 s that the scoring jobs (onnxruntime only) do not need

    model = copy.deepcopy(model).to("cpu").eval()
    n_features = len(features)
    sample = parity_sample(model, n_features) if sample is None else np.ascontiguousarray(sample, np.float32)
    if sample.ndim != 2 or sample.shape[1] != n_features:
        raise ValueError(f"parity sample has shape {sample.shape}, expected (n, {n_features})")
    target = Path(path)
    with atomic_path(target) as tmp:
        torch_export(model, n_features, tmp)
        proto = onnx.load(str(tmp))
        onnx.helper.set_model_props(proto, metadata_strings(features, metadata))
        onnx.checker.check_model(proto, full_check=True)
        onnx.save(proto, str(tmp))
        check_parity(tmp, model, sample, atol)
    return target


class OnnxScorer:
    """Batched onnxruntime scoring of raw feature arrays or tables; feature names come from the model."""

    def __init__(self, path: str | os.PathLike, threads: int = 1, batch_size: int = 65536) -> None:
        self.path = Path(path)
        self.batch_size = batch_size
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        self.metadata: dict[str, str] = dict(self.session.get_modelmeta().custom_metadata_map)
        if FEATURES_KEY not in self.metadata:
            raise ValueError(f"{self.path}: no {FEATURES_KEY!r} metadata (not a systlab export?)")
        self.features: tuple[str, ...] = tuple(json.loads(self.metadata[FEATURES_KEY]))
        self.parameters: tuple[str, ...] = tuple(json.loads(self.metadata.get(PARAMETERS_KEY, "[]")))
        self.input_name = self.session.get_inputs()[0].name
        self.batch_size = batch_size

    def check_columns(self, columns: Sequence[str], source: str | os.PathLike) -> None:
        """Raise MissingFeatureError naming ``source`` and every feature absent from ``columns``."""
        present = set(columns)
        missing = [f for f in self.features if f not in present]
        if missing:
            raise MissingFeatureError(
                f"{source}: missing feature column(s) {', '.join(missing)} required by ONNX model {self.path}"
            )

    def score(self, features: np.ndarray) -> np.ndarray:
        """Scores (float32, shape (n,)) for raw feature rows in the model's feature order."""
        x = np.ascontiguousarray(features, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != len(self.features):
            raise ValueError(f"expected an (n, {len(self.features)}) array for {self.path}, got {x.shape}")
        out = np.empty(len(x), dtype=np.float32)
        for start in range(0, len(x), self.batch_size):
            chunk = x[start : start + self.batch_size]
            out[start : start + len(chunk)] = self.session.run(None, {self.input_name: chunk})[0].reshape(-1)
        return out

    def outputs(self, features: np.ndarray) -> list[np.ndarray]:
        """Every output of the model (first axis the rows) for raw feature rows in the model's feature order: a
        model with more than its score (the unbinned method's fractions and log-ratio polynomials) is read here."""
        x = np.ascontiguousarray(features, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != len(self.features):
            raise ValueError(f"expected an (n, {len(self.features)}) array for {self.path}, got {x.shape}")
        parts = [self.session.run(None, {self.input_name: x[a : a + self.batch_size]})
                 for a in range(0, max(len(x), 1), self.batch_size)]  # fmt: skip
        return [np.concatenate([p[j] for p in parts]) for j in range(len(parts[0]))]

    def score_table(self, table: pd.DataFrame, source: str | os.PathLike = "<table>") -> np.ndarray:
        """Scores for a table holding (at least) the model's feature columns."""
        self.check_columns(list(table.columns), source)
        return self.score(table[list(self.features)].to_numpy(dtype=np.float32))
