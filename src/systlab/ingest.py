"""Ingest raw ROOT or HDF5 files into the canonical event table: ONE Parquet file per process.

The mapping from source branches (or HDF5 datasets) to canonical columns comes from configuration
alone (``InputSpec.from_mapping``). Reading is chunked (``uproot.iterate`` / h5py slices) and the
output is written row group by row group, so a file larger than memory goes through. Every problem
with the inputs raises ONE ``IngestError`` naming the file and the field.
"""

from __future__ import annotations

import glob
import math
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any, NamedTuple

import awkward as ak
import h5py
import numpy as np
import uproot

from systlab.atomic import atomic_path
from systlab.events import CANONICAL_COLUMNS, CANONICAL_FLAT, CANONICAL_JAGGED

FORMATS = ("root", "hdf5")
#: Canonical columns that a spec may omit (weight defaults to 1.0, event_id to a running index).
OPTIONAL_COLUMNS = ("event_id", "weight")
_SPEC_KEYS = {"format", "files", "tree", "group", "columns", "selection", "yield"}
_COLUMN_KEYS = {"branch", "expr", "value", "object", "scale", "counts"}
_SELECTION_KEYS = {"jet_min_pt", "jet_max_abs_eta"}
_NUMERIC_KINDS = "iuf"
_ALIAS_PREFIX = "systlab_expr_"


class IngestError(ValueError):
    """A raw input or its specification is unusable; the message names the file (or config path) and field."""


# --------------------------------------------------------------------------------------------- spec


@dataclass(frozen=True)
class ColumnSpec:
    """Source of one canonical column: a branch/dataset, an uproot expression or a constant value."""

    name: str
    branch: str | None = None
    expr: str | None = None
    value: float | None = None
    object: int | None = None
    counts: str | None = None
    scale: float = 1.0

    @property
    def is_read(self) -> bool:
        """True if the column is read from the files (branch or expression)."""
        return self.branch is not None or self.expr is not None

    @property
    def source(self) -> str:
        """Human description of the source, for error messages."""
        if self.branch is not None:
            return f"branch '{self.branch}'"
        if self.expr is not None:
            return f"expr '{self.expr}'"
        return f"value {self.value}" if self.value is not None else "running index"


@dataclass(frozen=True)
class Selection:
    """Optional object-level jet cuts, applied after ``scale``: keep jets with pt >= min and |eta| <= max."""

    jet_min_pt: float | None = None
    jet_max_abs_eta: float | None = None


@dataclass(frozen=True)
class InputSpec:
    """Validated description of one process's raw inputs and their mapping onto canonical columns."""

    format: str
    files: tuple[str, ...]
    columns: tuple[ColumnSpec, ...]
    tree: str = "events"
    group: str = "events"
    selection: Selection = field(default_factory=Selection)
    expected_yield: float | None = None

    def column(self, name: str) -> ColumnSpec:
        """The spec of canonical column ``name``."""
        return next(col for col in self.columns if col.name == name)

    @classmethod
    def from_mapping(cls, d: Any, where: str) -> InputSpec:
        """Validate a plain (YAML) mapping; raise IngestError naming ``where`` and the offending field."""
        if not isinstance(d, Mapping):
            raise IngestError(f"{where}: expected a mapping, got {type(d).__name__}")
        _reject_unknown(d, _SPEC_KEYS, where)
        fmt = d.get("format")
        if fmt not in FORMATS:
            raise IngestError(f"{where}.format: must be one of {list(FORMATS)}, got {fmt!r}")
        if fmt == "root" and "group" in d:
            raise IngestError(f"{where}.group: only for format hdf5 (ROOT uses 'tree')")
        if fmt == "hdf5" and "tree" in d:
            raise IngestError(f"{where}.tree: only for format root (HDF5 uses 'group')")
        return cls(
            format=fmt,
            files=_parse_files(d.get("files"), f"{where}.files"),
            columns=_parse_columns(d.get("columns"), fmt, f"{where}.columns"),
            tree=_parse_name(d.get("tree", "events"), f"{where}.tree"),
            group=_parse_name(d.get("group", "events"), f"{where}.group"),
            selection=_parse_selection(d.get("selection", {}), f"{where}.selection"),
            expected_yield=_parse_yield(d.get("yield"), f"{where}.yield"),
        )


