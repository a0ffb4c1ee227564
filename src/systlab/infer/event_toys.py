"""Event-level pseudo-data: one Poisson multiplicity per toy-split event, so one pseudo-experiment can be
binned with any classifier (every f(x; α_k) of a grid) and stays the same set of events.

Each event i of a truth sample gets n_i ~ Poisson(w_i · μ_i) (μ_i = μ for signal events, 1 otherwise);
a histogram of the events weighted by n_i is a Poisson draw of the binned expectation in every binning
(a sum of independent Poisson variables), and the same n_i bin consistently at every α_k.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from systlab.events import SPLITS


class TruthEvents(NamedTuple):
    """The toy-split events of one truth sample, in a fixed order, with their score at every grid point."""

    process: np.ndarray  # str per event
    event_id: np.ndarray
    weight: np.ndarray  # expected events per MC event (μ not applied)
    signal: np.ndarray  # bool
    scores: np.ndarray  # (K, n): the score of f(x; α_k)


def toy_rows(tables: Mapping[tuple[str, str], pd.DataFrame], variation: str,
             split: str = "toy") -> list[tuple[str, pd.DataFrame]]:  # fmt: skip
    """(process, ``split`` rows) of ``variation``, processes sorted; KeyError if the variation is absent."""
    rows = [(p, t[t["split"].to_numpy() == SPLITS[split]]) for (p, v), t in sorted(tables.items()) if v == variation]
    if not rows:
        raise KeyError(f"no scores of pseudo-data sample {variation!r} (have {sorted({v for _, v in tables})})")
    return rows


def truth_events(per_point: Sequence[Mapping[tuple[str, str], pd.DataFrame]], variation: str,
                 signal: Sequence[str], split: str = "toy") -> TruthEvents:  # fmt: skip
    """The ``split`` events of ``variation`` aligned across grid points; ValueError if the events differ.

    The toy split is the held-out pseudo-data; the template split of the nominal sample gives toys whose
    expectation at α = 0 is the templates themselves (the model toys of a parameterized classifier).
    """
    first = toy_rows(per_point[0], variation, split)
    process = np.concatenate([np.full(len(t), p, dtype=object) for p, t in first])
    event_id = np.concatenate([t["event_id"].to_numpy() for _, t in first])
    weight = np.concatenate([t["weight"].to_numpy(dtype=np.float64) for _, t in first])
    scores = []
    for k, tables in enumerate(per_point):
        rows = toy_rows(tables, variation, split)
        ids = np.concatenate([t["event_id"].to_numpy() for _, t in rows])
        procs = np.concatenate([np.full(len(t), p, dtype=object) for p, t in rows])
        if not (np.array_equal(ids, event_id) and np.array_equal(procs, process)):
            raise ValueError(f"grid point {k}: the events of {variation!r} differ from grid point 0's")
        scores.append(np.concatenate([t["score"].to_numpy(dtype=np.float64) for _, t in rows]))
    is_signal = np.isin(process, list(signal))
    return TruthEvents(process, event_id, weight, is_signal, np.vstack(scores))


def expected_multiplicities(events: TruthEvents, mu: float) -> np.ndarray:
    """The expected number of times each event occurs at signal strength ``mu``."""
    return np.clip(events.weight * np.where(events.signal, mu, 1.0), 0.0, None)


def poisson_multiplicities(expected: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One pseudo-experiment: a Poisson multiplicity per event."""
    return rng.poisson(np.clip(expected, 0.0, None)).astype(float)


def bootstrapped_multiplicities(expected: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One pseudo-experiment from another MC realisation of the same model: each event's expectation times a
    Poisson(1) bootstrap weight, then a Poisson multiplicity. Per bin the counts then vary by the Poisson
    term plus Σw², the MC-statistical variance the templates' staterror NPs describe."""
    return poisson_multiplicities(expected * rng.poisson(1.0, size=expected.shape), rng)


def binned(scores: np.ndarray, multiplicities: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts per score bin of events weighted by ``multiplicities``; score 1.0 in the last bin (as templates)."""
    clipped = np.minimum(np.asarray(scores, dtype=np.float64), np.nextafter(1.0, 0.0))
    return np.histogram(clipped, bins=np.asarray(edges, dtype=float), weights=multiplicities)[0].astype(float)


def binned_at_points(events: TruthEvents, multiplicities: np.ndarray, edges: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The same pseudo-events binned with f(x; α_k) and the edges of every grid point k."""
    if len(edges) != events.scores.shape[0]:
        raise ValueError(f"{len(edges)} binnings for {events.scores.shape[0]} grid points")
    return [binned(s, multiplicities, e) for s, e in zip(events.scores, edges, strict=True)]
