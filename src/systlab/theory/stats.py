"""Statistics of a pull sample: descriptive (robust ones too) and an unbinned Gaussian fit.

Tails dominate mean and std, hence the median, MAD width and coverage fractions; the Gaussian fit is
refused below ``MIN_PULLS_FOR_FIT`` pulls, where one outlier would decide the width.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

MIN_PULLS_FOR_FIT = 20  # fewer pulls than this: a Gaussian width is not worth quoting


class PullStats(NamedTuple):
    """Descriptive statistics of a pull sample (robust ones too: tails dominate mean and std)."""

    n: int
    mean: float
    std: float
    median: float
    mad_width: float
    frac_within_1: float
    frac_within_2: float
    max_abs: float


class GaussianFit(NamedTuple):
    """Unbinned maximum-likelihood Gaussian fit of the pulls, or why it was not done."""

    meaningful: bool
    reason: str
    n: int
    mean: float
    mean_err: float
    width: float
    width_err: float


def sample_std(values: np.ndarray) -> float:
    """Sample standard deviation (ddof=1); NaN for fewer than two values."""
    return float(values.std(ddof=1)) if values.size > 1 else float("nan")


def describe_pulls(pulls: Sequence[float]) -> PullStats:
    """Mean, std, median, MAD width (1.4826·MAD) and coverage fractions of a pull sample."""
    t = np.asarray(pulls, dtype=float)
    if t.size == 0:
        nan = float("nan")
        return PullStats(0, nan, nan, nan, nan, nan, nan, nan)
    med = float(np.median(t))
    return PullStats(int(t.size), float(t.mean()), sample_std(t), med, float(1.4826 * np.median(np.abs(t - med))),
                     float(np.mean(np.abs(t) < 1)), float(np.mean(np.abs(t) < 2)), float(np.abs(t).max()))


def fit_gaussian(pulls: Sequence[float], min_pulls: int = MIN_PULLS_FOR_FIT) -> GaussianFit:
    """Unbinned ML Gaussian fit (closed form: mean and ddof=0 width); refused for too few pulls."""
    t = np.asarray(pulls, dtype=float)
    nan = float("nan")
    if t.size < min_pulls:
        reason = (f"not meaningful: only {t.size} pulls (< {min_pulls}); the width would be uncertain by "
                  f"more than 1/sqrt(2n) ~ {1 / math.sqrt(2 * max(t.size, 1)):.0%}; one outlier decides it")
        return GaussianFit(False, reason, int(t.size), nan, nan, nan, nan)
    width = float(t.std(ddof=0))
    return GaussianFit(True, "unbinned maximum-likelihood fit", int(t.size), float(t.mean()),
                       width / math.sqrt(t.size), width, width / math.sqrt(2 * t.size))