def _reject_unknown(d: Mapping, allowed: set[str], where: str) -> None:
    """Raise IngestError for keys of ``d`` outside ``allowed``."""
    unknown = sorted(set(map(str, d)) - allowed)
    if unknown:
        raise IngestError(f"{where}: unknown field(s) {unknown}; allowed: {sorted(allowed)}")


def _parse_name(value: Any, where: str) -> str:
    """A non-empty string."""
    if not isinstance(value, str) or not value:
        raise IngestError(f"{where}: must be a non-empty string, got {value!r}")
    return value


def _parse_number(value: Any, where: str) -> float:
    """A finite real number (bool rejected)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise IngestError(f"{where}: must be a finite number, got {value!r}")
    return float(value)


def _parse_files(value: Any, where: str) -> tuple[str, ...]:
    """A non-empty list of paths or glob patterns (a single string is accepted)."""
    if isinstance(value, str | os.PathLike):
        value = [value]
    if not isinstance(value, list | tuple) or not value:
        raise IngestError(f"{where}: must be a non-empty list of paths or glob patterns, got {value!r}")
    return tuple(_parse_name(os.fspath(v) if isinstance(v, os.PathLike) else v, where) for v in value)


def _parse_columns(value: Any, fmt: str, where: str) -> tuple[ColumnSpec, ...]:
    """Every canonical column, parsed; missing required ones and unknown names are errors."""
    if not isinstance(value, Mapping):
        raise IngestError(f"{where}: must be a mapping canonical column -> source, got {value!r}")
    unknown = sorted(set(map(str, value)) - set(CANONICAL_COLUMNS))
    if unknown:
        raise IngestError(f"{where}: unknown canonical column(s) {unknown}; known: {list(CANONICAL_COLUMNS)}")
    missing = [name for name in CANONICAL_COLUMNS if name not in value and name not in OPTIONAL_COLUMNS]
    if missing:
        raise IngestError(f"{where}: required canonical column(s) {missing} not mapped")
    defaults = {"weight": {"value": 1.0}, "event_id": {}}
    return tuple(
        _parse_column(name, value.get(name, defaults.get(name)), fmt, f"{where}.{name}")
        for name in CANONICAL_COLUMNS
    )


def _parse_column(name: str, d: Any, fmt: str, where: str) -> ColumnSpec:
    """One column source; enforces which keys make sense for this column and format."""
    if not isinstance(d, Mapping):
        raise IngestError(f"{where}: must be a mapping like {{branch: NAME}}, got {d!r}")
    _reject_unknown(d, _COLUMN_KEYS, where)
    sources = [key for key in ("branch", "expr", "value") if key in d]
    if len(sources) != 1 and not (name == "event_id" and not sources):
        raise IngestError(f"{where}: give exactly one of branch / expr / value, got {sources or 'none'}")
    col = ColumnSpec(
        name=name,
        branch=_parse_name(d["branch"], f"{where}.branch") if "branch" in d else None,
        expr=_parse_name(d["expr"], f"{where}.expr") if "expr" in d else None,
        value=_parse_number(d["value"], f"{where}.value") if "value" in d else None,
        object=_parse_object(d["object"], f"{where}.object") if "object" in d else None,
        counts=_parse_name(d["counts"], f"{where}.counts") if "counts" in d else None,
        scale=_parse_number(d.get("scale", 1.0), f"{where}.scale"),
    )
    _check_column_rules(col, fmt, where)
    return col


def _parse_object(value: Any, where: str) -> int:
    """An object index >= 0 (0 = leading object)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise IngestError(f"{where}: must be an integer >= 0 (0 = leading object), got {value!r}")
    return value


