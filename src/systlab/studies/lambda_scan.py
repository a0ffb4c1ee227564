"""The pivot/DisCo lambda scans: per lambda, the AUC, the decorrelation and the fit's interval width and bias.

Every number is the mean and standard deviation over the training replicas of that (method, lambda) model.
Inputs are the model's ``metrics.json`` (:mod:`systlab.studies.metrics`) and its fit results (:mod:`systlab.infer.fit`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np


class Spread(NamedTuple):
    """Mean and standard deviation over training replicas."""

    mean: float
    std: float


class ScanPoint(NamedTuple):
    """One (method, lambda) model: AUC at nominal, JS divergence at +-1 sigma, Asimov 68% width, biases."""

    method: str
    lam: float
    auc: Spread
    js_divergence: Spread
    asimov_width: Spread
    bias: dict[str, Spread]  # truth name -> mu_hat - mu_true on that truth's toy-split expectation


def spread(values: Sequence[float]) -> Spread:
    values = np.asarray(values, dtype=float)
    return Spread(float(values.mean()), float(values.std()))


def _read(path: str | os.PathLike, *fields: str) -> dict:
    """A JSON file with the given top-level fields; ValueError naming the file and the field otherwise."""
    try:
        payload = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: not a readable JSON result ({err})") from err
    for field in fields:
        if field not in payload:
            raise ValueError(f"{path}: field {field!r} missing")
    return payload


def width(fit: Mapping) -> float:
    lo, hi = fit["interval_68"]
    return float(hi) - float(lo)


def scan_point(
    method: str,
    lam: float,
    metrics_path: str | os.PathLike,
    asimov_fits: Sequence[str | os.PathLike],
    expected_fits: Mapping[str, tuple[float, Sequence[str | os.PathLike]]],
) -> ScanPoint:
    """Collect one scan point; ``expected_fits`` maps truth name -> (true mu, fit files of every replica)."""
    metrics = _read(metrics_path, "replicas")
    replicas = metrics["replicas"].values()
    try:
        auc = [r["auc"]["nominal"] for r in replicas]
        js = [r["js_divergence"] for r in replicas]
    except KeyError as err:
        raise ValueError(f"{metrics_path}: field {err.args[0]!r} missing in a replica") from err
    widths = [width(_read(p, "interval_68")) for p in asimov_fits]
    bias = {name: spread([_read(p, "mu_hat")["mu_hat"] - mu for p in paths])
            for name, (mu, paths) in expected_fits.items()}
    return ScanPoint(method, float(lam), spread(auc), spread(js), spread(widths), bias)
