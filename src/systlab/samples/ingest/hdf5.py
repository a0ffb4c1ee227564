"""HDF5 reader: check the group's datasets, then stream chunks as h5py slices.

Jagged sources are a flat values dataset plus a per-event counts dataset (``counts:`` in the spec);
each chunk rebuilds them as list offsets over its slice of values. Layout problems are IngestErrors
naming file and column.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import awkward as ak
import h5py
import numpy as np

from systlab.samples.ingest.canonical import Chunk
from systlab.samples.ingest.errors import IngestError, describe
from systlab.samples.ingest.spec import NUMERIC_KINDS, ColumnSpec, InputSpec


def hdf5_chunks(spec: InputSpec, path: str, chunk_size: int) -> Iterator[Chunk]:
    """Chunks of one HDF5 file by slices; jagged sources rebuilt from values + per-event counts."""
    try:
        h5 = h5py.File(path, "r")
    except Exception as exc:
        raise IngestError(f"{path}: not a readable HDF5 file ({describe(exc)}) (field 'files')") from exc
    with h5:
        group = h5.get(spec.group)
        if not isinstance(group, h5py.Group):
            raise IngestError(f"{path}: group '{spec.group}' missing (field 'group')")
        entries = _check_hdf5_layout(spec, group, path)
        columns = spec.read_columns()
        datasets = {name: group[name] for col in columns for name in filter(None, (col.branch, col.counts))}
        first = dict.fromkeys((col.counts for col in columns if col.counts), 0)
        for start in range(0, entries, chunk_size):
            stop = min(entries, start + chunk_size)
            offsets = {name: _offsets(datasets[name][start:stop]) for name in first}
            arrays = {
                col.name: _hdf5_column(datasets[col.branch], col, start, stop, offsets, first) for col in columns
            }
            first = {name: first[name] + int(offsets[name][-1]) for name in first}
            yield Chunk(path, stop - start, arrays)


def _offsets(counts: np.ndarray) -> np.ndarray:
    """List offsets (int64, from 0) of per-event counts."""
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, dtype=np.int64, out=offsets[1:])
    return offsets


def _hdf5_column(
    dataset: h5py.Dataset,
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
        for name in filter(None, (col.branch, col.counts)):
            _check_hdf5_dataset(group, name, col, path)
        per_event[col.counts or col.branch] = col.name
    lengths = {name: group[name].shape[0] for name in per_event}
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
    """One dataset exists, is 1-D and numeric."""
    dataset = group.get(name)
    where = f"{path}: column '{col.name}': dataset '{name}'"
    if not isinstance(dataset, h5py.Dataset):
        raise IngestError(f"{where} missing in group '{group.name}'")
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
            totals[col.counts] = _sum_counts(group[col.counts], col, path)
        length = group[col.branch].shape[0]
        if length != totals[col.counts]:
            raise IngestError(
                f"{path}: column '{col.name}': dataset '{col.branch}' has {length} values but "
                f"'{col.counts}' counts {totals[col.counts]} (mismatched lengths)"
            )


def _sum_counts(counts: h5py.Dataset, col: ColumnSpec, path: str, step: int = 10_000_000) -> int:
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