def _check_column_rules(col: ColumnSpec, fmt: str, where: str) -> None:
    """Reject key combinations that cannot make sense (e.g. ``object`` on a jagged canonical column)."""
    jagged = col.name in CANONICAL_JAGGED
    rules = [
        (col.scale == 0.0, "scale", "must be non-zero"),
        (
            col.name == "event_id" and (col.value is not None or col.scale != 1.0),
            "event_id",
            "takes only branch or expr (no value, no scale)",
        ),
        (
            col.object is not None and (jagged or col.name in OPTIONAL_COLUMNS),
            "object",
            "only for per-event kinematic columns (not jets, weight or event_id)",
        ),
        (col.object is not None and col.value is not None, "object", "makes no sense with value"),
        (jagged and col.value is not None, "value", "jagged jet columns must be read from the files"),
        (fmt == "hdf5" and col.expr is not None, "expr", "expressions are supported for ROOT inputs only"),
        (fmt == "root" and col.counts is not None, "counts", "only for HDF5 (ROOT branches carry counters)"),
        (
            fmt == "hdf5"
            and (jagged or col.object is not None)
            and col.branch is not None
            and col.counts is None,
            "counts",
            "required for a jagged HDF5 source (dataset of per-event counts)",
        ),
        (
            fmt == "hdf5" and col.counts is not None and not (jagged or col.object is not None),
            "counts",
            "jagged source where a flat column is expected: add `object:` to pick one object",
        ),
    ]
    for failed, key, message in rules:
        if failed:
            raise IngestError(f"{where}.{key}: {message}")


def _parse_selection(value: Any, where: str) -> Selection:
    """Optional jet cuts."""
    if not isinstance(value, Mapping):
        raise IngestError(f"{where}: must be a mapping, got {value!r}")
    _reject_unknown(value, _SELECTION_KEYS, where)
    return Selection(**{key: _parse_number(v, f"{where}.{key}") for key, v in value.items()})


def _parse_yield(value: Any, where: str) -> float | None:
    """Optional expected yield (> 0) that the weights are rescaled to."""
    if value is None:
        return None
    number = _parse_number(value, where)
    if number <= 0:
        raise IngestError(f"{where}: must be > 0, got {value!r}")
    return number


def simulated_spec(root_path: str | os.PathLike) -> InputSpec:
    """Identity mapping for a ROOT file written by ``rawio.write_root`` (tree ``events``)."""
    columns = {name: {"branch": name} for name in CANONICAL_COLUMNS}
    mapping = {"format": "root", "files": [os.fspath(root_path)], "tree": "events", "columns": columns}
    return InputSpec.from_mapping(mapping, where=f"simulated:{root_path}")


def simulated_hdf5_spec(h5_path: str | os.PathLike) -> InputSpec:
    """Identity mapping for an HDF5 file written by ``rawio.write_hdf5`` (group ``events``, ``njet``)."""
    columns = {name: {"branch": name} for name in CANONICAL_FLAT}
    columns.update({name: {"branch": name, "counts": "njet"} for name in CANONICAL_JAGGED})
    mapping = {"format": "hdf5", "files": [os.fspath(h5_path)], "group": "events", "columns": columns}
    return InputSpec.from_mapping(mapping, where=f"simulated:{h5_path}")


# ------------------------------------------------------------------------------------------- ingest


class IngestSummary(NamedTuple):
    """What one ``ingest`` call did."""

    files: tuple[str, ...]
    events_read: int
    events_written: int
    sum_weights: float
    seconds: float


class _Chunk(NamedTuple):
    """Raw arrays of one chunk of one file: column name -> numpy/awkward array, and its entry count."""

    path: str
    entries: int
    arrays: dict[str, Any]


@dataclass
class _Tally:
    """Running counters while chunks stream through."""

    events_read: int = 0
    events_written: int = 0
    sum_weights: float = 0.0


def ingest(spec: InputSpec, out_path: str | os.PathLike, chunk_size: int) -> IngestSummary:
    """Read all files of ``spec`` chunk by chunk into one canonical Parquet table at ``out_path`` (atomic)."""
    if chunk_size < 1:
        raise IngestError(f"chunk_size: must be >= 1, got {chunk_size}")
    start = time.perf_counter()
    files = resolve_files(spec.files)
    tally = _Tally()
    reader = _root_chunks if spec.format == "root" else _hdf5_chunks
    raw = (chunk for path in files for chunk in reader(spec, path, chunk_size))
    canonical = _canonical_chunks(spec, raw, tally)
    with atomic_path(out_path) as tmp:
        if spec.expected_yield is None:
            _write_row_groups(canonical, tmp, files)
        else:
            _write_rescaled(canonical, tmp, files, spec.expected_yield, tally)
    seconds = time.perf_counter() - start
    return IngestSummary(tuple(files), tally.events_read, tally.events_written, tally.sum_weights, seconds)


