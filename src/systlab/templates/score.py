"""Score the template and toy events of one sample table with an exported ONNX classifier.

Parameterised models (``aware``) take their parameters (e.g. ``alpha_tes``) as input columns; a
scoring job fills them with one constant value per sample through ``parameters``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from systlab.atomic import atomic_path
from systlab.events import SAMPLE_COLUMNS, SPLITS
from systlab.methods.onnx_io import OnnxScorer

#: Only these splits are scored: classifiers never see them, templates and pseudo-data use them.
SCORED_SPLITS = (SPLITS["template"], SPLITS["toy"])
SCORE_COLUMNS = (*SAMPLE_COLUMNS, "score")


class ScoreSummary(NamedTuple):
    """What one scoring job did."""

    events: int
    seconds: float


def read_scored_splits(
    sample_path: Path, scorer: OnnxScorer, parameters: Mapping[str, float] | None = None
) -> pd.DataFrame:
    """Bookkeeping and feature columns of the template/toy rows, ``parameters`` as constant columns."""
    parameters = dict(parameters or {})
    unknown = sorted(set(parameters) - set(scorer.features))
    if unknown:
        raise ValueError(f"parameter(s) {unknown} are not inputs of ONNX model {scorer.path} {scorer.features}")
    columns = pq.read_schema(sample_path).names
    scorer.check_columns([*columns, *parameters], sample_path)
    missing = [c for c in SAMPLE_COLUMNS if c not in columns]
    if missing:
        raise KeyError(f"{sample_path}: missing bookkeeping column(s) {', '.join(missing)}")
    read = [*SAMPLE_COLUMNS, *(f for f in scorer.features if f not in parameters)]
    table = pd.read_parquet(sample_path, columns=read)
    table = table[table["split"].isin(SCORED_SPLITS)].reset_index(drop=True)
    return table.assign(**{name: np.float32(value) for name, value in parameters.items()})


def scored_table(table: pd.DataFrame, scores: np.ndarray) -> pd.DataFrame:
    """Bookkeeping columns with their canonical dtypes plus the float32 score."""
    out = pd.DataFrame({c: table[c].to_numpy(dtype=dtype) for c, dtype in SAMPLE_COLUMNS.items()})
    out["score"] = scores.astype(np.float32)
    return out


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` without its index, atomically."""
    with atomic_path(path) as tmp:
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp)


def score_sample(
    onnx_path: str | os.PathLike,
    sample_path: str | os.PathLike,
    out_path: str | os.PathLike,
    threads: int = 1,
    parameters: Mapping[str, float] | None = None,
) -> ScoreSummary:
    """Score the template (2) and toy (3) events of ``sample_path``; write bookkeeping columns + score.

    ``parameters`` fill the model's parameter inputs, e.g. ``{"alpha_tes": 1.0}`` for the aware model.
    """
    start = time.perf_counter()
    scorer = OnnxScorer(onnx_path, threads=threads)
    table = read_scored_splits(Path(sample_path), scorer, parameters)
    scores = scorer.score_table(table, sample_path) if len(table) else np.empty(0, np.float32)
    write_parquet(scored_table(table, scores), Path(out_path))
    return ScoreSummary(events=len(table), seconds=time.perf_counter() - start)


def scoring_parameters(scorer_parameters: Sequence[str], shifts: Mapping[str, float]) -> dict[str, float]:
    """Values of a model's parameter inputs for a sample with NP ``shifts`` (sigma units).

    ``alpha_<np>`` is the sample's own shift of that NP (0 when the sample does not shift it): the aware
    model is evaluated where the sample was simulated, e.g. alpha_tes = +1 on ``tes_+1sd`` and on a
    pseudo-data truth at TES +1 sigma, and 0 on nominal, JES or soft-MET samples.
    """
    out = {}
    for name in scorer_parameters:
        if not name.startswith("alpha_"):
            raise ValueError(f"unknown model parameter {name!r} (expected alpha_<np>)")
        out[name] = float(shifts.get(name.removeprefix("alpha_"), 0.0))
    return out
