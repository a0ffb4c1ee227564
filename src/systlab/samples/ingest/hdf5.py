"""HDF5 reader: check the group's datasets, then stream chunks as h5py slices.

Jagged sources are a flat values dataset plus a per-event counts dataset (``counts:`` in the spec);
each chunk rebuilds them as list offsets over its slice of values. A flat column may also be one column of a 2-D
table (``branch: "table:px"``, the name from the dataset's ``columns``/``column_names``/``names``/``labels``
attribute, or ``"table:3"`` by index, as event generators write them) or one field of a compound dataset
(``"table:px"``). Layout problems are IngestErrors naming file and column.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import awkward as ak
import h5py
import numpy as np

from systlab.samples.ingest import expressions
from systlab.samples.ingest.canonical import Chunk
from systlab.samples.ingest.errors import IngestError, describe
from systlab.samples.ingest.spec import NUMERIC_KINDS, ColumnSpec, InputSpec


def check_file(spec: InputSpec, path: str) -> None:
    """The DAG build's check of one HDF5 file (``formats.CHECKERS``): it opens, the group exists, every mapped
    dataset (and ``expr:`` name) exists, is 1-D and numeric, per-event lengths agree and jagged values number what
    their counts say; no event is read."""
    with _open(path) as h5:
        _check_hdf5_layout(spec, _group(h5, spec, path), path)


def _open(path: str) -> h5py.File:
    try:
        return h5py.File(path, "r")
    except Exception as exc:
        raise IngestError(f"{path}: not a readable HDF5 file ({describe(exc)}) (field 'files')") from exc


def _group(h5: h5py.File, spec: InputSpec, path: str) -> h5py.Group:
    group = h5.get(spec.group)
    if not isinstance(group, h5py.Group):
        raise IngestError(f"{path}: group '{spec.group}' missing (field 'group')")
    return group


def hdf5_chunks(spec: InputSpec, path: str, chunk_size: int) -> Iterator[Chunk]:
    """Chunks of one HDF5 file by slices; jagged sources rebuilt from values + per-event counts."""
    with _open(path) as h5:
        group = _group(h5, spec, path)
        entries = _check_hdf5_layout(spec, group, path)
        columns = spec.read_columns()
        parsed = {col.name: _expression(col, path) for col in columns if col.expr is not None}
        names = {name for col in columns for name in (col.branch, col.counts) if name}
        names |= {name for tree in parsed.values() for name in expressions.names(tree)}
        datasets = {name: _source(group, name, path) for name in names}
        first = dict.fromkeys((col.counts for col in columns if col.counts), 0)
        for start in range(0, entries, chunk_size):
            stop = min(entries, start + chunk_size)
            offsets = {name: _offsets(datasets[name][start:stop]) for name in first}
            arrays = {
                col.name: _hdf5_column(datasets[col.branch], col, start, stop, offsets, first)
                if col.expr is None else _evaluate(parsed[col.name], datasets, start, stop)
                for col in columns
            }  # fmt: skip
            first = {name: first[name] + int(offsets[name][-1]) for name in first}
            yield Chunk(path, stop - start, arrays)


#: Attributes of a 2-D dataset that may hold its column names.
NAME_ATTRIBUTES = ("columns", "column_names", "names", "labels")


class Source:
    """One column's data: a 1-D dataset, one column of a 2-D dataset, or one field of a compound dataset."""

    def __init__(self, dataset: h5py.Dataset, column: int | str | None = None) -> None:
        self.dataset, self.column = dataset, column
        self.shape = (dataset.shape[0],)
        if isinstance(column, str):
            self.dtype = dataset.dtype.fields[column][0]
        else:
            self.dtype = dataset.dtype
        self.ndim = 1 if column is not None else dataset.ndim
        self.name = dataset.name if column is None else f"{dataset.name}:{column}"

    def __getitem__(self, rows: slice) -> np.ndarray:
        if self.column is None:
            return self.dataset[rows]
        if isinstance(self.column, str):
            return self.dataset.fields(self.column)[rows]
        return self.dataset[rows, self.column]


def _source(group: h5py.Group, name: str, path: str, where: str = "") -> Source:
    """The data ``branch:``/``counts:`` names: ``dataset`` or ``dataset:column`` (a 2-D dataset's column by name or
    index, a compound dataset's field); IngestError naming the missing piece."""
    where = where or f"{path}: dataset '{name}'"
    dataset_name, _, column = name.partition(":")
    dataset = group.get(dataset_name)
    if not isinstance(dataset, h5py.Dataset):
        raise IngestError(f"{where} missing in group '{group.name}'")
    if not column:
        return Source(dataset)
    if dataset.dtype.names:
        if column not in dataset.dtype.names:
            fields = list(dataset.dtype.names)
            raise IngestError(f"{where}: no field '{column}' in the compound dataset (fields {fields})")
        return Source(dataset, column)
    if dataset.ndim != 2:
        raise IngestError(f"{where}: '{dataset_name}' has shape {dataset.shape}; `name:column` needs a 2-D table")
    names = next(([str(n.decode() if isinstance(n, bytes) else n) for n in dataset.attrs[a]]
                  for a in NAME_ATTRIBUTES if a in dataset.attrs), [])  # fmt: skip
    if column in names:
        return Source(dataset, names.index(column))
    if column.isdigit() and int(column) < dataset.shape[1]:
        return Source(dataset, int(column))
    raise IngestError(f"{where}: no column '{column}' in the 2-D table (names {names or 'none'} from attribute "
                      f"{'/'.join(NAME_ATTRIBUTES)}, or an index below {dataset.shape[1]})")  # fmt: skip


