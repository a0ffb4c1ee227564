"""Method ``unbinned``: per-event density ratios of the H→ττ processes for the unbinned likelihood (issue #23).

The learning is :mod:`systlab.methods.density_ratio` (process fractions at nominal; per shape NP a ratio net of
log dσ_p(x | a)/dσ_p(x | nominal), as polynomials in a). What this module adds is the H→ττ events: the train and
validation events of every process that pass the thresholds at nominal or at either end of some NP's training range
(:func:`systlab.samples.vary.passing_any` — only TES moves the tau across its threshold, and monotonically), each
event's features at nominal, and the move of any event to any NP value by systlab's own variation code
(:func:`systlab.samples.vary.features_everywhere`): an event leaving the selection gets weight 0, one entering it
its weight, so the learned ratio carries the acceptance change. The exported ONNX scores the nominal signal fraction
first (the binned templates, metrics and figures read it like any classifier's score), then the fractions and
coefficients the unbinned likelihood reads (:mod:`systlab.likelihood.unbinned_inputs`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import pandas as pd

from systlab.config import Config, ModelSpec, ShapeNP
from systlab.events import SPLITS
from systlab.likelihood.unbinned_inputs import PROCESSES_KEY, SHAPE_BOUNDS_KEY, SHAPE_NPS_KEY
from systlab.methods.data import bootstrap_counts, surviving_rows, training_events
from systlab.samples.simulate import process_seed
from systlab.samples.vary import features_everywhere, share_events, soft_met_draws, split_labels

#: Default settings (``method_settings.unbinned`` overrides any of them).
DEFAULTS = {"hidden": [64, 64], "epochs": 30, "batch_size": 2048, "learning_rate": 0.003, "patience": 5,
            "degree": 4, "draws": 1, "ensemble": 1, "range": 3.0, "yield_step": 0.5, "region_nps": []}  # fmt: skip


@dataclass
class ProcessEvents:
    """One process's shared events (train and validation splits), each event's bootstrap count and split."""

    shared: Any  # systlab.samples.vary.SharedEvents
    counts: np.ndarray
    split: np.ndarray

    @property
    def weight(self) -> np.ndarray:
        """The training weight of each event wherever it passes the thresholds."""
        return self.shared.weight * self.counts


@dataclass
class UnbinnedTrainingData:
    """The events of every process (signal first), the shape NPs and their training ranges (σ units)."""

    processes: tuple[str, ...]
    events: list[ProcessEvents]
    shape_nps: tuple[ShapeNP, ...]
    ranges: tuple[tuple[float, float], ...]

    def process_index(self) -> np.ndarray:
        """The process index of every training row, processes in order."""
        return np.concatenate([np.full(len(e.counts), p) for p, e in enumerate(self.events)])

    def at(self, shifts: Mapping[str, np.ndarray], features: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Features (rows, features) and weights of every row with the shape NPs at ``shifts`` (σ units, one value
        per row; others nominal); weight 0 where the event fails the thresholds there."""
        xs, ws, start = [], [], 0
        for e in self.events:
            n = len(e.weight)
            values = {np_.name: np_.at(np.asarray(shifts[np_.name][start : start + n]) if np_.name in shifts else 0.0)
                      for np_ in self.shape_nps}  # fmt: skip
            passes, table = features_everywhere(e.shared, values)
            xs.append(np.column_stack([np.asarray(table[f], np.float64) for f in features]))
            ws.append(np.where(passes, e.weight, 0.0))
            start += n
        return np.concatenate(xs), np.concatenate(ws)


def unbinned_settings(cfg: Config) -> dict[str, Any]:
    """The training settings: :data:`DEFAULTS` with ``method_settings.unbinned`` over them (without the keys read
    after training, :func:`calibrated_nps`)."""
    from systlab.methods.registry import get

    after = get("unbinned").after_training
    return {**DEFAULTS, **{k: v for k, v in cfg.method_settings.extra.get("unbinned", {}).items()
                           if k not in after}}  # fmt: skip


def calibrated_nps(cfg: Config) -> tuple[str, ...]:
    """The shape NPs whose learned within-region shapes the unbinned inputs calibrate
    (``method_settings.unbinned.calibrate_spread``; :func:`systlab.likelihood.unbinned_inputs.calibrate_spread`)."""
    return tuple(cfg.method_settings.extra.get("unbinned", {}).get("calibrate_spread", ()))


def training_ranges(cfg: Config, half_width: float) -> tuple[tuple[float, float], ...]:
    """Each shape NP's training range in σ units: ± ``half_width`` (the unbinned fit bounds each NP to it)."""
    return tuple((-float(half_width), float(half_width)) for _ in cfg.shape_nps)


