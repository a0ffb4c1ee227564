"""Systematic variations: nominal, +-1 sigma, NP grids and pseudo-data truths as sample tables.

Each shape systematic acts on primary objects (DESIGN.md), MET is propagated, derived features
are recomputed after the variation, and the analysis thresholds are applied last. The systematics
come from the registry in :mod:`systlab.samples.systematics`, applied in its order (tes, jes, soft_met, then
any registered later); a variation names NP values, every NP it does not name is nominal. Every
variation of a process reuses the same events and the same random draws (soft-MET noise), so
templates move smoothly with the nuisance parameter. Each event carries a deterministic split
label from a hash of (event_id, seed): classifiers, templates and pseudo-data never share events.

A process's grid is produced with its shared work done once (``SharedEvents``: conversions, draws,
splits, features no NP moves; jet features once per value of the NPs that move jets; only the NPs that
move the tau or lepton decide which events can pass). Since every step is elementwise per event, each
table is bit-identical to varying that one point on its own (``apply_variation``).
"""

from __future__ import annotations

import functools
import os
import shutil
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import awkward as ak
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from systlab.atomic import atomic_path
from systlab.config.catalogue import KNOWN_SHAPE_NPS, Variation  # noqa: F401  (re-exported)
from systlab.events import FEATURES, SAMPLE_COLUMNS, SPLITS
from systlab.samples import systematics
from systlab.samples.features import (
    JetFeatures,
    Visible,
    direction,
    fixed_features,
    jet_features,
    moving_features,
    ordered_features,
)
from systlab.samples.simulate import JET_PT_CUT, LEP_PT_CUT, TAU_PT_CUT
from systlab.samples.systematics import SELECTED, Objects


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
    objects: Objects  # the nominal primary objects, what the systematics move
    tau_eta: np.ndarray
    tau_phi: np.ndarray
    lep: Visible  # the nominal lepton
    jet_eta: ak.Array  # jagged, no threshold
    fixed: dict[str, np.ndarray]  # fixed_features of every event (float32), for the points that leave the lepton


def _float64(values: ak.Array) -> np.ndarray:
    return ak.to_numpy(values).astype(np.float64)


def variation_values(variation: Variation | PerEventVariation) -> dict[str, Any]:
    """The physical value of every registered shape NP at ``variation`` (nominal where it names none)."""
    return {s.name: variation.value(s.name) for s in systematics.ordered()}


def np_point(variation: Variation) -> tuple:
    """Every NP's ``key`` (tes, jes, |soft MET|, ...): all a sample table depends on, so equal points, equal bytes."""
    return tuple(s.key(variation.value(s.name)) for s in systematics.ordered())


def passing_any(objects: Objects, points: Iterable[Mapping[str, Any]]) -> np.ndarray:
    """Indices of the events above the tau and lepton thresholds at one of the NP ``points`` at least.

    Only the systematics that move a selected object (the tau: TES) move an event across a threshold, so
    only they are applied here, and no other event can appear in any of the tables.
    """
    selecting = systematics.ordered(SELECTED)
    passes = np.zeros(len(objects.tau_pt), dtype=bool)
    for values in points:
        moved = systematics.apply_all(objects, values, selecting)
        passes |= (moved.tau_pt > TAU_PT_CUT) & (moved.lep_pt > LEP_PT_CUT)
    return np.flatnonzero(passes)


def _jets(events: ak.Array, index) -> dict[str, Any]:
    """The jagged jets (float64) of the events ``index`` and their vector pT sum."""
    jets = {name: ak.values_astype(events[name][index], np.float64) for name in ("jet_pt", "jet_eta", "jet_phi")}
    jets["jet_px"] = ak.to_numpy(ak.sum(jets["jet_pt"] * np.cos(jets["jet_phi"]), axis=1))
    jets["jet_py"] = ak.to_numpy(ak.sum(jets["jet_pt"] * np.sin(jets["jet_phi"]), axis=1))
    return jets