def _expression(col: ColumnSpec, path: str):
    """The checked syntax tree of an HDF5 column's ``expr``."""
    return expressions.parse(col.expr or "", f"{path}: column '{col.name}'")


def _evaluate(tree, datasets: dict[str, Source], start: int, stop: int) -> np.ndarray:
    """An ``expr`` column on events ``[start, stop)``."""
    return expressions.evaluate(tree, {name: datasets[name][start:stop] for name in expressions.names(tree)})


def _offsets(counts: np.ndarray) -> np.ndarray:
    """List offsets (int64, from 0) of per-event counts."""
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, dtype=np.int64, out=offsets[1:])
    return offsets


def _hdf5_column(
    dataset: Source,
    col: ColumnSpec,
    start: int,
    stop: int,
    offsets: dict[str, np.ndarray],
    first: dict[str, int],
) -> Any:
    """Events ``[start, stop)`` of one column: a slice, or the values of those events under their offsets."""
    if col.counts is None:
        return dataset[start:stop]
    lists = offsets[col.counts]
    values = dataset[first[col.counts] : first[col.counts] + int(lists[-1])]
    return ak.Array(ak.contents.ListOffsetArray(ak.index.Index64(lists), ak.contents.NumpyArray(values)))


def _check_hdf5_layout(spec: InputSpec, group: h5py.Group, path: str) -> int:
    """Check datasets exist, are 1-D numeric and have consistent lengths; return the number of events."""
    per_event = {}
    for col in spec.read_columns():
        read = [col.branch, col.counts] if col.expr is None else expressions.names(_expression(col, path))
        for name in filter(None, read):
            _check_hdf5_dataset(group, name, col, path)
            if col.expr is not None:
                per_event[name] = col.name
        if col.expr is None:
            per_event[col.counts or col.branch] = col.name
    lengths = {name: _source(group, name, path).shape[0] for name in per_event}
    entries = next(iter(lengths.values()))
    for name, length in lengths.items():
        if length != entries:
            raise IngestError(
                f"{path}: column '{per_event[name]}': dataset '{name}' has {length} entries, "
                f"other per-event datasets have {entries} (mismatched lengths)"
            )
    if entries == 0:
        raise IngestError(f"{path}: group '{spec.group}' has zero entries (field 'group')")
    _check_hdf5_values_lengths(spec, group, path)
    return entries


def _check_hdf5_dataset(group: h5py.Group, name: str, col: ColumnSpec, path: str) -> None:
    """One dataset (or 2-D column, compound field) exists, is 1-D and numeric."""
    where = f"{path}: column '{col.name}': dataset '{name}'"
    dataset = _source(group, name, path, where)
    if dataset.ndim != 1:
        raise IngestError(f"{where} has shape {dataset.shape}, expected 1-D")
    if dataset.dtype.kind not in NUMERIC_KINDS:
        raise IngestError(f"{where} has non-numeric dtype {dataset.dtype}")


def _check_hdf5_values_lengths(spec: InputSpec, group: h5py.Group, path: str) -> None:
    """The values of a jagged source number exactly sum(counts), and counts are non-negative."""
    totals: dict[str, int] = {}
    for col in spec.read_columns():
        if col.counts is None:
            continue
        if col.counts not in totals:
            totals[col.counts] = _sum_counts(_source(group, col.counts, path), col, path)
        length = _source(group, col.branch, path).shape[0]
        if length != totals[col.counts]:
            raise IngestError(
                f"{path}: column '{col.name}': dataset '{col.branch}' has {length} values but "
                f"'{col.counts}' counts {totals[col.counts]} (mismatched lengths)"
            )


def _sum_counts(counts: Source, col: ColumnSpec, path: str, step: int = 10_000_000) -> int:
    """Total of a counts dataset, summed slice by slice; negative counts are an IngestError."""
    total = 0
    for start in range(0, counts.shape[0], step):
        block = counts[start : start + step]
        if np.any(block < 0):
            raise IngestError(
                f"{path}: column '{col.name}': counts dataset '{counts.name}' has negative entries"
            )
        total += int(np.sum(block, dtype=np.int64))
    return total
