"""Score the template and toy events of one sample table with an exported ONNX classifier."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from systlab.atomic import atomic_path
from systlab.events import SAMPLE_COLUMNS, SPLITS
from systlab.onnx_io import OnnxScorer

#: Only these splits are scored: classifiers never see them, templates and pseudo-data use them.
SCORED_SPLITS = (SPLITS["template"], SPLITS["toy"])
SCORE_COLUMNS = (*SAMPLE_COLUMNS, "score")


class ScoreSummary(NamedTuple):
    """What one scoring job did."""

    events: int
    seconds: float


def read_scored_splits(sample_path: Path, scorer: OnnxScorer) -> pd.DataFrame:
    """Bookkeeping and feature columns of the template/toy rows; checks columns before reading."""
    columns = pq.read_schema(sample_path).names
    scorer.check_columns(columns, sample_path)
    missing = [c for c in SAMPLE_COLUMNS if c not in columns]
    if missing:
        raise KeyError(f"{sample_path}: missing bookkeeping column(s) {', '.join(missing)}")
    table = pd.read_parquet(sample_path, columns=[*SAMPLE_COLUMNS, *scorer.features])
    return table[table["split"].isin(SCORED_SPLITS)].reset_index(drop=True)


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
) -> ScoreSummary:
    """Score the template (2) and toy (3) events of ``sample_path``; write bookkeeping columns + score."""
    start = time.perf_counter()
    scorer = OnnxScorer(onnx_path, threads=threads)
    table = read_scored_splits(Path(sample_path), scorer)
    scores = scorer.score_table(table, sample_path) if len(table) else np.empty(0, np.float32)
    write_parquet(scored_table(table, scores), Path(out_path))
    return ScoreSummary(events=len(table), seconds=time.perf_counter() - start)