def share_events(events: ak.Array, soft_draws: np.ndarray, points: Iterable[Mapping[str, Any]]) -> SharedEvents:
    """Convert and precompute, once per process, what no NP changes, for the events some NP ``points`` keep."""
    flat = {name: _float64(events[name]) for name in ("weight", "tau_pt", "tau_eta", "tau_phi", "lep_pt", "lep_eta",
                                                      "lep_phi", "met_pt", "met_phi")}  # fmt: skip
    every = Objects(
        tau_pt=flat["tau_pt"], tau_direction=direction(flat["tau_eta"], flat["tau_phi"]),
        lep_pt=flat["lep_pt"], lep_direction=direction(flat["lep_eta"], flat["lep_phi"]),
        met_x=flat["met_pt"] * np.cos(flat["met_phi"]), met_y=flat["met_pt"] * np.sin(flat["met_phi"]),
        jet_scale=1.0, jet_pt=None, jet_phi=None, jet_px=None, jet_py=None, soft_draws=soft_draws,
    )  # fmt: skip
    if any("jets" in s.moves for s in systematics.ordered(SELECTED)):  # jets needed before the selection
        every = every._replace(**{k: v for k, v in _jets(events, slice(None)).items() if k != "jet_eta"})
    index = passing_any(every, points)
    jets = _jets(events, index)
    objects = every.take(index)._replace(**{k: v for k, v in jets.items() if k != "jet_eta"})
    tau_eta, tau_phi = flat["tau_eta"][index], flat["tau_phi"][index]
    lep = Visible(objects.lep_pt, flat["lep_eta"][index], flat["lep_phi"][index],
                  objects.lep_pt * objects.lep_direction)  # fmt: skip
    return SharedEvents(
        n_read=len(events), index=index,
        event_id=ak.to_numpy(events.event_id).astype(np.uint64)[index],
        weight=flat["weight"][index],
        objects=objects, tau_eta=tau_eta, tau_phi=tau_phi, lep=lep, jet_eta=jets["jet_eta"],
        fixed=fixed_features(tau_eta, tau_phi, lep),
    )  # fmt: skip


def scaled_jet_features(shared: SharedEvents, jet_scale) -> JetFeatures:
    """Jet features of every event with every jet pT x ``jet_scale`` (scalar, per event or per jet) and the jet
    threshold."""
    jet_pt = shared.objects.jet_pt * jet_scale
    jet_passes = jet_pt > JET_PT_CUT
    return jet_features(jet_pt[jet_passes], shared.jet_eta[jet_passes], shared.objects.jet_phi[jet_passes],
                        shared.lep.eta)  # fmt: skip


def jet_scale(shared: SharedEvents, values: Mapping[str, Any]):
    """The jet pT scale at NP ``values``: the systematics that move jets applied to the nominal objects."""
    return systematics.apply_all(shared.objects, values, systematics.ordered({"jets"})).jet_scale