def read_canonical(path: str | os.PathLike) -> ak.Array:
    """Read a canonical table written by ``ingest``."""
    return ak.from_parquet(path)


def resolve_files(patterns: tuple[str, ...]) -> list[str]:
    """Expand glob patterns (sorted), keep plain paths; a missing file or empty pattern is an IngestError."""
    files: list[str] = []
    for pattern in patterns:
        if glob.has_magic(pattern):
            matches = sorted(glob.glob(pattern))
            if not matches:
                raise IngestError(f"{pattern}: no file matches this pattern (field 'files')")
        elif not Path(pattern).is_file():
            raise IngestError(f"{pattern}: file missing (field 'files')")
        else:
            matches = [pattern]
        files.extend(m for m in matches if m not in files)
    return files


def _write_row_groups(chunks: Iterator[ak.Array], path: Path, files: list[str]) -> None:
    """Write the non-empty canonical chunks as Parquet row groups; no surviving event is an error."""
    first = next(chunks, None)
    if first is None:
        raise IngestError(
            f"{', '.join(files)}: no event left after requiring the mapped objects (field 'columns')"
        )
    ak.to_parquet_row_groups(chain([first], chunks), path)


def _write_rescaled(
    chunks: Iterator[ak.Array], path: Path, files: list[str], expected: float, tally: _Tally
) -> None:
    """Write unscaled to a scratch file, then copy it rescaling weights so they sum to ``expected``."""
    scratch = path.with_name(path.name + ".unscaled")
    try:
        _write_row_groups(chunks, scratch, files)
        if not tally.sum_weights > 0:
            raise IngestError(
                f"{', '.join(files)}: sum of weights is {tally.sum_weights} <= 0, cannot rescale to the "
                f"expected yield {expected} (field 'yield')"
            )
        factor = expected / tally.sum_weights
        n_groups = ak.metadata_from_parquet(scratch)["num_row_groups"]
        rescaled = (_scale_weights(ak.from_parquet(scratch, row_groups=[i]), factor) for i in range(n_groups))
        ak.to_parquet_row_groups(rescaled, path)
        tally.sum_weights *= factor
    finally:
        scratch.unlink(missing_ok=True)


def _scale_weights(chunk: ak.Array, factor: float) -> ak.Array:
    """``chunk`` with its weight column multiplied by ``factor``."""
    return ak.with_field(chunk, ak.to_numpy(chunk["weight"]) * factor, "weight")


def _canonical_chunks(spec: InputSpec, raw: Iterator[_Chunk], tally: _Tally) -> Iterator[ak.Array]:
    """Map raw chunks onto canonical ones, updating ``tally``; empty chunks are skipped."""
    for chunk in raw:
        table = _to_canonical(spec, chunk, first_index=tally.events_read)
        tally.events_read += chunk.entries
        tally.events_written += len(table)
        tally.sum_weights += float(np.sum(ak.to_numpy(table["weight"])))
        if len(table):
            yield table


# ---------------------------------------------------------------------------------------- mapping


def _to_canonical(spec: InputSpec, chunk: _Chunk, first_index: int) -> ak.Array:
    """Apply the mapping to one raw chunk: object picks, event cuts, scales, jet cuts, dtypes, finiteness."""
    arrays = {name: _scaled(spec.column(name), arr, chunk) for name, arr in chunk.arrays.items()}
    keep = _events_with_objects(spec, arrays, chunk.entries)
    flat = {
        name: _flat_column(spec.column(name), arrays, keep, first_index, chunk) for name in CANONICAL_FLAT
    }
    jets = {name: arrays[name][keep] for name in CANONICAL_JAGGED}
    _check_same_multiplicity(jets, chunk.path)
    for name, values in chain(flat.items(), ((n, ak.flatten(j, axis=1)) for n, j in jets.items())):
        _check_finite(spec.column(name), ak.to_numpy(values), chunk.path)
    return _canonical_table(flat, _select_jets(spec.selection, jets))