def unbinned_tables(cfg: Config, spec: ModelSpec, events: Mapping[str, ak.Array], replica: int) -> dict[str, Any]:
    """The unbinned method's own training data (registry ``tables``): every process's train and validation events
    that pass at nominal or at an end of some NP's range, with their bootstrap counts for replicas i > 0."""
    seeds = cfg.replica_seeds(replica)
    settings = unbinned_settings(cfg)
    ranges = training_ranges(cfg, float(settings["range"]))
    ends = [{}]
    for np_, (lo, hi) in zip(cfg.shape_nps, ranges, strict=True):
        ends += [{np_.name: np_.at(lo)}, {np_.name: np_.at(hi)}]
    points = [_physical(cfg, end) for end in ends]
    processes = (cfg.signal, *cfg.backgrounds)
    out = []
    for process in processes:
        soft = soft_met_draws(len(events[process]), process_seed(cfg.seed + 1, process))
        train_val, soft = training_events(events[process], soft, cfg.seed, cfg.splits)
        shared = share_events(train_val, soft, points)
        split = split_labels(shared.event_id, cfg.seed, cfg.splits)
        counts = np.ones(len(shared.weight))
        if seeds.resample:  # the replica's Poisson bootstrap of the train split (the same counts as other methods')
            all_counts = bootstrap_counts(len(events[process]), seeds.data, process)
            rows = surviving_rows(events[process], pd.DataFrame({"event_id": shared.event_id}))
            counts = np.where(split == SPLITS["train"], all_counts[rows], 1.0)
        out.append(ProcessEvents(shared, counts, split))
    return {"events": UnbinnedTrainingData(processes, out, tuple(cfg.shape_nps), ranges)}


def _physical(cfg: Config, shifts: Mapping[str, float]) -> dict[str, float]:
    """Every registered shape NP's physical value at ``shifts`` (σ units; the others nominal)."""
    return {np_.name: np_.at(shifts.get(np_.name, 0.0)) for np_ in cfg.shape_nps}


def unbinned_options(cfg: Config, spec: ModelSpec) -> dict[str, Any]:
    """Keyword options of :func:`train_unbinned`: the density-ratio settings."""
    return {"unbinned": unbinned_settings(cfg)}


def train_unbinned(samples: Mapping[str, Any], features: Sequence[str], settings, seed: int, out_dir,
                   unbinned: Mapping[str, Any] | None = None):  # fmt: skip
    """Fraction classifier and one ratio net per shape NP on the H→ττ events, exported to ONNX (signal fraction,
    fractions, coefficients) with the processes, shape NPs and ranges as metadata; model.pt, history, meta."""
    import torch

    from systlab import __version__
    from systlab.atomic import write_json
    from systlab.methods.common import TrainedModel, config_hash, save_state
    from systlab.methods.density_ratio import DensityRatioSettings, export_density_ratio, train_density_ratio
    from systlab.methods.loop import TrainingHistory

    data: UnbinnedTrainingData = samples["events"]
    opts = {**DEFAULTS, **dict(unbinned or {})}
    features = list(features)
    names = tuple(np_.name for np_ in data.shape_nps)
    process = data.process_index()
    x, weight = data.at({}, features)
    validation = np.concatenate([e.split for e in data.events]) == SPLITS["validation"]
    ratio_settings = DensityRatioSettings(
        hidden=tuple(opts["hidden"]), epochs=int(opts["epochs"]), batch_size=int(opts["batch_size"]),
        learning_rate=float(opts["learning_rate"]), patience=int(opts["patience"]), degree=int(opts["degree"]),
        ranges=data.ranges, draws=int(opts["draws"]), ensemble=int(opts["ensemble"]),
        yield_step=float(opts["yield_step"]), seed=int(seed), threads=int(settings.threads),
        yield_only=tuple(names.index(name) for name in opts["region_nps"] if name in names),
    )  # fmt: skip

    def move(_x: np.ndarray, _process: np.ndarray, k: int, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return data.at({names[k]: a}, features)

    fit = train_density_ratio(x, process, weight, move, len(names), ratio_settings, len(data.processes), validation)
    out = Path(out_dir)
    identity = {"method": "unbinned", "features": features, "seed": seed, "settings": opts,
                "processes": list(data.processes), "shape_nps": list(names), "ranges": [list(r) for r in data.ranges]}
    digest = config_hash(identity)
    model_path = save_state(fit.model, out / "model.pt")
    metadata = {"method": "unbinned", "training_hash": digest, "seed": seed,
                PROCESSES_KEY: json.dumps(list(data.processes)), SHAPE_NPS_KEY: json.dumps(list(names)),
                SHAPE_BOUNDS_KEY: json.dumps([list(r) for r in data.ranges])}  # fmt: skip
    passing = np.flatnonzero(weight > 0)
    onnx_path = export_density_ratio(fit.model, features, out / "model.onnx", metadata, sample=x[passing[:4096]])
    history: TrainingHistory = fit.fraction_history
    write_json(out / "history.json", {**history.to_dict(),
                                       "ratio_histories": {n: None if h is None else h.to_dict()
                                                           for n, h in zip(names, fit.ratio_histories, strict=True)}})
    write_json(out / "meta.json", {**identity, "training_hash": digest, "systlab_version": __version__,
                                    "torch_version": torch.__version__, "device": history.device,
                                    "n_events": int(len(x)), "n_passing_nominal": int(passing.size)})  # fmt: skip
    return TrainedModel(model_path, onnx_path, out / "history.json", out / "meta.json", history)
