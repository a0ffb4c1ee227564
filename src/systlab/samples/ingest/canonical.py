"""Map one raw chunk (whatever the reader) onto the canonical table: the format-independent part of ingest.

Checks each source's structure (flat/jagged, numeric, length), applies ``scale`` and ``object:`` picks,
drops events lacking a requested object, applies the jet cuts, casts to the canonical dtypes and
rejects NaN/inf, then assembles a record array with a fixed form (same schema in every row group).
Jagged columns are handled as numpy offsets + values (``Jagged``), not through awkward operations.
"""

from __future__ import annotations

from itertools import chain
from typing import Any, NamedTuple

import awkward as ak
import numpy as np

from systlab.events import CANONICAL_COLUMNS, CANONICAL_FLAT, CANONICAL_JAGGED
from systlab.samples.ingest.errors import IngestError
from systlab.samples.ingest.spec import NUMERIC_KINDS, OPTIONAL_COLUMNS, ColumnSpec, InputSpec, Selection


class Chunk(NamedTuple):
    """Raw arrays of one chunk of one file: column name -> numpy/awkward array, and its entry count."""

    path: str
    entries: int
    arrays: dict[str, Any]


class Jagged(NamedTuple):
    """One jagged column as numpy: ``values[offsets[i]:offsets[i + 1]]`` are event i's objects (offsets from 0)."""

    offsets: np.ndarray
    values: np.ndarray


def to_canonical(spec: InputSpec, chunk: Chunk, first_index: int) -> ak.Array:
    """Apply the mapping to one raw chunk: object picks, event cuts, scales, jet cuts, dtypes, finiteness."""
    arrays = {name: _scaled(spec.column(name), arr, chunk) for name, arr in chunk.arrays.items()}
    keep = _events_with_objects(spec, arrays, chunk.entries)
    flat = {
        name: _flat_column(spec.column(name), arrays, keep, first_index, chunk) for name in CANONICAL_FLAT
    }
    n_kept = chunk.entries if keep is None else int(np.count_nonzero(keep))
    jets = {name: _jagged(arrays[name], keep) if spec.column(name).is_read else _no_jets(n_kept)
            for name in CANONICAL_JAGGED}  # fmt: skip
    _check_same_multiplicity(jets, chunk.path)
    for name, values in chain(flat.items(), ((n, j.values) for n, j in jets.items())):
        _check_finite(spec.column(name), values, chunk.path)
    return _canonical_table(flat, _select_jets(spec.selection, jets))


def _no_jets(n_events: int) -> Jagged:
    """No jet in any of ``n_events`` events (a mapping without jet columns)."""
    return Jagged(np.zeros(n_events + 1, dtype=np.int64), np.empty(0, dtype=np.float32))


def empty_table() -> ak.Array:
    """A canonical table with no events (its form, hence its Arrow/Parquet schema, is that of every chunk)."""
    flat = {name: np.empty(0, dtype=dtype) for name, dtype in CANONICAL_FLAT.items()}
    no_jets = np.zeros(1, dtype=np.int64)
    jets = {name: Jagged(no_jets, np.empty(0, dtype=dtype)) for name, dtype in CANONICAL_JAGGED.items()}
    return _canonical_table(flat, jets)


def _scaled(col: ColumnSpec, arr: Any, chunk: Chunk) -> Any:
    """Check the source structure against the column's expectation, then apply ``scale``."""
    check_structure(col, _structure(col, arr, chunk), chunk.path)
    return arr * col.scale if col.scale != 1.0 else arr


def check_structure(col: ColumnSpec, structure: str, path: str) -> None:
    """IngestError unless a source of ``structure`` ('flat' or 'jagged') is what ``col`` needs: a jagged one for a
    jet column or an ``object:`` pick, else a flat one (the readers call this on the file's types at DAG build)."""
    expected = "jagged" if (col.name in CANONICAL_JAGGED or col.object is not None) else "flat"
    if structure != expected:
        hint = "add `object: 0` to take the leading object" if expected == "flat" else "drop `object:`"
        if col.name in CANONICAL_JAGGED:
            hint = "jet columns need a jagged (per-object) source"
        elif col.name in OPTIONAL_COLUMNS:  # `object:` is refused for these (spec.py): say what works instead
            hint = f"{col.name} needs one number per event: a flat branch, or an `expr:` of flat branches"
        raise IngestError(
            f"{path}: column '{col.name}' ({col.source}): {structure} source where {expected} is expected ({hint})"
        )


def _structure(col: ColumnSpec, arr: Any, chunk: Chunk) -> str:
    """'flat' or 'jagged' for a numeric 1-D or list-of-numbers source; anything else is an IngestError."""
    layout = ak.to_layout(arr)
    if len(layout) != chunk.entries:
        raise IngestError(
            f"{chunk.path}: column '{col.name}' ({col.source}): {len(layout)} values for "
            f"{chunk.entries} events"
        )
    structure = structure_of(layout)
    if structure is not None:
        return structure
    raise IngestError(
        f"{chunk.path}: column '{col.name}' ({col.source}): type '{ak.type(arr)}' is not "
        "numeric (need numbers or variable-length lists of numbers)"
    )


def structure_of(layout: ak.contents.Content) -> str | None:
    """'flat' (numbers), 'jagged' (variable-length lists of numbers) or None (anything else) for a source's layout."""
    if _is_numeric_1d(layout):
        return "flat"
    if layout.is_list and layout.parameter("__array__") is None and _is_numeric_1d(layout.content):
        return "jagged"
    return None


