"""The ingest specification: which files, and how their branches/datasets map onto canonical columns.

Built from configuration alone (``InputSpec.from_mapping``) and validated up front, so a bad mapping
fails before any file is opened; ``simulated_spec``/``simulated_hdf5_spec`` are the identity mappings
for the built-in simulator's ROOT and HDF5 files.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from systlab.events import CANONICAL_COLUMNS, CANONICAL_FLAT, CANONICAL_JAGGED
from systlab.samples.ingest.errors import IngestError
from systlab.samples.ingest.formats import READERS

#: Canonical columns that a spec may omit (weight defaults to 1.0, event_id to a running index).
OPTIONAL_COLUMNS = ("event_id", "weight")
#: Canonical columns that may have no source: a running index (event_id), no jet in any event (all jet columns).
SOURCE_OPTIONAL = ("event_id", *CANONICAL_JAGGED)
#: dtype kinds accepted as numeric sources (signed/unsigned integers, floats; no bool, no strings).
NUMERIC_KINDS = "iuf"
_SPEC_KEYS = {"format", "files", "tree", "group", "columns", "selection", "yield", "detailed_label"}
#: Formats whose ``expr:`` is systlab's own expression language (parsed here), not uproot's.
_OWN_EXPRESSIONS = ("hdf5", "fair")
_COLUMN_KEYS = {"branch", "expr", "value", "object", "scale", "counts"}
_SELECTION_KEYS = {"jet_min_pt", "jet_max_abs_eta"}


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
    detailed_label: str | None = None  # format fair: keep the events of this process (``detailed_labels``)

    def column(self, name: str) -> ColumnSpec:
        """The spec of canonical column ``name``."""
        return next(col for col in self.columns if col.name == name)

    def read_columns(self) -> list[ColumnSpec]:
        """Columns read from the files (branch or expression), in canonical order."""
        return [col for col in self.columns if col.is_read]

    @classmethod
    def from_mapping(cls, d: Any, where: str) -> InputSpec:
        """Validate a plain (YAML) mapping; raise IngestError naming ``where`` and the offending field."""
        if not isinstance(d, Mapping):
            raise IngestError(f"{where}: expected a mapping, got {type(d).__name__}")
        _reject_unknown(d, _SPEC_KEYS, where)
        fmt = d.get("format")
        if fmt not in READERS:
            raise IngestError(f"{where}.format: must be one of {list(READERS)}, got {fmt!r}")
        if fmt == "root" and "group" in d:
            raise IngestError(f"{where}.group: only for format hdf5 (ROOT uses 'tree')")
        if fmt == "hdf5" and "tree" in d:
            raise IngestError(f"{where}.tree: only for format root (HDF5 uses 'group')")
        if fmt == "fair":
            for key in ("tree", "group"):
                if key in d:
                    raise IngestError(f"{where}.{key}: not for format fair (a FAIR-Universe dataset directory holds "
                                      "one Parquet table)")  # fmt: skip
        if fmt != "fair" and "detailed_label" in d:
            raise IngestError(f"{where}.detailed_label: only for format fair (a FAIR-Universe dataset's process)")
        return cls(
            format=fmt,
            files=_parse_files(d.get("files"), f"{where}.files"),
            columns=_parse_columns(d.get("columns"), fmt, f"{where}.columns"),
            tree=_parse_name(d.get("tree", "events"), f"{where}.tree"),
            group=_parse_name(d.get("group", "events"), f"{where}.group"),
            selection=_parse_selection(d.get("selection", {}), f"{where}.selection"),
            expected_yield=_parse_yield(d.get("yield"), f"{where}.yield"),
            detailed_label=_parse_name(d["detailed_label"], f"{where}.detailed_label") if "detailed_label" in d
            else None,
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
    jets = [name for name in CANONICAL_JAGGED if name in value]
    if jets and len(jets) != len(CANONICAL_JAGGED):
        unmapped = [name for name in CANONICAL_JAGGED if name not in jets]
        raise IngestError(f"{where}: jet columns {jets} mapped without {unmapped}: map all of "
                          f"{list(CANONICAL_JAGGED)} or none (none: every event has no jet)")  # fmt: skip
    optional = (*OPTIONAL_COLUMNS, *(() if jets else CANONICAL_JAGGED))
    missing = [name for name in CANONICAL_COLUMNS if name not in value and name not in optional]
    if missing:
        raise IngestError(f"{where}: required canonical column(s) {missing} not mapped")
    defaults = {"weight": {"value": 1.0}, "event_id": {}, **dict.fromkeys(CANONICAL_JAGGED, {})}
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
    if len(sources) != 1 and not (name in SOURCE_OPTIONAL and not sources):
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
    if fmt in _OWN_EXPRESSIONS and col.expr is not None:  # ROOT's are checked by uproot when the file is opened
        from systlab.samples.ingest.expressions import parse

        parse(col.expr, f"{where}.expr")
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
        (fmt in _OWN_EXPRESSIONS and col.expr is not None
         and (jagged or col.object is not None or col.counts is not None),
         "expr", f"{fmt.upper()} expressions make flat per-event columns only"),
        (fmt != "hdf5" and col.counts is not None, "counts",
         "only for HDF5 (ROOT branches carry counters, FAIR jets are lists)"),
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
