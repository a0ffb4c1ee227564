"""Training tables from the canonical events, the same way for every method.

Each method asks for its shape-NP values per event (nominal, drawn from the prior, uniform over a
range, or fixed); the events of the train and validation splits are varied with those values by
``systlab.samples.vary.apply_variation`` (its arithmetic is elementwise, so per-event arrays work), features
are recomputed, cuts applied, and each row keeps its NP shift in units of sigma as ``z_<np>``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import awkward as ak
import numpy as np
import pandas as pd

from systlab.config import ShapeNP
from systlab.events import SPLITS
from systlab.methods.registry import get
from systlab.samples.simulate import process_seed
from systlab.samples.vary import PerEventVariation, apply_variation, finish_sample, soft_met_draws, split_labels

#: Splits a classifier may see.
TRAINING_SPLITS = (SPLITS["train"], SPLITS["validation"])


def z_column(np_name: str) -> str:
    """Column holding an event's shift of ``np_name`` in units of sigma."""
    return f"z_{np_name}"


@dataclass(frozen=True)
class Draw:
    """How one shape NP is set per event, in units of sigma: ``fixed`` at low, ``normal`` N(0,1), ``nominal_or_normal``
    (0 or N(0,1), each with probability 1/2), ``uniform`` on [low, high], less the open interval ``gap`` if given
    (the aware interpolation check leaves a region out)."""

    kind: str = "fixed"
    low: float = 0.0
    high: float = 0.0
    gap: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("fixed", "normal", "uniform", "nominal_or_normal"):
            raise ValueError(f"unknown draw kind {self.kind!r}")
        if self.kind == "uniform" and not self.low < self.high:
            raise ValueError(f"uniform draw needs low < high, got {self.low}, {self.high}")
        if self.gap is not None and not (self.kind == "uniform" and self.low <= self.gap[0] < self.gap[1] <= self.high
                                         and self.gap[1] - self.gap[0] < self.high - self.low):  # fmt: skip
            raise ValueError(f"gap {self.gap} must be a proper sub-interval of [{self.low}, {self.high}]")

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        if self.kind == "normal":
            return rng.standard_normal(n)
        if self.kind == "nominal_or_normal":  # two domains: half the events nominal, half shifted by N(0, 1)
            shifted = rng.random(n) < 0.5
            return np.where(shifted, rng.standard_normal(n), 0.0)
        if self.kind == "uniform" and self.gap is not None:
            width = self.gap[1] - self.gap[0]
            x = rng.uniform(self.low, self.high - width, n)
            return np.where(x < self.gap[0], x, x + width)
        if self.kind == "uniform":
            return rng.uniform(self.low, self.high, n)
        return np.full(n, self.low)


NOMINAL = Draw("fixed", 0.0)
PRIOR = Draw("normal")
NOMINAL_OR_PRIOR = Draw("nominal_or_normal")


def read_events(paths: Mapping[str, str | os.PathLike]) -> dict[str, ak.Array]:
    """Canonical event tables per process (``results/events/<process>.parquet``)."""
    return {process: ak.from_parquet(path) for process, path in paths.items()}


def process_training_table(
    events: ak.Array,
    label: int,
    shape_nps: Sequence[ShapeNP],
    draws: Mapping[str, Draw],
    rng: np.random.Generator,
    soft_draws: np.ndarray,
    split_seed: int,
    fractions: Mapping[str, float],
) -> pd.DataFrame:
    """Train/validation rows of one process varied per event; bookkeeping, features and ``z_<np>`` columns."""
    events, soft_draws = training_events(events, soft_draws, split_seed, fractions)
    shifts = {np_.name: draws.get(np_.name, NOMINAL).sample(len(events), rng) for np_ in shape_nps}
    physical = {np_.name: np_.at(shifts[np_.name]) for np_ in shape_nps}  # soft MET: |value| is the width
    table = apply_variation(events, PerEventVariation("training", physical), soft_draws)
    table = finish_sample(table, label, split_seed, fractions)
    row = surviving_rows(events, table)
    for name, z in shifts.items():
        table[z_column(name)] = z[row].astype(np.float32)
    return table


def training_events(
    events: ak.Array, soft_draws: np.ndarray, split_seed: int, fractions: Mapping[str, float]
) -> tuple[ak.Array, np.ndarray]:
    """The events (and their soft-MET draws) of the splits a classifier may see."""
    event_id = ak.to_numpy(events.event_id).astype(np.uint64)
    keep = np.flatnonzero(np.isin(split_labels(event_id, split_seed, fractions), TRAINING_SPLITS))
    return events[keep], soft_draws[keep]


def surviving_rows(events: ak.Array, table: pd.DataFrame) -> np.ndarray:
    """Index into ``events`` of each row of the varied ``table`` (per-event draws follow their event)."""
    row = pd.Index(ak.to_numpy(events.event_id).astype(np.uint64)).get_indexer(table["event_id"].to_numpy())
    if (row < 0).any():
        raise ValueError("varied events lost their event_id (duplicate ids in the canonical table?)")
    return row