def _is_numeric_1d(layout: ak.contents.Content) -> bool:
    """True for a plain 1-D integer/float NumpyArray (no bool, no string, no fixed-size inner shape)."""
    return (
        layout.is_numpy
        and layout.parameter("__array__") is None
        and len(layout.inner_shape) == 0
        and layout.dtype.kind in NUMERIC_KINDS
    )


def _events_with_objects(spec: InputSpec, arrays: dict[str, Any], entries: int) -> np.ndarray | None:
    """Boolean mask of events having every object that an ``object:`` index asks for (None: all events)."""
    keep = np.ones(entries, dtype=bool)
    for col in spec.columns:
        if col.object is not None:
            keep &= ak.to_numpy(ak.num(arrays[col.name], axis=1)) > col.object
    return None if keep.all() else keep


def _jagged(arr: Any, keep: np.ndarray | None) -> Jagged:
    """Offsets (from 0) and values of the kept events of a jagged source (values in the source dtype)."""
    return list_buffers(ak.to_layout(arr if keep is None else ak.Array(arr)[keep]))


def list_buffers(layout: ak.contents.Content) -> Jagged:
    """Int64 offsets from 0 and exactly the values they cover, of a list layout (no copy if already so)."""
    if not (isinstance(layout, ak.contents.ListOffsetArray) and layout.offsets[0] == 0):
        layout = layout.to_ListOffsetArray64(True)
    offsets = np.asarray(layout.offsets.data).astype(np.int64, copy=False)
    return Jagged(offsets, ak.to_numpy(layout.content[: int(offsets[-1])]))


def _flat_column(
    col: ColumnSpec, arrays: dict[str, Any], keep: np.ndarray | None, first: int, chunk: Chunk
) -> np.ndarray:
    """One flat canonical column of the kept events, cast to its canonical dtype."""
    dtype = CANONICAL_FLAT[col.name]
    n_kept = chunk.entries if keep is None else int(np.count_nonzero(keep))
    if col.value is not None:
        return np.full(n_kept, col.value * col.scale, dtype=dtype)
    if not col.is_read:
        index = np.arange(first, first + chunk.entries, dtype=dtype)
        return index if keep is None else index[keep]
    if col.object is not None:
        objects = _jagged(arrays[col.name], keep)
        values = objects.values[objects.offsets[:-1] + col.object]
    else:
        values = ak.to_numpy(arrays[col.name])
        values = values if keep is None else values[keep]
    if col.name == "event_id" and values.dtype.kind == "i" and np.any(values < 0):
        raise IngestError(f"{chunk.path}: column 'event_id' ({col.source}): negative event numbers")
    return values.astype(dtype, copy=False)


def _check_same_multiplicity(jets: dict[str, Jagged], path: str) -> None:
    """All jet columns must have the same number of jets in every event."""
    reference, *others = CANONICAL_JAGGED
    offsets = jets[reference].offsets
    for name in others:
        if not (jets[name].offsets is offsets or np.array_equal(jets[name].offsets, offsets)):
            raise IngestError(
                f"{path}: column '{name}': jet multiplicity differs from '{reference}' "
                "(map all jet columns to the same collection)"
            )


def _check_finite(col: ColumnSpec, values: np.ndarray, path: str) -> None:
    """NaN or inf in a kept event is an IngestError naming the column and the count."""
    if values.dtype.kind == "f":
        bad = np.count_nonzero(~np.isfinite(values))
        if bad:
            raise IngestError(f"{path}: column '{col.name}' ({col.source}): {bad} NaN/inf value(s)")


def _select_jets(selection: Selection, jets: dict[str, Jagged]) -> dict[str, Jagged]:
    """Apply the optional jet pt / |eta| cuts to every jet column alike (in the source dtype)."""
    if selection == Selection():
        return jets
    mask = np.ones(len(jets["jet_pt"].values), dtype=bool)
    if selection.jet_min_pt is not None:
        mask &= jets["jet_pt"].values >= selection.jet_min_pt
    if selection.jet_max_abs_eta is not None:
        mask &= np.abs(jets["jet_eta"].values) <= selection.jet_max_abs_eta
    kept_before = np.concatenate([[0], np.cumsum(mask, dtype=np.int64)])
    offsets = kept_before[jets["jet_pt"].offsets]
    return {name: Jagged(offsets, jagged.values[mask]) for name, jagged in jets.items()}


def _canonical_table(flat: dict[str, np.ndarray], jets: dict[str, Jagged]) -> ak.Array:
    """Assemble the canonical record array with a fixed form (so every row group has the same schema)."""
    offsets = ak.index.Index64(jets["jet_pt"].offsets.astype(np.int64, copy=False))
    contents = [ak.contents.NumpyArray(np.ascontiguousarray(flat[name])) for name in CANONICAL_FLAT]
    for name, dtype in CANONICAL_JAGGED.items():
        values = np.ascontiguousarray(jets[name].values.astype(dtype, copy=False))
        contents.append(ak.contents.ListOffsetArray(offsets, ak.contents.NumpyArray(values)))
    record = ak.contents.RecordArray(contents, list(CANONICAL_COLUMNS), length=len(offsets) - 1)
    return ak.Array(record)
