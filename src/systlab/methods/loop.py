"""The shared training loop: seeding, device, batching, early stopping and history, reused by every method.

A method only supplies the loss (``Method.loss(model, batch)``); if it is an ``nn.Module`` its own
parameters (e.g. an adversary) are optimised together with the model's.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import numpy as np
import pandas as pd
import torch
from torch import nn

from systlab.atomic import write_json
from systlab.methods.settings import TrainingSettings  # noqa: F401  (re-exported)

log = logging.getLogger(__name__)


class Batch(NamedTuple):
    """Events on one device: raw features, 0/1 labels, class-balanced weights, method-specific extras."""

    features: torch.Tensor
    label: torch.Tensor
    weight: torch.Tensor
    extras: dict[str, torch.Tensor]

    @property
    def n_events(self) -> int:
        return int(self.features.shape[0])

    def take(self, index: torch.Tensor) -> Batch:
        """The events at ``index``."""
        return Batch(
            self.features[index],
            self.label[index],
            self.weight[index],
            {k: v[index] for k, v in self.extras.items()},
        )

    def to(self, device: torch.device) -> Batch:
        """The same events on ``device``."""
        return Batch(
            self.features.to(device),
            self.label.to(device),
            self.weight.to(device),
            {k: v.to(device) for k, v in self.extras.items()},
        )


class Method(Protocol):
    """What a training method supplies: a scalar loss to minimise for one batch."""

    def loss(self, model: nn.Module, batch: Batch) -> torch.Tensor: ...


class WeightedBCE:
    """Weighted binary cross-entropy on the model's logits (the baseline loss)."""

    def loss(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        per_event = nn.functional.binary_cross_entropy_with_logits(
            model.logits(batch.features), batch.label, reduction="none"
        )
        return (batch.weight * per_event).mean()


#: Fields of a training history that are wall times: logged and kept in memory, never written to ``history.json``
#: (two clean runs give byte-identical results; the rule's Snakemake benchmark file holds the job's time).
TIMING_FIELDS = ("seconds", "samples_per_second")


class TrainingHistory(NamedTuple):
    """Per-epoch losses and run facts, written as ``history.json`` (without :data:`TIMING_FIELDS`)."""

    train_loss: list[float]
    val_loss: list[float]
    best_epoch: int
    best_val_loss: float
    stopped_early: bool
    device: str
    seconds: float
    samples_per_second: float
    n_train: int
    n_validation: int

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self._asdict().items() if k not in TIMING_FIELDS}

    def write(self, path: str | os.PathLike) -> Path:
        """Write the history JSON atomically."""
        write_json(path, self.to_dict())
        return Path(path)


def select_device() -> torch.device:
    """CUDA (first visible device, so CUDA_VISIBLE_DEVICES is honoured) when available, else CPU; logged."""
    if torch.cuda.is_available():
        device = torch.device("cuda")
        log.info(
            "training on %s (%s, CUDA_VISIBLE_DEVICES=%s)",
            device,
            torch.cuda.get_device_name(device),
            os.environ.get("CUDA_VISIBLE_DEVICES", "<unset>"),
        )
    else:
        device = torch.device("cpu")
        log.info("training on cpu (%d threads)", torch.get_num_threads())
    return device