def _scaled(col: ColumnSpec, arr: Any, chunk: _Chunk) -> Any:
    """Check the source structure against the column's expectation, then apply ``scale``."""
    structure = _structure(col, arr, chunk)
    expected = "jagged" if (col.name in CANONICAL_JAGGED or col.object is not None) else "flat"
    if structure != expected:
        hint = "add `object: 0` to take the leading object" if expected == "flat" else "drop `object:`"
        if col.name in CANONICAL_JAGGED:
            hint = "jet columns need a jagged (per-object) source"
        raise IngestError(
            f"{chunk.path}: column '{col.name}' ({col.source}): {structure} source where {expected} "
            f"is expected ({hint})"
        )
    return arr * col.scale if col.scale != 1.0 else arr


def _structure(col: ColumnSpec, arr: Any, chunk: _Chunk) -> str:
    """'flat' or 'jagged' for a numeric 1-D or list-of-numbers source; anything else is an IngestError."""
    layout = ak.to_layout(arr)
    if len(layout) != chunk.entries:
        raise IngestError(
            f"{chunk.path}: column '{col.name}' ({col.source}): {len(layout)} values for "
            f"{chunk.entries} events"
        )
    if _is_numeric_1d(layout):
        return "flat"
    if layout.is_list and layout.parameter("__array__") is None and _is_numeric_1d(layout.content):
        return "jagged"
    raise IngestError(
        f"{chunk.path}: column '{col.name}' ({col.source}): type '{ak.type(arr)}' is not "
        "numeric (need numbers or variable-length lists of numbers)"
    )


def _is_numeric_1d(layout: ak.contents.Content) -> bool:
    """True for a plain 1-D integer/float NumpyArray (no bool, no string, no fixed-size inner shape)."""
    return (
        layout.is_numpy
        and layout.parameter("__array__") is None
        and len(layout.inner_shape) == 0
        and layout.dtype.kind in _NUMERIC_KINDS
    )


def _events_with_objects(spec: InputSpec, arrays: dict[str, Any], entries: int) -> np.ndarray:
    """Boolean mask of events having every object that an ``object:`` index asks for."""
    keep = np.ones(entries, dtype=bool)
    for col in spec.columns:
        if col.object is not None:
            keep &= ak.to_numpy(ak.num(arrays[col.name], axis=1)) > col.object
    return keep


def _flat_column(
    col: ColumnSpec, arrays: dict[str, Any], keep: np.ndarray, first: int, chunk: _Chunk
) -> np.ndarray:
    """One flat canonical column of the kept events, cast to its canonical dtype."""
    dtype = CANONICAL_FLAT[col.name]
    n_kept = int(np.count_nonzero(keep))
    if col.value is not None:
        return np.full(n_kept, col.value * col.scale, dtype=dtype)
    if not col.is_read:
        return np.arange(first, first + chunk.entries, dtype=dtype)[keep]
    selected = arrays[col.name][keep]
    values = ak.to_numpy(selected[:, col.object] if col.object is not None else selected)
    if col.name == "event_id" and values.dtype.kind == "i" and np.any(values < 0):
        raise IngestError(f"{chunk.path}: column 'event_id' ({col.source}): negative event numbers")
    return values.astype(dtype, copy=False)


def _check_same_multiplicity(jets: dict[str, ak.Array], path: str) -> None:
    """All jet columns must have the same number of jets in every event."""
    reference, *others = CANONICAL_JAGGED
    counts = ak.to_numpy(ak.num(jets[reference], axis=1))
    for name in others:
        if not np.array_equal(ak.to_numpy(ak.num(jets[name], axis=1)), counts):
            raise IngestError(
                f"{path}: column '{name}': jet multiplicity differs from '{reference}' "
                "(map all jet columns to the same collection)"
            )


