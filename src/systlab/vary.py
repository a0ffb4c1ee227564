"""Systematic variations: nominal, +-1 sigma, NP grids and pseudo-data truths as sample tables.

Each shape systematic acts on primary objects (DESIGN.md), MET is propagated, derived features
are recomputed after the variation, and the analysis thresholds are applied last. Every
variation of a process reuses the same events and the same random draws (soft-MET noise), so
templates move smoothly with the nuisance parameter. Each event carries a deterministic split
label from a hash of (event_id, seed): classifiers, templates and pseudo-data never share events.

A process's grid is produced with its shared work done once (``SharedEvents``: conversions, draws,
splits, features no NP moves; jet features once per JES value). Since every step is elementwise per
event, each table is bit-identical to varying that one point on its own (``apply_variation``).
"""

from __future__ import annotations

import functools
import os
import shutil
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

import awkward as ak
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from systlab.atomic import atomic_path
from systlab.catalogue import KNOWN_SHAPE_NPS, Variation  # noqa: F401  (re-exported)
from systlab.events import FEATURES, SAMPLE_COLUMNS, SPLITS
from systlab.features import (
    JetFeatures,
    Visible,
    direction,
    fixed_features,
    jet_features,
    moving_features,
    ordered_features,
    visible,
)
from systlab.simulate import JET_PT_CUT, LEP_PT_CUT, TAU_PT_CUT


@dataclass(frozen=True)
class PerEventVariation:
    """A :class:`Variation` look-alike whose NP values are arrays, one physical value per event (training data,
    generator variants)."""

    name: str
    values: Mapping[str, np.ndarray] = field(default_factory=dict)

    def value(self, np_name: str) -> np.ndarray | float:
        return self.values.get(np_name, KNOWN_SHAPE_NPS[np_name])


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


class SharedEvents(NamedTuple):
    """What every variation of one process shares: the NP-independent arrays (float64), computed once.

    Arrays hold only the events that at least one of the variations keeps (``index`` into the table read).
    """

    n_read: int  # events in the canonical table
    index: np.ndarray  # positions of the events held here in the canonical table
    event_id: np.ndarray  # uint64
    weight: np.ndarray
    tau_pt: np.ndarray
    tau_eta: np.ndarray
    tau_phi: np.ndarray
    tau_direction: np.ndarray  # rows cos phi, sin phi, sinh eta, cosh eta of the tau
    lep: Visible
    lep_passes: np.ndarray  # bool: lepton above its threshold (no NP moves it)
    met_x: np.ndarray  # nominal MET components
    met_y: np.ndarray
    jet_pt: ak.Array  # jagged, unvaried, no threshold
    jet_eta: ak.Array
    jet_phi: ak.Array
    jet_px: np.ndarray  # per-event vector sum of all jets (what JES moves into MET)
    jet_py: np.ndarray
    soft_draws: np.ndarray  # (n, 2) standard normals for the soft-MET term
    fixed: dict[str, np.ndarray]  # fixed_features of every event (float32)


def _float64(values: ak.Array) -> np.ndarray:
    return ak.to_numpy(values).astype(np.float64)


def passing_any(tau_pt: np.ndarray, lep_pt: np.ndarray, tes_values: Iterable) -> np.ndarray:
    """Indices of the events above the tau and lepton thresholds at one of ``tes_values`` at least.

    Only TES moves an event across a threshold, so no other event can appear in any of the tables.
    """
    tau_passes = np.zeros(len(tau_pt), dtype=bool)
    for tes in tes_values:
        tau_passes |= tau_pt * tes > TAU_PT_CUT
    return np.flatnonzero(tau_passes & (lep_pt > LEP_PT_CUT))


def share_events(events: ak.Array, soft_draws: np.ndarray, tes_values: Iterable) -> SharedEvents:
    """Convert and precompute, once per process, what no NP changes, for the events some ``tes_values`` keep."""
    flat = {name: _float64(events[name]) for name in ("tau_pt", "lep_pt")}
    index = passing_any(flat["tau_pt"], flat["lep_pt"], tes_values)
    flat = {name: values[index] for name, values in flat.items()}
    flat |= {name: _float64(events[name])[index] for name in ("weight", "tau_eta", "tau_phi", "lep_eta", "lep_phi",
                                                              "met_pt", "met_phi")}  # fmt: skip
    jets = {name: ak.values_astype(events[name][index], np.float64) for name in ("jet_pt", "jet_eta", "jet_phi")}
    lep = visible(flat["lep_pt"], flat["lep_eta"], flat["lep_phi"])
    return SharedEvents(
        n_read=len(events), index=index,
        event_id=ak.to_numpy(events.event_id).astype(np.uint64)[index],
        weight=flat["weight"],
        tau_pt=flat["tau_pt"], tau_eta=flat["tau_eta"], tau_phi=flat["tau_phi"],
        tau_direction=direction(flat["tau_eta"], flat["tau_phi"]),
        lep=lep,
        lep_passes=lep.pt > LEP_PT_CUT,
        met_x=flat["met_pt"] * np.cos(flat["met_phi"]), met_y=flat["met_pt"] * np.sin(flat["met_phi"]),
        jet_pt=jets["jet_pt"], jet_eta=jets["jet_eta"], jet_phi=jets["jet_phi"],
        jet_px=ak.to_numpy(ak.sum(jets["jet_pt"] * np.cos(jets["jet_phi"]), axis=1)),
        jet_py=ak.to_numpy(ak.sum(jets["jet_pt"] * np.sin(jets["jet_phi"]), axis=1)),
        soft_draws=soft_draws[index],
        fixed=fixed_features(flat["tau_eta"], flat["tau_phi"], lep),
    )  # fmt: skip


