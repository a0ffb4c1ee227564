"""Training tables for decorrelating a modelling difference: generator A vs B, or the scale family (x1/2, x1, x2).

Per training event, a draw decides which variant it is seen in (``systlab.samples.generators``): generator A or B with
equal probability (k = 0 / 1), or a scale knob xi = 2^k with k uniform in {-1, 0, 1}, applied as the event weight.
Every other NP stays nominal, so the plain reference is the baseline. The nuisance column ``z_<family>`` is
k + U(-1/2, 1/2): the uniform jitter keeps the pivot adversary's density bounded (a discrete k lets it
shrink to spikes of unbounded likelihood); k is recovered exactly by rounding, so independence from
``z_<family>`` (DisCo) is independence from k.
"""

from __future__ import annotations

from collections.abc import Mapping

import awkward as ak
import numpy as np
import pandas as pd

from systlab.methods.data import per_process_tables, surviving_rows, training_events, z_column
from systlab.samples.generators import TRAINING_VARIANTS, generator_events_variation, scale_weight
from systlab.samples.vary import Variation, apply_variation, finish_sample

#: The modelling differences a classifier can be decorrelated from (``ModelSpec.nuisance`` of cross-check models).
FAMILIES = tuple(TRAINING_VARIANTS)


def theory_training_table(
    events: ak.Array,
    label: int,
    family: str,
    rng: np.random.Generator,
    soft_draws: np.ndarray,
    split_seed: int,
    fractions: Mapping[str, float],
) -> pd.DataFrame:
    """Train/validation rows of one process, each in a randomly drawn variant of ``family``, with ``z_<family>``."""
    events, soft_draws = training_events(events, soft_draws, split_seed, fractions)
    if family == "generator":
        z = rng.integers(0, 2, len(events)).astype(np.float64)
        variation = generator_events_variation(events, np.where(z == 1, "B", "A"))
    elif family == "scale":
        z = rng.integers(-1, 2, len(events)).astype(np.float64)
        variation = Variation("nominal")
    else:
        raise ValueError(f"unknown modelling family {family!r}; known: {list(FAMILIES)}")
    table = finish_sample(apply_variation(events, variation, soft_draws), label, split_seed, fractions)
    z = z[surviving_rows(events, table)]
    if family == "scale":
        table["weight"] = table["weight"].to_numpy() * scale_weight(2.0**z, table["PRI_jet_all_pt"].to_numpy())
    table[z_column(family)] = (z + rng.uniform(-0.5, 0.5, len(z))).astype(np.float32)
    return table


def theory_training_tables(
    events: Mapping[str, ak.Array],
    signal: str,
    family: str,
    seed: int,
    split_seed: int,
    fractions: Mapping[str, float],
    soft_seed: int,
    resample: bool = False,
) -> dict[str, pd.DataFrame]:
    """Per-process tables as ``train.data.training_tables``, with the variant drawn per event instead of NPs."""
    return per_process_tables(events, signal, theory_training_table, seed=seed, split_seed=split_seed,
                              fractions=fractions, soft_seed=soft_seed, resample=resample, family=family)  # fmt: skip