def _describe(exc: BaseException, limit: int = 300) -> str:
    """One-line, bounded description of a library exception, for IngestError messages."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:limit]}{'...' if len(text) > limit else ''}"


def _check_finite(col: ColumnSpec, values: np.ndarray, path: str) -> None:
    """NaN or inf in a kept event is an IngestError naming the column and the count."""
    if values.dtype.kind == "f":
        bad = np.count_nonzero(~np.isfinite(values))
        if bad:
            raise IngestError(f"{path}: column '{col.name}' ({col.source}): {bad} NaN/inf value(s)")


def _select_jets(selection: Selection, jets: dict[str, ak.Array]) -> dict[str, ak.Array]:
    """Apply the optional jet pt / |eta| cuts to every jet column alike."""
    if selection == Selection():
        return jets
    mask = ak.ones_like(jets["jet_pt"], dtype=bool)
    if selection.jet_min_pt is not None:
        mask = mask & (jets["jet_pt"] >= selection.jet_min_pt)
    if selection.jet_max_abs_eta is not None:
        mask = mask & (abs(jets["jet_eta"]) <= selection.jet_max_abs_eta)
    return {name: arr[mask] for name, arr in jets.items()}


def _canonical_table(flat: dict[str, np.ndarray], jets: dict[str, ak.Array]) -> ak.Array:
    """Assemble the canonical record array with a fixed form (so every row group has the same schema)."""
    counts = ak.to_numpy(ak.num(jets["jet_pt"], axis=1)).astype(np.int64)
    offsets = ak.index.Index64(np.concatenate([[0], np.cumsum(counts)]))
    contents = [ak.contents.NumpyArray(np.ascontiguousarray(flat[name])) for name in CANONICAL_FLAT]
    for name, dtype in CANONICAL_JAGGED.items():
        values = ak.to_numpy(ak.flatten(jets[name], axis=1)).astype(dtype, copy=False)
        contents.append(ak.contents.ListOffsetArray(offsets, ak.contents.NumpyArray(values)))
    record = ak.contents.RecordArray(contents, list(CANONICAL_COLUMNS), length=len(counts))
    return ak.Array(record)


# ------------------------------------------------------------------------------------------- ROOT


def _root_chunks(spec: InputSpec, path: str, chunk_size: int) -> Iterator[_Chunk]:
    """Chunks of one ROOT file via ``uproot.iterate``; read errors are re-raised as IngestError."""
    _validate_root_file(spec, path)
    expressions, aliases = _root_expressions(spec)
    try:
        for arrays in uproot.iterate(
            {path: spec.tree}, expressions, aliases=aliases, step_size=chunk_size, library="ak"
        ):
            yield _Chunk(path, len(arrays), {col.name: arrays[_root_key(col)] for col in _read_columns(spec)})
    except (IngestError, GeneratorExit):
        raise
    except Exception as exc:
        raise IngestError(
            f"{path}: corrupt or unreadable data in tree '{spec.tree}' ({_describe(exc)}) (field 'files')"
        ) from exc


def _validate_root_file(spec: InputSpec, path: str) -> None:
    """Check file, tree, branches and expressions before reading (closes the file again)."""
    try:
        file = uproot.open(path)
    except Exception as exc:
        raise IngestError(f"{path}: not a readable ROOT file ({_describe(exc)}) (field 'files')") from exc
    with file:
        tree = _tree_of(file, spec, path)
        _check_branches(spec, tree, path)
        _check_expressions(spec, tree, path)


def _tree_of(file: uproot.ReadOnlyDirectory, spec: InputSpec, path: str) -> uproot.TTree:
    """The tree of ``spec`` in ``file``; a missing tree, a non-tree or zero entries raise."""
    try:
        tree = file[spec.tree]
    except Exception as exc:
        raise IngestError(
            f"{path}: tree '{spec.tree}' missing (field 'tree'); keys: {file.keys(recursive=False)[:10]}"
        ) from exc
    if not isinstance(tree, uproot.TTree):
        raise IngestError(f"{path}: '{spec.tree}' is a {type(tree).__name__}, not a TTree (field 'tree')")
    if tree.num_entries == 0:
        raise IngestError(f"{path}: tree '{spec.tree}' has zero entries (field 'tree')")
    return tree


def _read_columns(spec: InputSpec) -> list[ColumnSpec]:
    """Columns read from the files (branch or expression), in canonical order."""
    return [col for col in spec.columns if col.is_read]


def _root_key(col: ColumnSpec) -> str:
    """Name under which uproot returns ``col``: the branch name or the column's alias."""
    return col.branch if col.branch is not None else _ALIAS_PREFIX + col.name


def _root_expressions(spec: InputSpec) -> tuple[list[str], dict[str, str]]:
    """Unique expressions for ``uproot.iterate`` and the aliases defining the ``expr`` columns."""
    columns = _read_columns(spec)
    expressions = list(dict.fromkeys(_root_key(col) for col in columns))
    aliases = {_root_key(col): col.expr for col in columns if col.expr is not None}
    return expressions, aliases