def scaled_jet_features(shared: SharedEvents, jes) -> JetFeatures:
    """Jet features of every event with every jet pT x ``jes`` (scalar, per event or per jet) and the jet threshold."""
    jet_pt = shared.jet_pt * jes
    jet_passes = jet_pt > JET_PT_CUT
    return jet_features(jet_pt[jet_passes], shared.jet_eta[jet_passes], shared.jet_phi[jet_passes], shared.lep.eta)


def jes_met_shift(shared: SharedEvents, jes) -> tuple[np.ndarray, np.ndarray]:
    """MET change (x, y) when jets scale by ``jes``: one factor (scalar or per event), or one per jet (jagged,
    the JES-granularity study's pT-binned NPs)."""
    if isinstance(jes, ak.Array):
        loss = (1.0 - jes) * shared.jet_pt
        return (ak.to_numpy(ak.sum(loss * np.cos(shared.jet_phi), axis=1)),
                ak.to_numpy(ak.sum(loss * np.sin(shared.jet_phi), axis=1)))  # fmt: skip
    return (1.0 - jes) * shared.jet_px, (1.0 - jes) * shared.jet_py


def varied_features(
    shared: SharedEvents, tes, jes, soft, jets: JetFeatures
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Events passing the thresholds after TES/JES/soft MET, and their features (``jets`` from ``jes``)."""
    # TES: tau_had momentum x alpha; the change of its pT vector goes into MET with opposite sign.
    tau_pt = shared.tau_pt
    met_x = shared.met_x + (1.0 - tes) * tau_pt * shared.tau_direction[0]
    met_y = shared.met_y + (1.0 - tes) * tau_pt * shared.tau_direction[1]
    tau_pt = tau_pt * tes
    # JES: every jet x alpha; MET absorbs the change of the jets' vector sum.
    jet_dx, jet_dy = jes_met_shift(shared, jes)
    met_x, met_y = met_x + jet_dx, met_y + jet_dy
    # soft MET: Gaussian noise of width |alpha_soft| GeV on each MET component, same draws always.
    met_x = met_x + abs(soft) * shared.soft_draws[:, 0]
    met_y = met_y + abs(soft) * shared.soft_draws[:, 1]

    keep = np.flatnonzero((tau_pt > TAU_PT_CUT) & shared.lep_passes)
    tau_pt = tau_pt[keep]
    tau = Visible(tau_pt, shared.tau_eta[keep], shared.tau_phi[keep], tau_pt * shared.tau_direction[:, keep])
    jets = jets.take(keep)
    fixed = {name: values[keep] for name, values in shared.fixed.items()}
    moving = moving_features(tau, shared.lep.take(keep), met_x[keep], met_y[keep], jets)
    return keep, ordered_features(fixed, jets.columns, moving)


def apply_variation(events: ak.Array, variation: Variation, soft_draws: np.ndarray) -> pd.DataFrame:
    """Vary the objects of ``events``, recompute features, apply thresholds; one row per surviving event."""
    values = [variation.value(name) for name in ("tes", "jes", "soft_met")]
    shared = share_events(events, soft_draws, values[:1])
    tes, jes, soft = (value[shared.index] if isinstance(value, ak.Array) or np.ndim(value) else value
                      for value in values)  # per-event (or, for JES, per-jet) values too
    keep, features = varied_features(shared, tes, jes, soft, scaled_jet_features(shared, jes))
    return pd.DataFrame({"event_id": shared.event_id[keep], "weight": shared.weight[keep], **features})


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


def np_point(variation: Variation) -> tuple[float, float, float]:
    """(tes, jes, |soft MET|): all a sample table depends on, so equal points give byte-equal files."""
    return variation.value("tes"), variation.value("jes"), abs(variation.value("soft_met"))


def by_jes(variations: list[Variation]) -> list[tuple[float, list[Variation]]]:
    """Variations grouped by their JES value (first-appearance order), so jet features are built once per value."""
    values = dict.fromkeys(v.value("jes") for v in variations)
    return [(jes, [v for v in variations if v.value("jes") == jes]) for jes in values]


def read_shared(canonical_path: str | os.PathLike, draw_seed: int, tes_values: Iterable) -> SharedEvents:
    """The canonical table of one process as ``SharedEvents`` (draws made for every event); refuses an empty one."""
    events = ak.from_parquet(canonical_path)
    if len(events) == 0:
        raise ValueError(f"{canonical_path}: field 'event_id': the canonical table has no events")
    return share_events(events, soft_met_draws(len(events), draw_seed), tes_values)


class Bookkeeping(NamedTuple):
    """Per-event split code and split-scaled weight: the same in every variation, computed once."""

    split: np.ndarray  # int8
    weight: np.ndarray  # weight / fraction of the event's split


def bookkeeping(shared: SharedEvents, seed: int, fractions: Mapping[str, float]) -> Bookkeeping:
    """What ``finish_sample`` adds, for every event at once."""
    split = split_labels(shared.event_id, seed, fractions)
    split_fraction = np.asarray([fractions[name] for name in SPLITS]) / sum(fractions.values())
    return Bookkeeping(split, shared.weight / split_fraction[split])


def sample_columns(
    shared: SharedEvents, books: Bookkeeping, label: int, keep: np.ndarray, features: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """The sample-table columns of the events ``keep``, in the order and dtypes of ``finish_sample``."""
    columns = {
        "event_id": shared.event_id[keep],
        "weight": books.weight[keep],
        "split": books.split[keep],
        "label": np.full(len(keep), label, dtype=np.int8),
    }
    return {**columns, **features}


@functools.cache
def sample_schema() -> pa.Schema:
    """Arrow schema of a sample table, with the pandas metadata ``DataFrame.to_parquet(index=False)`` writes."""
    dtypes = {**SAMPLE_COLUMNS, **dict.fromkeys(FEATURES, np.float32)}
    empty = pd.DataFrame({name: np.empty(0, dtype=dtype) for name, dtype in dtypes.items()})
    return pa.Schema.from_pandas(empty, preserve_index=False)


def _checked(columns: dict[str, np.ndarray], canonical_path, variation: Variation) -> dict[str, np.ndarray]:
    """``columns`` if they hold events with a positive total weight, else a ValueError naming the file."""
    if len(columns["weight"]) == 0:
        raise ValueError(f"{canonical_path}: variation {variation.name!r}: no event passes the thresholds")
    total = float(columns["weight"].sum())
    if not total > 0:
        raise ValueError(
            f"{canonical_path}: field 'weight': total weight {total:g} <= 0 after the thresholds "
            f"of variation {variation.name!r}"
        )
    return columns


def write_sample(columns: dict[str, np.ndarray], path: str | os.PathLike) -> None:
    """One sample table as Parquet, atomically; the same bytes as ``DataFrame(columns).to_parquet``, minus pandas."""
    schema = sample_schema()
    if list(columns) != schema.names:
        raise ValueError(f"{path}: sample columns {list(columns)} differ from {schema.names}")
    table = pa.Table.from_arrays(
        [pa.array(values, type=field.type) for values, field in zip(columns.values(), schema, strict=True)],
        schema=schema,
    )
    with atomic_path(path) as tmp:
        # no dictionary encoding: float features rarely repeat, and it triples the write time
        pq.write_table(table, tmp, compression="zstd", use_dictionary=False)


def copy_sample(source: str | os.PathLike, path: str | os.PathLike) -> None:
    """A variation at the same NP point as one already written: the same bytes, atomically."""
    with atomic_path(path) as tmp:
        shutil.copyfile(source, tmp)


def vary_process(
    canonical_path: str | os.PathLike,
    variations: list[Variation],
    out_paths: Mapping[str, str | os.PathLike],
    label: int,
    seed: int,
    fractions: Mapping[str, float],
    draw_seed: int,
) -> VaryResult:
    """Write one sample table per variation of one process (all from the same events and draws).

    Work that no NP value changes (conversions, draws, splits, fixed features) is done once, jet
    features once per JES value, and a variation at an NP point already written is a file copy.
    """
    start = time.perf_counter()
    shared = read_shared(canonical_path, draw_seed, {v.value("tes") for v in variations})
    books = bookkeeping(shared, seed, fractions)
    written: dict[tuple[float, float, float], str] = {}  # NP point -> variation name
    counts = {}
    for jes, group in by_jes(variations):
        jets = scaled_jet_features(shared, jes)
        for variation in group:
            point = np_point(variation)
            if point in written:
                copy_sample(out_paths[written[point]], out_paths[variation.name])
                counts[variation.name] = counts[written[point]]
                continue
            keep, features = varied_features(shared, *point, jets)
            write_sample(
                _checked(sample_columns(shared, books, label, keep, features), canonical_path, variation),
                out_paths[variation.name],
            )
            written[point] = variation.name
            counts[variation.name] = len(keep)
        del jets  # freed before the next JES value's are built: one set in memory at a time
    return VaryResult(shared.n_read, {v.name: counts[v.name] for v in variations}, time.perf_counter() - start)
