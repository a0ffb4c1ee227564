"""From the typed config to one training call: settings, per-method options and the training tables.

Replica i's seeds come from :meth:`systlab.config.Config.replica_seeds` (by default ``config.seed + i`` for the NP
draws, the bootstrap and the initialisation; replicas i > 0 see a Poisson(1) bootstrap of the train split). Splits and
soft-MET draws use the vary stage's seeds, so the events are those of the samples.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import awkward as ak
import pandas as pd

from systlab.config import Config, ModelSpec
from systlab.methods.data import method_draws, training_tables
from systlab.methods.inferno_data import inferno_training_tables
from systlab.methods.loop import TrainingSettings
from systlab.methods.registry import get
from systlab.methods.settings import PivotSettings
from systlab.methods.theory_data import FAMILIES, theory_training_tables


def training_settings(cfg: Config, threads: int | None = None) -> TrainingSettings:
    t = cfg.training
    return TrainingSettings(hidden=t.hidden, epochs=t.epochs, batch_size=t.batch_size, learning_rate=t.learning_rate,
                            patience=t.patience, threads=threads or t.threads)  # fmt: skip


def pivot_settings(cfg: Config, nuisance: str, lam: float | None = None) -> PivotSettings:
    p = cfg.method_settings.pivot
    return PivotSettings(lam=p.lam if lam is None else float(lam), components=p.components,
                         hidden=p.adversary_hidden, adversary_steps=p.adversary_steps,
                         learning_rate=p.adversary_learning_rate, pretrain_epochs=p.pretrain_epochs,
                         adversary_pretrain_epochs=p.adversary_pretrain_epochs, nuisance=nuisance)  # fmt: skip


def pivot_options(cfg: Config, spec: ModelSpec) -> dict[str, Any]:
    return {"pivot": pivot_settings(cfg, spec.nuisance, spec.lam)}


def disco_options(cfg: Config, spec: ModelSpec) -> dict[str, Any]:
    return {"lam": cfg.method_settings.disco.lam if spec.lam is None else spec.lam, "nuisance": spec.nuisance}


def oracle_options(cfg: Config, spec: ModelSpec) -> dict[str, Any]:
    return {"nuisance": spec.nuisance, "point": spec.point}


def aware_options(cfg: Config, spec: ModelSpec) -> dict[str, Any]:
    return {"nuisance": spec.nuisance}


def inferno_options(cfg: Config, spec: ModelSpec) -> dict[str, Any]:
    return {"signal": cfg.signal, "norms": {n.name: (n.processes, n.sigma) for n in cfg.norm_nps},
            "lumi_sigma": cfg.lumi_sigma, "bins": cfg.method_settings.inferno_bins,
            "temperature": cfg.method_settings.inferno_temperature}  # fmt: skip


def inferno_tables(
    cfg: Config, spec: ModelSpec, events: Mapping[str, ak.Array], replica: int
) -> dict[str, pd.DataFrame]:
    """Every event at the target NP's -1, 0, +1 sigma; the other NPs enter INFERNO's loss analytically."""
    seeds = cfg.replica_seeds(replica)
    return inferno_training_tables(events, cfg.signal, cfg.shape_np(spec.nuisance), cfg.features, seed=seeds.data,
                                   split_seed=cfg.seed, fractions=cfg.splits, soft_seed=cfg.seed + 1,
                                   resample=seeds.resample)  # fmt: skip


def method_options(cfg: Config, spec: ModelSpec) -> dict[str, Any]:
    """Keyword options of the training function of ``spec.method`` (its registry entry) for this model."""
    return get(spec.method).training_options(cfg, spec)


def model_training_tables(
    cfg: Config, spec: ModelSpec, events: Mapping[str, ak.Array], replica: int
) -> dict[str, pd.DataFrame]:
    """Per-process train/validation tables for one replica of one model."""
    method = get(spec.method)
    if method.tables:  # a method with its own training data (INFERNO)
        return method.training_tables(cfg, spec, events, replica)
    seeds = cfg.replica_seeds(replica)
    if spec.nuisance in FAMILIES:  # a generator cross-check model: variants drawn per event, NPs nominal
        return theory_training_tables(events, cfg.signal, spec.nuisance, seed=seeds.data, split_seed=cfg.seed,
                                      fractions=cfg.splits, soft_seed=cfg.seed + 1,
                                      resample=seeds.resample)  # fmt: skip
    return training_tables(
        events,
        cfg.signal,
        cfg.shape_nps,
        method_draws(spec.method, cfg.shape_nps, spec.nuisance, spec.point, spec.left_out),
        seed=seeds.data,
        split_seed=cfg.seed,
        fractions=cfg.splits,
        soft_seed=cfg.seed + 1,  # as workflow/scripts/vary.py: process_seed(seed + 1, process)
        resample=seeds.resample,
    )
