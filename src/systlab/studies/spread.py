"""Mean and spread across training replicas of per-replica arrays (the band every per-method figure draws)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np


class Spread(NamedTuple):
    """Element-wise mean and sample standard deviation (0 for one replica) across replicas; NaN where all are NaN."""

    mean: np.ndarray
    std: np.ndarray
    n_replicas: int

    @property
    def low(self) -> np.ndarray:
        return self.mean - self.std

    @property
    def high(self) -> np.ndarray:
        return self.mean + self.std


def replica_spread(values: Sequence[np.ndarray] | Sequence[float]) -> Spread:
    """Spread of equally shaped per-replica arrays (or scalars); NaN entries (e.g. empty bins) are ignored."""
    stack = np.asarray(values, dtype=np.float64)
    if stack.ndim == 0 or len(stack) == 0:
        raise ValueError("replica_spread needs at least one replica")
    with warnings.catch_warnings():  # all-NaN columns stay NaN, silently
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(stack, axis=0)
        count = np.sum(~np.isnan(stack), axis=0)
        std = np.where(count > 1, np.nanstd(stack, axis=0, ddof=1) if len(stack) > 1 else 0.0, 0.0)
    return Spread(mean, np.where(np.isnan(mean), np.nan, std), len(stack))


def spread_of(values: Sequence[float | None]) -> tuple[float, float]:
    """(mean, std) across replicas of one figure of merit; None entries (not computed) are ignored."""
    spread = replica_spread(np.asarray(values, dtype=np.float64))
    return float(spread.mean), float(spread.std)

