"""FAIR-Universe reader (``format: fair``): a challenge dataset directory read as one process's events.

Each ``files:`` entry is a directory holding one Parquet file and one ``*_metadata.json``
(:func:`systlab.samples.fair.dataset_files`). Columns are mapped by name like ROOT branches (``branch: PRI_had_pt``)
or by an ``expr:`` of columns (the HDF5 expression language); the leading and subleading jets become the jagged
columns ``PRI_jet_pt``/``PRI_jet_eta``/``PRI_jet_phi`` (``PRI_n_jets`` of them, at most 2). ``detailed_label:`` keeps
the events of one process of a mixed dataset. The checker (DAG build) reads the Parquet schema only; the reader
refuses, chunk by chunk, ``labels`` other than 0/1 (values the schema cannot show). Errors name the directory or
the Parquet file and the column.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import awkward as ak
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from systlab.samples.fair import DETAILED, JET_LISTS, JET_SOURCES, LABELS, N_JETS, dataset_files
from systlab.samples.ingest import expressions
from systlab.samples.ingest.canonical import Chunk, check_structure
from systlab.samples.ingest.errors import IngestError, describe
from systlab.samples.ingest.spec import ColumnSpec, InputSpec

#: The jagged columns the reader makes, and the Parquet columns each needs.
VIRTUAL = {source: (*JET_SOURCES[name], N_JETS) for name, source in JET_LISTS.items()}


def check_file(spec: InputSpec, path: str) -> None:
    """The DAG build's check of one dataset directory (``formats.CHECKERS``): one Parquet file and one metadata
    file; every mapped column (and ``expr:`` name, and the jets' sources) in the Parquet schema, numeric, of the
    structure its canonical column needs; ``labels`` there (and ``detailed_labels`` when selecting). No event read."""
    parquet = _parquet(path)
    _check_schema(spec, _schema(parquet), parquet)


def fair_chunks(spec: InputSpec, path: str, chunk_size: int) -> Iterator[Chunk]:
    """Chunks of one dataset directory's Parquet file (``iter_batches``), the selected process's events only."""
    parquet = _parquet(path)
    needed = _check_schema(spec, _schema(parquet), parquet)
    trees = {col.name: expressions.parse(col.expr, f"{parquet}: column '{col.name}'")
             for col in spec.read_columns() if col.expr is not None}  # fmt: skip
    kept = 0
    try:
        with pq.ParquetFile(parquet) as handle:
            for batch in handle.iter_batches(batch_size=chunk_size, columns=needed):
                chunk = _chunk(spec, batch, trees, parquet)
                kept += chunk.entries
                yield chunk
    except (OSError, pa.ArrowException) as exc:
        raise IngestError(f"{parquet}: corrupt or unreadable Parquet data ({describe(exc)}) (field 'files')") from exc
    if spec.detailed_label is not None and not kept:
        raise IngestError(f"{parquet}: no event with {DETAILED} '{spec.detailed_label}' (field 'detailed_label')")


def _parquet(path: str) -> str:
    try:
        return str(dataset_files(path).parquet)
    except ValueError as exc:
        raise IngestError(f"{exc} (field 'files')") from None


def _schema(parquet: str) -> pa.Schema:
    try:
        return pq.read_schema(parquet)
    except (OSError, pa.ArrowException) as exc:
        raise IngestError(f"{parquet}: not a readable Parquet file ({describe(exc)}) (field 'files')") from exc


def _sources(col: ColumnSpec, parquet: str) -> list[str]:
    """The Parquet columns one canonical column reads."""
    if col.expr is not None:
        return expressions.names(expressions.parse(col.expr, f"{parquet}: column '{col.name}'"))
    return list(VIRTUAL.get(col.branch or "", (col.branch,)))


def _check_schema(spec: InputSpec, schema: pa.Schema, parquet: str) -> list[str]:
    """Every column the mapping reads is in the file, numeric and of the right structure; the Parquet columns to
    read, in file order."""
    needed = {LABELS: None, **({DETAILED: None} if spec.detailed_label is not None else {})}
    for name in needed:
        if schema.get_field_index(name) < 0:
            raise IngestError(f"{parquet}: no '{name}' column (a FAIR-Universe dataset has labels, weights and "
                              f"detailed_labels besides the PRI_*/DER_* features) (field 'files')")  # fmt: skip
    for col in spec.read_columns():
        for name in _sources(col, parquet):
            index = schema.get_field_index(name)
            if index < 0:
                raise IngestError(f"{parquet}: column '{col.name}' ({col.source}): Parquet column '{name}' missing")
            kind = schema.field(index).type
            if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
                raise IngestError(f"{parquet}: column '{col.name}' ({col.source}): Parquet column '{name}' has type "
                                  f"{kind}, not numeric")  # fmt: skip
            needed[name] = None
        check_structure(col, "jagged" if col.branch in VIRTUAL else "flat", parquet)
    return [name for name in schema.names if name in needed]


def _chunk(spec: InputSpec, batch: pa.RecordBatch, trees: dict[str, Any], parquet: str) -> Chunk:
    """One batch as a raw chunk: labels checked, the selected process kept, jets as lists, expressions evaluated."""
    data = {name: batch.column(name) for name in batch.schema.names}
    labels = data[LABELS].to_numpy(zero_copy_only=False)
    bad = ~np.isin(labels, (0, 1))
    if bad.any():
        raise IngestError(f"{parquet}: column '{LABELS}': {int(bad.sum())} value(s) other than 0/1 "
                          f"(e.g. {np.asarray(labels[bad][0]).item()!r}; 1 = signal, 0 = background)")  # fmt: skip
    keep = None
    if spec.detailed_label is not None:
        keep = np.asarray(data[DETAILED].to_numpy(zero_copy_only=False) == spec.detailed_label, dtype=bool)
    arrays = {name: _numpy(column, keep) for name, column in data.items() if name not in (LABELS, DETAILED)}
    n = batch.num_rows if keep is None else int(keep.sum())
    out: dict[str, Any] = {}
    for col in spec.read_columns():
        if col.expr is not None:
            out[col.name] = expressions.evaluate(trees[col.name], arrays)
        elif col.branch in VIRTUAL:
            out[col.name] = jet_list(arrays, col.branch, parquet)
        else:
            out[col.name] = arrays[col.branch]
    return Chunk(parquet, n, out)


def _numpy(column: pa.Array, keep: np.ndarray | None) -> np.ndarray:
    if column.null_count:
        column = column.cast(pa.float64()).fill_null(np.nan)  # a missing value reads as NaN: refused as non-finite
    values = column.to_numpy(zero_copy_only=False)
    return values if keep is None else values[keep]


def jet_list(arrays: dict[str, np.ndarray], name: str, parquet: str) -> ak.Array:
    """The leading and subleading jets' values as one list per event (``PRI_n_jets`` of them, at most 2); ``name``
    a key of :data:`VIRTUAL`, ``arrays`` the challenge's columns (also the submission adapter's, for a test set)."""
    leading, subleading, n_jets = (arrays[source] for source in VIRTUAL[name])
    counts = np.clip(n_jets, 0, 2).astype(np.int64)
    pts = (arrays[JET_SOURCES["jet_pt"][0]], arrays[JET_SOURCES["jet_pt"][1]])
    for rank, pt in enumerate(pts):
        absent = (counts > rank) & ~(pt >= 0)
        if absent.any():
            first = np.asarray(pt[absent][0]).item()
            raise IngestError(f"{parquet}: column '{JET_SOURCES['jet_pt'][rank]}': {int(absent.sum())} event(s) with "
                              f"{N_JETS} > {rank} but no jet there (pT {first!r})")  # fmt: skip
    values = np.stack([leading, subleading], axis=1)[np.arange(2) < counts[:, None]]
    offsets = np.concatenate([[0], np.cumsum(counts)])
    return ak.Array(ak.contents.ListOffsetArray(ak.index.Index64(offsets), ak.contents.NumpyArray(values)))
