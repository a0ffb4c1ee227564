"""Expected-event histograms of input features per process and TES variation (figure ``features``).

Undefined values (``events.SENTINEL``) are dropped. Every split is used: a sample weight is the event
weight / its split fraction, so weight x split fraction summed over all splits is the expected yield.
Values outside the drawn range go into the first / last bin.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from systlab.events import SENTINEL, SPLITS
from systlab.studies.result_files import SampleKey

#: Features drawn by default: mass and momentum features that separate H from Z and move with TES.
DEFAULT_FEATURES = (
    "DER_mass_vis", "DER_mass_MMC", "PRI_tau_pt",
    "PRI_met", "DER_mass_transverse_met_lep", "DER_pt_h",
    "PRI_lep_pt", "DER_pt_ratio_lep_tau", "DER_deltar_tau_lep",
)  # fmt: skip
FEATURE_BINS = 30
#: Drawn range in GeV (or unitless) of features with a physics-motivated window; others use weighted quantiles.
FEATURE_RANGES = {
    "DER_mass_vis": (0.0, 200.0), "DER_mass_MMC": (0.0, 300.0), "PRI_tau_pt": (20.0, 140.0),
    "PRI_lep_pt": (20.0, 120.0), "PRI_met": (0.0, 150.0), "DER_mass_transverse_met_lep": (0.0, 120.0),
    "DER_pt_h": (0.0, 250.0), "DER_pt_ratio_lep_tau": (0.0, 3.0), "DER_deltar_tau_lep": (0.0, 4.0),
}  # fmt: skip


class FeatureHistograms(NamedTuple):
    """One feature: bin edges and expected events per bin (and sum of squared weights) per (process, variation)."""

    feature: str
    edges: np.ndarray
    counts: dict[SampleKey, np.ndarray]
    sumw2: dict[SampleKey, np.ndarray]


def defined(values: np.ndarray) -> np.ndarray:
    """True where a feature value is defined: finite and not the sentinel."""
    values = np.asarray(values, np.float64)
    return np.isfinite(values) & (values != SENTINEL)


def pooled_weights(table: pd.DataFrame, fractions: Mapping[str, float]) -> np.ndarray:
    """Weights that sum to the expected yield over all splits together (weight x own split fraction)."""
    split_fraction = np.asarray([fractions[name] for name in SPLITS], np.float64) / sum(fractions.values())
    return table["weight"].to_numpy(np.float64) * split_fraction[table["split"].to_numpy()]


def weighted_quantiles(values: np.ndarray, weights: np.ndarray, probabilities: Sequence[float]) -> np.ndarray:
    """Quantiles of the weighted distribution of ``values`` (the value where the cumulative weight crosses p)."""
    order = np.argsort(values)
    cumulative = np.cumsum(np.asarray(weights, np.float64)[order])
    if not cumulative[-1] > 0:
        raise ValueError("weighted quantiles need a positive total weight")
    index = np.searchsorted(cumulative, np.asarray(probabilities) * cumulative[-1])
    return np.asarray(values)[order][np.clip(index, 0, len(values) - 1)]


def nice_width(span: float, bins: int) -> float:
    """A bin width of 1, 2, 2.5 or 5 x 10^n close to (not below) ``span / bins``."""
    raw = span / bins
    decade = 10.0 ** np.floor(np.log10(raw))
    return float(min(m * decade for m in (1, 2, 2.5, 5, 10) if m * decade >= raw * (1 - 1e-9)))


def feature_edges(values: np.ndarray, weights: np.ndarray, bins: int = FEATURE_BINS,
                  quantiles: tuple[float, float] = (0.005, 0.99)) -> np.ndarray:  # fmt: skip
    """About ``bins`` equal bins of a round width covering the central weighted quantiles of the defined values;
    positive features whose low quantile is near 0 (masses, momenta) start at 0."""
    values, weights = np.asarray(values, np.float64), np.asarray(weights, np.float64)
    keep = defined(values)
    if not keep.any():
        raise ValueError("no defined values to bin")
    low, high = weighted_quantiles(values[keep], weights[keep], quantiles)
    if values[keep].min() >= 0 and low < 0.3 * high:
        low = 0.0
    if not high > low:
        low, high = low - 0.5, high + 0.5
    width = nice_width(high - low, bins)
    low = np.floor(low / width) * width
    n = int(np.ceil((high - low) / width - 1e-9))
    return low + width * np.arange(n + 1)


def histogram(values: np.ndarray, weights: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum of weights and of squared weights per bin over defined values, outside values in the edge bins."""
    values, weights = np.asarray(values, np.float64), np.asarray(weights, np.float64)
    keep = defined(values)
    clipped = np.clip(values[keep], edges[0], edges[-1])
    w = weights[keep]
    return np.histogram(clipped, edges, weights=w)[0], np.histogram(clipped, edges, weights=w * w)[0]


def feature_histograms(
    tables: Mapping[SampleKey, pd.DataFrame],
    feature: str,
    fractions: Mapping[str, float],
    bins: int = FEATURE_BINS,
    reference: str = "nominal",
    ranges: Mapping[str, tuple[float, float]] = FEATURE_RANGES,
) -> FeatureHistograms:
    """Histograms of ``feature`` for every table; edges from ``ranges`` or the ``reference`` tables of all processes."""
    for key, table in tables.items():
        if feature not in table.columns:
            raise ValueError(f"sample {key.process}/{key.variation}: no column {feature!r}")
    nominal = [k for k in tables if k.variation == reference]
    if not nominal:
        raise KeyError(f"no {reference!r} tables to choose the binning of {feature!r}")
    weights = {key: pooled_weights(table, fractions) for key, table in tables.items()}
    if feature in ranges:
        low, high = ranges[feature]
        edges = np.linspace(low, high, round((high - low) / nice_width(high - low, bins)) + 1)
    else:
        edges = feature_edges(
            np.concatenate([tables[k][feature].to_numpy() for k in nominal]),
            np.concatenate([weights[k] for k in nominal]),
            bins,
        )
    counts, sumw2 = {}, {}
    for key, table in tables.items():
        counts[key], sumw2[key] = histogram(table[feature].to_numpy(), weights[key], edges)
    return FeatureHistograms(feature, edges, counts, sumw2)


def signal_scale(signal_yield: float, background_yield: float, share: float = 0.5) -> float:
    """A round factor (1, 2 or 5 x 10^n, at least 1) scaling the signal to about ``share`` of the background."""
    target = share * background_yield / signal_yield
    if not target > 1:
        return 1.0
    decade = 10.0 ** np.floor(np.log10(target))
    return float(max(m * decade for m in (1, 2, 5) if m * decade <= target))