def _check_branches(spec: InputSpec, tree: uproot.TTree, path: str) -> None:
    """Every mapped branch exists and holds numbers (flat or variable-length lists)."""
    for col in spec.columns:
        if col.branch is None:
            continue
        if col.branch not in tree:
            raise IngestError(
                f"{path}: column '{col.name}': branch '{col.branch}' missing in tree '{spec.tree}'"
            )
        if not _numeric_interpretation(tree[col.branch]):
            raise IngestError(
                f"{path}: column '{col.name}': branch '{col.branch}' of type "
                f"'{tree[col.branch].typename}' is not numeric"
            )


def _numeric_interpretation(branch: uproot.TBranch) -> bool:
    """True if uproot reads ``branch`` as 1-D numbers or variable-length lists of numbers."""
    interp = branch.interpretation
    if isinstance(interp, uproot.interpretation.jagged.AsJagged):
        interp = interp.content
    if not isinstance(interp, uproot.interpretation.numerical.AsDtype):
        return False
    dtype = interp.to_dtype
    return dtype.shape == () and dtype.kind in _NUMERIC_KINDS


def _check_expressions(spec: InputSpec, tree: uproot.TTree, path: str) -> None:
    """Evaluate each ``expr`` on the first entry so unknown names fail with the column named."""
    for col in spec.columns:
        if col.expr is None:
            continue
        alias = _root_key(col)
        try:
            tree.arrays([alias], aliases={alias: col.expr}, entry_stop=1, library="ak")
        except Exception as exc:
            raise IngestError(
                f"{path}: column '{col.name}': cannot evaluate expr '{col.expr}' ({_describe(exc)})"
            ) from exc


# ------------------------------------------------------------------------------------------- HDF5


def _hdf5_chunks(spec: InputSpec, path: str, chunk_size: int) -> Iterator[_Chunk]:
    """Chunks of one HDF5 file by slices; jagged sources rebuilt from values + per-event counts."""
    try:
        h5 = h5py.File(path, "r")
    except Exception as exc:
        raise IngestError(f"{path}: not a readable HDF5 file ({_describe(exc)}) (field 'files')") from exc
    with h5:
        group = h5.get(spec.group)
        if not isinstance(group, h5py.Group):
            raise IngestError(f"{path}: group '{spec.group}' missing (field 'group')")
        entries = _check_hdf5_layout(spec, group, path)
        offsets = dict.fromkeys((col.counts for col in spec.columns if col.counts), 0)
        for start in range(0, entries, chunk_size):
            stop = min(entries, start + chunk_size)
            counts = {name: group[name][start:stop] for name in offsets}
            arrays = {
                col.name: _hdf5_column(group, col, start, stop, counts, offsets)
                for col in _read_columns(spec)
            }
            offsets = {name: offsets[name] + int(np.sum(c)) for name, c in counts.items()}
            yield _Chunk(path, stop - start, arrays)


def _hdf5_column(
    group: h5py.Group,
    col: ColumnSpec,
    start: int,
    stop: int,
    counts: dict[str, np.ndarray],
    offsets: dict[str, int],
) -> Any:
    """Events ``[start, stop)`` of one column: a slice, or values unflattened by their counts."""
    if col.counts is None:
        return group[col.branch][start:stop]
    n = counts[col.counts]
    first = offsets[col.counts]
    return ak.unflatten(group[col.branch][first : first + int(np.sum(n))], n)


def _check_hdf5_layout(spec: InputSpec, group: h5py.Group, path: str) -> int:
    """Check datasets exist, are 1-D numeric and have consistent lengths; return the number of events."""
    per_event = {}
    for col in _read_columns(spec):
        for name in filter(None, (col.branch, col.counts)):
            _check_hdf5_dataset(group, name, col, path)
        per_event.update({name: col.name for name in (col.counts or col.branch,)})
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
    if dataset.dtype.kind not in _NUMERIC_KINDS:
        raise IngestError(f"{where} has non-numeric dtype {dataset.dtype}")


def _check_hdf5_values_lengths(spec: InputSpec, group: h5py.Group, path: str) -> None:
    """The values of a jagged source number exactly sum(counts), and counts are non-negative."""
    totals: dict[str, int] = {}
    for col in _read_columns(spec):
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
