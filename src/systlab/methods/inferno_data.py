"""INFERNO's training tables: every train/validation event at the target NP's -1 sigma, nominal and +1 sigma in one row.

The three variations come from ``systlab.samples.vary`` on the same events and soft-MET draws. An event that fails the
cuts at one point still has its row; ``pass_<point>`` = 0 there, and its features there repeat those of a
point it passes. Every other NP stays nominal (INFERNO profiles them analytically in its loss).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import awkward as ak
import numpy as np
import pandas as pd

from systlab.config import ShapeNP
from systlab.methods.data import per_process_tables, training_events
from systlab.methods.inferno import PASS, SHIFTS, shifted_column
from systlab.samples.vary import Variation, apply_variation, finish_sample


def inferno_training_table(
    events: ak.Array,
    label: int,
    shape_np: ShapeNP,
    features: Sequence[str],
    soft_draws: np.ndarray,
    split_seed: int,
    fractions: Mapping[str, float],
    rng: np.random.Generator | None = None,
) -> pd.DataFrame:
    """One process's rows: bookkeeping and features at nominal, ``down:``/``up:`` features, ``pass_*`` flags.
    ``rng`` is accepted for ``per_process_tables`` and unused: the three points need no draw."""
    events, soft_draws = training_events(events, soft_draws, split_seed, fractions)
    points = {"nominal": 0.0, **SHIFTS}
    varied = {}
    for name, k in points.items():
        table = apply_variation(events, Variation(name, {shape_np.name: shape_np.at(k)}), soft_draws)
        varied[name] = finish_sample(table, label, split_seed, fractions).set_index("event_id")
    ids = varied["nominal"].index.union(varied["up"].index).union(varied["down"].index)
    table = varied["nominal"].reindex(ids)
    for name in SHIFTS:  # rows failing the nominal cuts: bookkeeping and features from a point they pass
        table = table.combine_first(varied[name].reindex(ids))
    for name in points:
        table[PASS + name] = ids.isin(varied[name].index).astype(np.float32)
    for name in SHIFTS:
        shifted = varied[name].reindex(ids)[list(features)]
        table[[shifted_column(name, f) for f in features]] = shifted.fillna(table[list(features)]).to_numpy()
    table = table.reset_index().rename(columns={"index": "event_id"})
    return table.astype({"split": np.int8, "label": np.int8, "event_id": np.uint64})


def inferno_training_tables(
    events: Mapping[str, ak.Array],
    signal: str,
    shape_np: ShapeNP,
    features: Sequence[str],
    seed: int,
    split_seed: int,
    fractions: Mapping[str, float],
    soft_seed: int,
    resample: bool = False,
) -> dict[str, pd.DataFrame]:
    """Per-process INFERNO tables (``seed`` drives only the bootstrap of replicas > 0)."""
    return per_process_tables(events, signal, inferno_training_table, seed=seed, split_seed=split_seed,
                              fractions=fractions, soft_seed=soft_seed, resample=resample, shape_np=shape_np,
                              features=features)  # fmt: skip