#: Entropy word of the bootstrap's own random stream (apart from the NP draws, so every method gets the same counts).
BOOTSTRAP_STREAM = 0xB007


def bootstrap_counts(n_events: int, seed: int, process: str) -> np.ndarray:
    """One Poisson(1) count per event of ``process`` for the replica seeded ``seed``: the same for every method, so
    replica i of two methods trains on the same bootstrap of the same events (their width ratio is paired)."""
    return np.random.default_rng([process_seed(seed, process), BOOTSTRAP_STREAM]).poisson(1.0, n_events)


def bootstrap(table: pd.DataFrame, counts: np.ndarray) -> pd.DataFrame:
    """The rows' Poisson ``counts`` as weights on the train split (validation untouched); rows drawn 0 times dropped."""
    counts = np.where(table["split"].to_numpy() == SPLITS["train"], np.asarray(counts), 1)
    out = table.assign(weight=table["weight"].to_numpy() * counts)
    return out[counts > 0].reset_index(drop=True)


def training_tables(
    events: Mapping[str, ak.Array],
    signal: str,
    shape_nps: Sequence[ShapeNP],
    draws: Mapping[str, Draw],
    seed: int,
    split_seed: int,
    fractions: Mapping[str, float],
    soft_seed: int,
    resample: bool = False,
) -> dict[str, pd.DataFrame]:
    """Per-process training tables; ``seed`` drives the NP draws and the bootstrap (``resample``).

    ``split_seed`` and ``soft_seed`` must be those of the vary stage (config seed, seed + 1), so the
    train/validation events and soft-MET draws are exactly those of the sample tables.
    """
    return per_process_tables(events, signal, process_training_table, seed=seed, split_seed=split_seed,
                              fractions=fractions, soft_seed=soft_seed, resample=resample, shape_nps=shape_nps,
                              draws=draws)  # fmt: skip


def per_process_tables(
    events: Mapping[str, ak.Array],
    signal: str,
    vary_process: Callable[..., pd.DataFrame],
    *,
    seed: int,
    split_seed: int,
    fractions: Mapping[str, float],
    soft_seed: int,
    resample: bool = False,
    **options: Any,
) -> dict[str, pd.DataFrame]:
    """``vary_process(events, label, rng=, soft_draws=, split_seed=, fractions=, **options)`` per process, with its own
    seeded generator and the vary stage's soft-MET draws, then the replica's bootstrap (``resample``)."""
    out = {}
    for process, table in events.items():
        rng = np.random.default_rng(process_seed(seed, process))
        soft = soft_met_draws(len(table), process_seed(soft_seed, process))
        varied = vary_process(table, int(process == signal), rng=rng, soft_draws=soft, split_seed=split_seed,
                              fractions=fractions, **options)  # fmt: skip
        if resample:  # each row takes its event's count (several rows of one event share it)
            varied = bootstrap(varied, bootstrap_counts(len(table), seed, process)[surviving_rows(table, varied)])
        out[process] = varied
    return out


def method_draws(
    method: str, shape_nps: Sequence[ShapeNP], target: str, point: float | None = None, left_out: float | None = None
) -> dict[str, Draw]:
    """The NP values a method trains on, by its registered ``draws``: nominal (baseline), priors (augmented, pivot,
    disco), nominal or the ``target`` NP from its prior per event (grl), the target uniform over its grid and other NPs
    from priors (aware; with ``left_out``, without the values nearer to that grid point than to its neighbours), the
    target fixed at the oracle's ``point`` and others nominal."""
    names = [np_.name for np_ in shape_nps]
    kind = get(method).draws
    if kind == "nominal":
        return dict.fromkeys(names, NOMINAL)
    if kind == "prior":
        return dict.fromkeys(names, PRIOR)
    if kind == "nominal_or_prior":
        return {**dict.fromkeys(names, NOMINAL), target: NOMINAL_OR_PRIOR}
    if kind == "grid_uniform":
        grid = sorted(next(np_.grid for np_ in shape_nps if np_.name == target))
        return {**dict.fromkeys(names, PRIOR), target: Draw("uniform", grid[0], grid[-1], nearest_cell(grid, left_out))}
    if point is None:  # fixed_point
        raise ValueError(f"method {method!r} trains at a fixed point of {target!r} and needs it")
    return {**dict.fromkeys(names, NOMINAL), target: Draw("fixed", float(point))}


def nearest_cell(grid: Sequence[float], point: float | None) -> tuple[float, float] | None:
    """The values nearer to interior grid ``point`` than to its neighbours: (midpoint below, midpoint above)."""
    if point is None:
        return None
    i = list(grid).index(point)
    if not 0 < i < len(grid) - 1:
        raise ValueError(f"left-out TES point {point} is not an interior point of the grid {list(grid)}")
    return (grid[i - 1] + point) / 2, (point + grid[i + 1]) / 2
