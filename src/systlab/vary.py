"""Systematic variations: nominal, +-1 sigma, NP grids and pseudo-data truths as sample tables.

Each shape systematic acts on primary objects (DESIGN.md), MET is propagated, derived features
are recomputed after the variation, and the analysis thresholds are applied last. Every
variation of a process reuses the same events and the same random draws (soft-MET noise), so
templates move smoothly with the nuisance parameter. Each event carries a deterministic split
label from a hash of (event_id, seed): classifiers, templates and pseudo-data never share events.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

import awkward as ak
import numpy as np
import pandas as pd

from systlab.atomic import atomic_path
from systlab.events import SAMPLE_COLUMNS, SPLITS
from systlab.features import compute_features
from systlab.simulate import JET_PT_CUT, LEP_PT_CUT, TAU_PT_CUT

#: Shape nuisance parameters this stage knows how to apply, with their nominal values.
KNOWN_SHAPE_NPS = {"tes": 1.0, "jes": 1.0, "soft_met": 0.0}


@dataclass(frozen=True)
class Variation:
    """A named point in nuisance-parameter space; ``values`` are physical (alpha, or GeV for soft MET)."""

    name: str
    values: Mapping[str, float] = field(default_factory=dict)

    def value(self, np_name: str) -> float:
        return float(self.values.get(np_name, KNOWN_SHAPE_NPS[np_name]))


class VaryResult(NamedTuple):
    """What one process's variation job wrote: events in and, per variation, events out and seconds."""

    events_in: int
    events_out: dict[str, int]
    seconds: float


def split_labels(event_id: np.ndarray, seed: int, fractions: Mapping[str, float]) -> np.ndarray:
    """Deterministic split code per event from a splitmix64 hash of (event_id, seed)."""
    x = np.asarray(event_id, dtype=np.uint64) ^ np.uint64((seed * 0x9E3779B97F4A7C15) % 2**64)
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    uniform = (x >> np.uint64(11)).astype(np.float64) / float(2**53)
    edges = np.cumsum([fractions[name] for name in SPLITS])
    codes = np.searchsorted(edges / edges[-1], uniform, side="right")
    return np.minimum(codes, len(SPLITS) - 1).astype(np.int8)


def soft_met_draws(n_events: int, seed: int) -> np.ndarray:
    """Standard-normal (x, y) draws per event, shared by every soft-MET value of a process."""
    return np.random.default_rng(seed).standard_normal((n_events, 2))


def apply_variation(events: ak.Array, variation: Variation, soft_draws: np.ndarray) -> pd.DataFrame:
    """Vary the objects of ``events``, recompute features, apply thresholds; one row per surviving event."""
    tes, jes, soft = variation.value("tes"), variation.value("jes"), variation.value("soft_met")
    tau_pt = ak.to_numpy(events.tau_pt).astype(np.float64)
    tau_phi = ak.to_numpy(events.tau_phi).astype(np.float64)
    met_pt = ak.to_numpy(events.met_pt).astype(np.float64)
    met_phi = ak.to_numpy(events.met_phi).astype(np.float64)
    met_x, met_y = met_pt * np.cos(met_phi), met_pt * np.sin(met_phi)

    # TES: tau_had momentum x alpha; the change of its pT vector goes into MET with opposite sign.
    met_x = met_x + (1.0 - tes) * tau_pt * np.cos(tau_phi)
    met_y = met_y + (1.0 - tes) * tau_pt * np.sin(tau_phi)
    tau_pt = tau_pt * tes

    # JES: every jet x alpha; MET absorbs the change of the jets' vector sum.
    jet_pt = ak.values_astype(events.jet_pt, np.float64)
    jet_phi = ak.values_astype(events.jet_phi, np.float64)
    met_x = met_x + (1.0 - jes) * ak.to_numpy(ak.sum(jet_pt * np.cos(jet_phi), axis=1))
    met_y = met_y + (1.0 - jes) * ak.to_numpy(ak.sum(jet_pt * np.sin(jet_phi), axis=1))
    jet_pt = jet_pt * jes

    # soft MET: Gaussian noise of width |alpha_soft| GeV on each MET component, same draws always.
    met_x = met_x + abs(soft) * soft_draws[:, 0]
    met_y = met_y + abs(soft) * soft_draws[:, 1]

    lep_pt = ak.to_numpy(events.lep_pt).astype(np.float64)
    keep = np.flatnonzero((tau_pt > TAU_PT_CUT) & (lep_pt > LEP_PT_CUT))
    jet_keep = jet_pt[keep] > JET_PT_CUT
    jets = {
        "pt": jet_pt[keep][jet_keep],
        "eta": ak.values_astype(events.jet_eta[keep][jet_keep], np.float64),
        "phi": jet_phi[keep][jet_keep],
    }
    flat = {
        name: ak.to_numpy(events[name]).astype(np.float64)[keep]
        for name in ("tau_eta", "lep_eta", "lep_phi")
    }
    features = compute_features(
        tau_pt[keep], flat["tau_eta"], tau_phi[keep], lep_pt[keep], flat["lep_eta"], flat["lep_phi"],
        met_x[keep], met_y[keep], jets["pt"], jets["eta"], jets["phi"],
    )  # fmt: skip
    table = {
        "event_id": ak.to_numpy(events.event_id).astype(np.uint64)[keep],
        "weight": ak.to_numpy(events.weight).astype(np.float64)[keep],
    }
    return pd.DataFrame({**table, **features})


def finish_sample(table: pd.DataFrame, label: int, seed: int, fractions: Mapping[str, float]) -> pd.DataFrame:
    """Add split and label columns and rescale weights so that ONE split sums to the expected yield."""
    split = split_labels(table["event_id"].to_numpy(), seed, fractions)
    split_fraction = np.asarray([fractions[name] for name in SPLITS]) / sum(fractions.values())
    out = table.copy()
    out["weight"] = table["weight"].to_numpy() / split_fraction[split]
    out["split"] = split
    out["label"] = np.int8(label)
    ordered = list(SAMPLE_COLUMNS) + [c for c in table.columns if c not in SAMPLE_COLUMNS]
    return out[ordered].astype({k: v for k, v in SAMPLE_COLUMNS.items()})


def vary_process(
    canonical_path: str | os.PathLike,
    variations: list[Variation],
    out_paths: Mapping[str, str | os.PathLike],
    label: int,
    seed: int,
    fractions: Mapping[str, float],
    draw_seed: int,
) -> VaryResult:
    """Write one sample table per variation of one process (all from the same events and draws)."""
    start = time.perf_counter()
    events = ak.from_parquet(canonical_path)
    if len(events) == 0:
        raise ValueError(f"{canonical_path}: field 'event_id': the canonical table has no events")
    draws = soft_met_draws(len(events), draw_seed)
    counts = {}
    for variation in variations:
        sample = finish_sample(apply_variation(events, variation, draws), label, seed, fractions)
        if len(sample) == 0:
            raise ValueError(f"{canonical_path}: variation {variation.name!r}: no event passes the thresholds")
        total = float(sample["weight"].sum())
        if not total > 0:
            raise ValueError(f"{canonical_path}: field 'weight': total weight {total:g} <= 0 after the thresholds "
                             f"of variation {variation.name!r}")
        with atomic_path(out_paths[variation.name]) as tmp:
            # no dictionary encoding: float features rarely repeat, and it triples the write time
            sample.to_parquet(tmp, index=False, compression="zstd", use_dictionary=False)
        counts[variation.name] = len(sample)
    return VaryResult(len(events), counts, time.perf_counter() - start)
