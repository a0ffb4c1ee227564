"""Does decorrelating a modelling difference shrink the difference that matters? (Ghosh & Nachman, arXiv:2109.08159)

Every classifier of the check (the plain baseline, and pivot / DisCo trained against generator A vs B or against
the scale family, ``systlab.methods.theory_data``) scores the template-split events of every variant of
``systlab.samples.generators``. Its score is cut where the nominal signal keeps ``cut_signal_efficiency``. The expected
signal and background after the cut are then compared with the nominal prediction (generator A, xi = 1):

* generator: **apparent** |N_B - N_A| / N_A, which a two-point uncertainty assigns, against **held-back**
  |N_C - N_A| / N_A, the difference to a third generator the classifier never saw;
* scale: **apparent** max over xi in {1/2, 2} of |N_xi - N_1| / N_1, the scale band, against **held-back**
  |N_HO - N_1| / N_1, the distance to the higher-order prediction.

The cautionary result: a classifier decorrelated from A vs B (or from xi) shrinks the apparent uncertainty, but
not the held-back difference.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import awkward as ak
import numpy as np
import pandas as pd

from systlab.config import ModelSpec
from systlab.events import SPLITS
from systlab.methods.onnx_io import OnnxScorer
from systlab.samples.generators import SCALES, VARIANTS, variant_samples
from systlab.samples.simulate import process_seed
from systlab.samples.vary import soft_met_draws, split_labels
from systlab.studies.metrics import mean_std
from systlab.templates.histograms import signal_cut

#: The variant whose events (and scores) the weight-only variants share.
KINEMATIC_NOMINAL = "generator_A"


class CutYields(NamedTuple):
    """Expected signal and background (template split, per the analysis luminosity) after the score cut."""

    signal: float
    background: float


def template_variants(
    events: Mapping[str, ak.Array], signal: str, seed: int, fractions: Mapping[str, float]
) -> dict[str, dict[str, pd.DataFrame]]:
    """Variant -> process -> template-split sample table, built with the vary stage's seeds (split ``seed``,
    soft-MET draws ``process_seed(seed + 1, process)``) so the events are those of the DAG's templates."""
    out: dict[str, dict[str, pd.DataFrame]] = {v: {} for v in VARIANTS}
    for process, table in events.items():
        soft = soft_met_draws(len(table), process_seed(seed + 1, process))
        split = split_labels(ak.to_numpy(table.event_id).astype(np.uint64), seed, fractions)
        keep = np.flatnonzero(split == SPLITS["template"])
        if len(keep) == 0:
            raise ValueError(f"generator_check: process {process!r} has no event in the template split")
        for variant, sample in variant_samples(table[keep], soft[keep], int(process == signal), seed,
                                               fractions).items():  # fmt: skip
            out[variant][process] = sample
    return out


def score_variants(scorer: OnnxScorer, variants: Mapping[str, Mapping[str, pd.DataFrame]]) -> dict[str, dict]:
    """Variant -> process -> scores; weight-only variants reuse the scores of ``generator_A`` (same rows)."""
    kinematic = {v: {p: scorer.score_table(t, f"{v}/{p}") for p, t in by_process.items()}
                 for v, by_process in variants.items() if v.startswith("generator_")}  # fmt: skip
    return {v: kinematic.get(v, kinematic[KINEMATIC_NOMINAL]) for v in variants}


def cut_threshold(scores: np.ndarray, weights: np.ndarray, efficiency: float) -> float:
    """The score above which ``efficiency`` of the weighted events remain."""
    if not 0.0 < efficiency < 1.0:
        raise ValueError(f"generator_check: field 'cut_signal_efficiency': {efficiency} is not in (0, 1)")
    return signal_cut(scores, weights, efficiency)


def cut_yields(
    variants: Mapping[str, Mapping[str, pd.DataFrame]],
    scores: Mapping[str, Mapping[str, np.ndarray]],
    signal: str,
    efficiency: float,
) -> dict[str, CutYields]:
    """Per variant, the signal and background after the cut set on the nominal signal."""
    nominal_signal = variants[KINEMATIC_NOMINAL][signal]
    threshold = cut_threshold(scores[KINEMATIC_NOMINAL][signal], nominal_signal["weight"].to_numpy(), efficiency)
    out = {}
    for variant, by_process in variants.items():
        passed = {
            p: float(t["weight"].to_numpy()[scores[variant][p] >= threshold].sum()) for p, t in by_process.items()
        }
        out[variant] = CutYields(passed[signal], sum(n for p, n in passed.items() if p != signal))
    return out


def differences(yields: Mapping[str, CutYields]) -> dict[str, dict[str, dict[str, float]]]:
    """Relative apparent and held-back differences of the generator and scale families, signal and background."""
    out: dict[str, dict[str, dict[str, float]]] = {"generator": {}, "scale": {}}
    for what in CutYields._fields:
        n = {v: getattr(y, what) for v, y in yields.items()}
        out["generator"][what] = {"apparent": _relative(n["generator_B"], n["generator_A"]),
                                  "held_back": _relative(n["generator_C"], n["generator_A"])}  # fmt: skip
        band = [_relative(n[f"scale_{xi:g}"], n["scale_1"]) for xi in SCALES if xi != 1.0]
        out["scale"][what] = {"apparent": max(band), "held_back": _relative(n["higher_order"], n["scale_1"])}
    return out


def _relative(value: float, reference: float) -> float:
    return abs(value - reference) / reference if reference > 0 else float("nan")


def replica_check(
    scorer: OnnxScorer, variants: Mapping[str, Mapping[str, pd.DataFrame]], signal: str, efficiency: float
) -> dict[str, Any]:
    """Yields after the cut and the family differences of one trained classifier."""
    yields = cut_yields(variants, score_variants(scorer, variants), signal, efficiency)
    return {"yields": {v: y._asdict() for v, y in yields.items()}, "differences": differences(yields)}


def model_summary(replicas: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Mean and standard deviation over replicas of every family difference."""
    out: dict[str, Any] = {}
    for family, by_what in replicas[0]["differences"].items():
        out[family] = {what: {kind: mean_std([r["differences"][family][what][kind] for r in replicas])
                              for kind in kinds} for what, kinds in by_what.items()}  # fmt: skip
    return out


def check_payload(
    onnx: Mapping[str, Mapping[str, str | os.PathLike]],
    specs: Mapping[str, ModelSpec],
    variants: Mapping[str, Mapping[str, pd.DataFrame]],
    signal: str,
    efficiency: float,
    threads: int = 1,
) -> dict[str, Any]:
    """Per model: what it was decorrelated from, every replica's yields and differences, their mean and std."""
    models = {}
    for model, paths in onnx.items():
        spec = specs[model]
        replicas = {r: replica_check(OnnxScorer(path, threads=threads), variants, signal, efficiency)
                    for r, path in paths.items()}  # fmt: skip
        nuisance = spec.nuisance if spec.method in ("pivot", "disco") else None
        models[model] = {"method": spec.method, "nuisance": nuisance, "replicas": replicas,
                         "summary": model_summary(list(replicas.values()))}  # fmt: skip
    return {"cut_signal_efficiency": efficiency, "models": models}

