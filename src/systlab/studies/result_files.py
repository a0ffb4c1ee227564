"""Read score and sample tables for figures, keyed by what their place in results/ names.

Layout (README): ``results/scores/<method>/<replica>/<process>/<variation>.parquet`` and
``results/samples/<process>/<variation>.parquet``. Missing columns raise ``ValueError`` naming file and field.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import pandas as pd
import pyarrow.parquet as pq

from systlab.events import SPLITS

SCORE_COLUMNS = ("weight", "split", "label", "score")


class ScoreKey(NamedTuple):
    """Where a score table sits: model, training replica, process, sample variation."""

    method: str
    replica: str
    process: str
    variation: str


class SampleKey(NamedTuple):
    """Where a sample table sits: process and variation."""

    process: str
    variation: str


def score_key(path: str | os.PathLike) -> ScoreKey:
    """``.../<method>/<replica>/<process>/<variation>.parquet`` -> ScoreKey."""
    path = Path(path)
    if len(path.parts) < 4:
        raise ValueError(f"{path}: expected <method>/<replica>/<process>/<variation>.parquet")
    return ScoreKey(path.parents[2].name, path.parents[1].name, path.parent.name, path.stem)


def sample_key(path: str | os.PathLike) -> SampleKey:
    """``.../<process>/<variation>.parquet`` -> SampleKey."""
    path = Path(path)
    return SampleKey(path.parent.name, path.stem)


def model_files(paths: Iterable[str | os.PathLike]) -> dict[str, dict[str, str]]:
    """``results/models/<model>/<replica>/<file>`` paths grouped as {model: {replica: path}}."""
    out: dict[str, dict[str, str]] = {}
    for path in map(Path, paths):
        out.setdefault(path.parents[1].name, {})[path.parent.name] = str(path)
    return out


def payloads_by_model(paths: Iterable[str | os.PathLike]) -> dict[str, list[dict]]:
    """Per-replica JSON payloads (each with a ``model`` key) grouped as {model: [payload, ...]}, in path order."""
    out: dict[str, list[dict]] = {}
    for path in paths:
        payload = json.loads(Path(path).read_text())
        if "model" not in payload:
            raise ValueError(f"{path}: field 'model' is missing")
        out.setdefault(payload["model"], []).append(payload)
    return out


def read_columns(path: str | os.PathLike, columns: Sequence[str]) -> pd.DataFrame:
    """The named columns of one Parquet file; a missing column is a ValueError naming the file and column."""
    present = set(pq.read_schema(path).names)
    missing = [c for c in columns if c not in present]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; expected {list(columns)}")
    return pd.read_parquet(path, columns=list(columns))


def read_template_scores(paths: Iterable[str | os.PathLike]) -> dict[ScoreKey, pd.DataFrame]:
    """Template-split rows (weight, split, label, score) of every score file, keyed by ScoreKey."""
    out = {}
    for path in paths:
        table = read_columns(path, SCORE_COLUMNS)
        out[score_key(path)] = table[table["split"] == SPLITS["template"]].reset_index(drop=True)
    return out


def read_samples(paths: Iterable[str | os.PathLike], columns: Sequence[str]) -> dict[SampleKey, pd.DataFrame]:
    """The named columns of every sample file, keyed by SampleKey."""
    return {sample_key(path): read_columns(path, columns) for path in paths}


def events_of(tables: Mapping[ScoreKey, pd.DataFrame], method: str, replica: str, variation: str) -> pd.DataFrame:
    """All processes' rows of one model replica at one variation, in one table."""
    parts = [t for k, t in tables.items() if (k.method, k.replica, k.variation) == (method, replica, variation)]
    if not parts:
        raise KeyError(f"no score tables for {method}/{replica} at {variation!r}")
    return pd.concat(parts, ignore_index=True)


def replicas_of(tables: Mapping[ScoreKey, pd.DataFrame], method: str) -> list[str]:
    """The replicas present for ``method``, sorted by their number (r0, r1, ..., r10)."""
    names = {k.replica for k in tables if k.method == method}
    return sorted(names, key=lambda r: (len(r), r))