def seed_everything(seed: int, threads: int) -> np.random.Generator:
    """Seed torch, fix threads, demand deterministic kernels; return a numpy Generator for shuffles."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(threads)
    return np.random.default_rng(seed)


def balanced_weights(weight: np.ndarray, label: np.ndarray) -> np.ndarray:
    """Rescale weights so signal and background each sum to half the event count (mean weight 1)."""
    weight = np.asarray(weight, dtype=np.float64)
    out = np.empty_like(weight)
    half = len(weight) / 2.0
    for cls in (0, 1):
        mask = label == cls
        total = weight[mask].sum()
        if not mask.any() or not total > 0:
            raise ValueError(f"class {cls} has no events or a non-positive total weight ({total})")
        out[mask] = weight[mask] * (half / total)
    return out


def select_split(tables: Mapping[str, pd.DataFrame], split: int) -> pd.DataFrame:
    """Concatenate the rows of one split across processes (in the mapping's order)."""
    parts = []
    for name, table in tables.items():
        if "split" not in table.columns:
            raise KeyError(f"sample table {name!r} has no 'split' column")
        parts.append(table[table["split"] == split])
    return pd.concat(parts, ignore_index=True)


def make_batch(table: pd.DataFrame, features: Sequence[str], extra_columns: Iterable[str] = ()) -> Batch:
    """Tensors for one split table: float32 features, labels, class-balanced weights, extra columns."""
    needed = [*features, "weight", "label", *extra_columns]
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise KeyError(f"sample table lacks column(s) {missing}")
    if len(table) == 0:
        raise ValueError("no events in this split")
    label = table["label"].to_numpy(dtype=np.int64)
    weight = balanced_weights(table["weight"].to_numpy(), label)
    return Batch(
        torch.from_numpy(table[list(features)].to_numpy(dtype=np.float32, copy=True)),
        torch.from_numpy(label.astype(np.float32)),
        torch.from_numpy(weight.astype(np.float32)),
        {c: torch.from_numpy(table[c].to_numpy(dtype=np.float32, copy=True)) for c in extra_columns},
    )


def state_copy(model: nn.Module) -> dict[str, torch.Tensor]:
    """Detached CPU copy of the model's state (for keeping the best epoch)."""
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def train_epoch(
    model: nn.Module,
    method: Method,
    optimiser: torch.optim.Optimizer,
    data: Batch,
    batch_size: int,
    rng: np.random.Generator,
) -> float:
    """One pass over shuffled training batches; returns the event-weighted mean batch loss."""
    model.train()
    order = torch.from_numpy(rng.permutation(data.n_events)).to(data.features.device)
    total = 0.0
    for start in range(0, data.n_events, batch_size):
        batch = data.take(order[start : start + batch_size])
        loss = method.loss(model, batch)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        total += float(loss.detach()) * batch.n_events
    return total / data.n_events


@torch.no_grad()
def evaluate(model: nn.Module, method: Method, data: Batch, batch_size: int) -> float:
    """Method loss on ``data`` (event-weighted mean over batches), without gradients.

    Batches follow one fixed permutation: rows come grouped by process, and a batch of one class would get no
    decorrelation term (pivot, DisCo), biasing the validation loss that early stopping reads."""
    model.eval()
    total = 0.0
    order = torch.from_numpy(np.random.default_rng(0).permutation(data.n_events)).to(data.features.device)
    for start in range(0, data.n_events, batch_size):
        batch = data.take(order[start : start + batch_size])
        total += float(method.loss(model, batch)) * batch.n_events
    return total / data.n_events


def check_finite(value: float, what: str, epoch: int) -> None:
    """Stop with a clear error when a loss diverges (NaN would also break the JSON history)."""
    if not math.isfinite(value):
        raise FloatingPointError(f"{what} is {value} at epoch {epoch}: training diverged")


def fit(
    make_model: Callable[[], nn.Module],
    method: Method,
    train: Batch,
    validation: Batch,
    settings: TrainingSettings,
    seed: int,
    device: torch.device | None = None,
    early_stopping: bool = True,
) -> tuple[nn.Module, TrainingHistory]:
    """Seed, build the model, train with Adam, early-stop on the validation loss; return the best model.

    ``make_model`` is called after seeding so initial weights are reproducible. The returned model holds the
    state of the best validation epoch and lives on CPU. ``early_stopping=False`` runs every epoch and keeps
    the last state (adversarial games, whose validation loss is no model-selection criterion).
    """
    rng = seed_everything(seed, settings.threads)
    device = device or select_device()
    model = make_model().to(device)
    params = list(model.parameters())
    if isinstance(method, nn.Module):
        method.to(device)
        params += list(method.parameters())
    optimiser = torch.optim.Adam(params, lr=settings.learning_rate)
    train, validation = train.to(device), validation.to(device)

    train_losses: list[float] = []
    val_losses: list[float] = []
    best_state, best_epoch, best_loss = state_copy(model), -1, math.inf
    stopped_early = False
    train_seconds = 0.0
    start = time.perf_counter()
    for epoch in range(settings.epochs):
        tick = time.perf_counter()
        train_loss = train_epoch(model, method, optimiser, train, settings.batch_size, rng)
        train_seconds += time.perf_counter() - tick
        val_loss = evaluate(model, method, validation, settings.batch_size)
        check_finite(train_loss, "training loss", epoch)
        check_finite(val_loss, "validation loss", epoch)
        train_losses.append(train_loss)
        val_losses.append(val_loss)
        if val_loss < best_loss or (not early_stopping and epoch == settings.epochs - 1):
            best_state, best_epoch, best_loss = state_copy(model), epoch, val_loss
        log.info(
            "epoch %3d/%d  train %.5f  val %.5f  best %.5f @ %d  %.1f s  %.0f ev/s",
            epoch + 1, settings.epochs, train_loss, val_loss, best_loss, best_epoch + 1,
            time.perf_counter() - tick, train.n_events / max(time.perf_counter() - tick, 1e-9),
        )  # fmt: skip
        if early_stopping and epoch - best_epoch >= settings.patience:
            log.info("early stopping: no improvement for %d epochs", settings.patience)
            stopped_early = True
            break
    seconds = time.perf_counter() - start
    model = model.to("cpu")
    model.load_state_dict(best_state)
    model.eval()
    history = TrainingHistory(
        train_loss=train_losses,
        val_loss=val_losses,
        best_epoch=best_epoch,
        best_val_loss=best_loss,
        stopped_early=stopped_early,
        device=str(device),
        seconds=seconds,
        samples_per_second=train.n_events * len(train_losses) / max(train_seconds, 1e-9),
        n_train=train.n_events,
        n_validation=validation.n_events,
    )
    return model, history