def varied_features(
    shared: SharedEvents, objects: Objects, jets: JetFeatures, cut: bool = True
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Events passing the thresholds with the varied ``objects``, and their features (``jets`` at their jet scale);
    ``cut`` False: every event (the thresholds not applied).

    The lepton features are recomputed only if a registered systematic moves the lepton; else they are shared.
    """
    passes = (objects.tau_pt > TAU_PT_CUT) & (objects.lep_pt > LEP_PT_CUT)
    keep = np.flatnonzero(passes) if cut else np.arange(passes.size)
    tau_pt = objects.tau_pt[keep]
    tau = Visible(tau_pt, shared.tau_eta[keep], shared.tau_phi[keep], tau_pt * objects.tau_direction[:, keep])
    if systematics.ordered({"lep"}):
        lep_pt = objects.lep_pt[keep]
        lep = Visible(lep_pt, shared.lep.eta[keep], shared.lep.phi[keep], lep_pt * objects.lep_direction[:, keep])
        fixed = fixed_features(tau.eta, tau.phi, lep)
    else:
        lep = shared.lep.take(keep)
        fixed = {name: values[keep] for name, values in shared.fixed.items()}
    jets = jets.take(keep)
    moving = moving_features(tau, lep, objects.met_x[keep], objects.met_y[keep], jets)
    return keep, ordered_features(fixed, jets.columns, moving)


def _taken(value, index: np.ndarray):
    """An NP value restricted to the events ``index``: per-event (or per-jet) arrays are indexed, scalars kept."""
    return value[index] if isinstance(value, ak.Array) or np.ndim(value) else value


def apply_variation(events: ak.Array, variation: Variation | PerEventVariation, soft_draws: np.ndarray) -> pd.DataFrame:
    """Vary the objects of ``events``, recompute features, apply thresholds; one row per surviving event."""
    values = variation_values(variation)
    shared = share_events(events, soft_draws, [values])
    objects = systematics.apply_all(shared.objects, {name: _taken(v, shared.index) for name, v in values.items()})
    keep, features = varied_features(shared, objects, scaled_jet_features(shared, objects.jet_scale))
    return pd.DataFrame({"event_id": shared.event_id[keep], "weight": shared.weight[keep], **features})


def features_everywhere(shared: SharedEvents, values: Mapping[str, Any]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Every event of ``shared`` at the physical NP ``values`` (every registered NP; scalars or one value per shared
    event): whether it passes the thresholds there, and its features without the thresholds applied. The rows stay
    those of ``shared``, so one event can be compared with itself at several NP values (the unbinned method's
    density-ratio training, :mod:`systlab.methods.unbinned`)."""
    objects = systematics.apply_all(shared.objects, dict(values))
    passes = (objects.tau_pt > TAU_PT_CUT) & (objects.lep_pt > LEP_PT_CUT)
    _, features = varied_features(shared, objects, scaled_jet_features(shared, objects.jet_scale), cut=False)
    return passes, features


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


def by_jets(variations: list[Variation]) -> list[tuple[tuple, list[Variation]]]:
    """Variations grouped by the values of the NPs that move jets (JES), first-appearance order, so the jet
    features are built once per value."""
    movers = systematics.ordered({"jets"})
    keys = [tuple(s.key(v.value(s.name)) for s in movers) for v in variations]
    return [(key, [v for v, k in zip(variations, keys, strict=True) if k == key]) for key in dict.fromkeys(keys)]


def read_shared(canonical_path: str | os.PathLike, draw_seed: int, points: Iterable[Mapping[str, Any]]) -> SharedEvents:
    """The canonical table of one process as ``SharedEvents`` (draws made for every event); refuses an empty one."""
    events = ak.from_parquet(canonical_path)
    if len(events) == 0:
        raise ValueError(f"{canonical_path}: field 'event_id': the canonical table has no events")
    return share_events(events, soft_met_draws(len(events), draw_seed), points)


class Bookkeeping(NamedTuple):
    """Per-event split code and split-scaled weight: the same in every variation, computed once."""

    split: np.ndarray  # int8
    weight: np.ndarray  # weight / fraction of the event's split


def bookkeeping(shared: SharedEvents, seed: int, fractions: Mapping[str, float]) -> Bookkeeping:
    """What ``finish_sample`` adds, for every event at once."""
    return event_bookkeeping(shared.event_id, shared.weight, seed, fractions)


def event_bookkeeping(event_id: np.ndarray, weight: np.ndarray, seed: int,
                      fractions: Mapping[str, float]) -> Bookkeeping:  # fmt: skip
    """Split code and split-scaled weight of events by id and weight (the FAIR protocol's held-out events too)."""
    split = split_labels(event_id, seed, fractions)
    split_fraction = np.asarray([fractions[name] for name in SPLITS]) / sum(fractions.values())
    return Bookkeeping(split, np.asarray(weight, dtype=np.float64) / split_fraction[split])


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

    Work that no NP value changes (conversions, draws, splits, fixed features) is done once, jet features
    once per value of the NPs that move jets, and a variation at an NP point already written is a file copy.
    """
    start = time.perf_counter()
    selecting = systematics.ordered(SELECTED)
    points = {tuple(s.key(v.value(s.name)) for s in selecting): variation_values(v) for v in variations}
    shared = read_shared(canonical_path, draw_seed, points.values())
    books = bookkeeping(shared, seed, fractions)
    written: dict[tuple, str] = {}  # NP point -> variation name
    counts = {}
    for _, group in by_jets(variations):
        jets = scaled_jet_features(shared, jet_scale(shared, variation_values(group[0])))
        for variation in group:
            point = np_point(variation)
            if point in written:
                copy_sample(out_paths[written[point]], out_paths[variation.name])
                counts[variation.name] = counts[written[point]]
                continue
            objects = systematics.apply_all(shared.objects, variation_values(variation))
            keep, features = varied_features(shared, objects, jets)
            write_sample(
                _checked(sample_columns(shared, books, label, keep, features), canonical_path, variation),
                out_paths[variation.name],
            )
            written[point] = variation.name
            counts[variation.name] = len(keep)
        del jets  # freed before the next jet scale's are built: one set in memory at a time
    return VaryResult(shared.n_read, {v.name: counts[v.name] for v in variations}, time.perf_counter() - start)
