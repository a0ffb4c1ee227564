"""The ``ingest`` driver: resolve the files, stream reader chunks through the mapping, write Parquet.

The output is written row group by row group inside ``atomic_path``, so a file larger than memory goes
through and a failed run leaves no partial table; with ``yield:`` set, a second pass rescales the
weights so they sum to the expected yield. Parquet is written with pyarrow straight from the chunks'
numpy buffers, in the schema ``ak.to_parquet`` gives them (derived once), on a worker thread that
overlaps the write of one chunk with the read and mapping of the next.
"""

from __future__ import annotations

import functools
import glob
import os
import re
import tempfile
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any, NamedTuple

import awkward as ak
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from systlab.atomic import atomic_path
from systlab.samples.files import DATA_SUFFIXES, DIRECTORY_FORMATS, expand_files
from systlab.samples.ingest.canonical import Chunk, empty_table, list_buffers, to_canonical
from systlab.samples.ingest.errors import IngestError
from systlab.samples.ingest.formats import checker, reader
from systlab.samples.ingest.spec import InputSpec


class IngestSummary(NamedTuple):
    """What one ``ingest`` call did."""

    files: tuple[str, ...]
    events_read: int
    events_written: int
    sum_weights: float
    seconds: float


@dataclass
class Tally:
    """Running counters while chunks stream through."""

    events_read: int = 0
    events_written: int = 0
    sum_weights: float = 0.0


def ingest(spec: InputSpec, out_path: str | os.PathLike, chunk_size: int) -> IngestSummary:
    """Read all files of ``spec`` chunk by chunk into one canonical Parquet table at ``out_path`` (atomic)."""
    if chunk_size < 1:
        raise IngestError(f"chunk_size: must be >= 1, got {chunk_size}")
    start = time.perf_counter()
    files = resolve_files(spec.files, spec.format)
    tally = Tally()
    read = reader(spec.format)
    raw = (chunk for path in files for chunk in read(spec, path, chunk_size))
    canonical = canonical_chunks(spec, raw, tally)
    with atomic_path(out_path) as tmp:
        if spec.expected_yield is None:
            write_row_groups(canonical, tmp, files, spec)
        else:
            _write_rescaled(canonical, tmp, files, spec.expected_yield, tally, spec)
    seconds = time.perf_counter() - start
    return IngestSummary(tuple(files), tally.events_read, tally.events_written, tally.sum_weights, seconds)


def read_canonical(path: str | os.PathLike) -> ak.Array:
    """Read a canonical table written by ``ingest``."""
    return ak.from_parquet(path)


class CheckedInput(NamedTuple):
    """One parsed ``inputs:`` entry and the files its patterns resolved to (None: files not checked)."""

    spec: InputSpec
    files: list[str] | None


class InputsError(IngestError):
    """An ``inputs:`` entry that does not parse or whose files are missing: the config ``field`` (dotted path) and
    the ``problem``, so a caller can say which config file set it (``systlab check-config``)."""

    def __init__(self, message: str, field: str, problem: str) -> None:
        super().__init__(message)
        self.field, self.problem = field, problem


def check_inputs(inputs: Mapping[str, Any], check_files: bool = True) -> dict[str, CheckedInput]:
    """Every ``inputs:`` entry parsed (mapping, key combinations, HDF5 ``expr:`` syntax), its files found and each
    file checked against the mapping by its format's checker (opens; tree/group, branches/datasets with a usable
    type and shape, ``expr:`` names), before any job runs (the DAG build and ``systlab check-config`` call this):
    :class:`InputsError` naming the process, the field and the problem. A bad file found only by the ingest job
    cost the table it would rebuild: Snakemake deletes a job's old outputs before the job starts."""
    checked = {}
    for process, mapping in inputs.items():
        where = f"inputs.{process}"
        try:
            spec = InputSpec.from_mapping(mapping, where=where)
        except IngestError as exc:
            field, _, problem = str(exc).partition(": ")
            raise InputsError(str(exc), field, problem) from None
        files = None
        if check_files:
            try:
                files = resolve_files(spec.files, spec.format)
            except IngestError as exc:
                problem = str(exc).removesuffix(" (field 'files')")
                raise InputsError(f"{where}: {exc}", f"{where}.files", problem) from None
            check = checker(spec.format)
            for path in files if check is not None else ():
                try:
                    check(spec, path)
                except IngestError as exc:
                    raise InputsError(f"{where}: {exc}", f"{where}.{_file_field(str(exc))}", str(exc)) from None
        checked[process] = CheckedInput(spec, files)
    return checked


_FIELD = re.compile(r"\(field '(\w+)'\)")
_COLUMN = re.compile(r": column '(\w+)'")


def _file_field(message: str) -> str:
    """The ``inputs.<process>`` key a file checker's message is about: a column's, the named field, else files."""
    column, named = _COLUMN.search(message), _FIELD.search(message)
    return f"columns.{column[1]}" if column else named[1] if named else "files"


def resolve_files(patterns: tuple[str, ...], fmt: str | None = None) -> list[str]:
    """Expand glob patterns and directories (:func:`expand_files`), keep plain paths; a missing file, an empty
    pattern or a directory without a ROOT/HDF5 file is an IngestError. For a format whose inputs are directories
    (``fair``) every entry must be a directory (its checker then looks inside)."""
    files: list[str] = []
    for pattern in patterns:
        matches = expand_files(pattern, fmt)
        if glob.has_magic(pattern) and not matches:
            raise IngestError(f"{pattern}: no file matches this pattern (field 'files')")
        if fmt in DIRECTORY_FORMATS:
            for match in matches:
                if not Path(match).is_dir():
                    raise IngestError(f"{match}: not a directory (format {fmt} reads a FAIR-Universe dataset "
                                      "directory: one .parquet file and one *_metadata.json) (field 'files')")
            files.extend(m for m in matches if m not in files)
            continue
        if Path(pattern).is_dir() and not matches:
            raise IngestError(f"{pattern}: directory without a {'/'.join(DATA_SUFFIXES)} file (field 'files')")
        if not glob.has_magic(pattern) and not Path(pattern).is_dir() and not Path(pattern).is_file():
            raise IngestError(f"{pattern}: file missing (field 'files')")
        files.extend(m for m in matches if m not in files)
    return files


#: How the canonical table is written: awkward's ``ak.to_parquet`` settings, except the codec. LZ4 rather than
#: zstd (measured on 595k events, 2026-12-06): the write ~30-60 ms faster, the next stage's ``ak.from_parquet``
#: 56 -> 36 ms, the file 23.3 -> 27.4 MB (uncompressed: 31 ms, 34.4 MB); no dictionary (floats rarely repeat,
#: and it made the write 3x slower). With ``compression="zstd"`` the bytes equal those of
#: ``ak.to_parquet_row_groups`` (tests/test_ingest_parquet.py).
PARQUET_OPTIONS: dict[str, Any] = {
    "version": "2.6",
    "compression": "lz4",
    "use_dictionary": False,
    "write_statistics": True,
    "data_page_version": "1.0",
    "use_compliant_nested_type": False,
}


@functools.cache
def canonical_schema() -> pa.Schema:
    """The Arrow schema, with awkward's metadata, that ``ak.to_parquet`` writes for a canonical table (once)."""
    with tempfile.TemporaryDirectory(prefix="systlab-schema-") as tmp:
        path = Path(tmp) / "empty.parquet"
        ak.to_parquet(empty_table(), path)
        return pq.read_schema(path)


def arrow_table(chunk: ak.Array) -> pa.Table:
    """A canonical chunk as an Arrow table of :func:`canonical_schema`, sharing its buffers (no copy)."""
    schema = canonical_schema()
    layout = chunk.layout
    if layout.fields != schema.names:
        raise ValueError(f"canonical columns {layout.fields} differ from {schema.names}")
    columns = []
    for field, content in zip(schema, layout.contents, strict=True):
        if content.is_list:
            offsets, values = list_buffers(content)
            values = pa.array(values, type=field.type.value_type)
            columns.append(pa.LargeListArray.from_arrays(offsets, values, type=field.type))
        else:
            columns.append(pa.array(ak.to_numpy(content), type=field.type))
    return pa.Table.from_arrays(columns, schema=schema)


def write_row_groups(chunks: Iterator[ak.Array], path: Path, files: list[str],
                     spec: InputSpec | None = None) -> None:  # fmt: skip
    """Write the non-empty canonical chunks as Parquet row groups; no surviving event is an error naming the
    columns whose ``object:`` index events must reach."""
    first = next(chunks, None)
    if first is None:
        picks = [f"{c.name} (object {c.object})" for c in (spec.columns if spec else ()) if c.object is not None]
        asked = f": no event has every object asked for by {', '.join(picks)}; lower an index" if picks else ""
        raise IngestError(
            f"{', '.join(files)}: no event left after requiring the mapped objects{asked} (field 'columns')"
        )
    write_tables(map(arrow_table, chain([first], chunks)), path)


def write_tables(tables: Iterator[pa.Table], path: Path) -> None:
    """Write Arrow tables of the canonical schema as row groups of one Parquet file (``PARQUET_OPTIONS``).

    Each table is written on a worker thread (pyarrow releases the GIL) while the next one is read and mapped;
    at most one write is in flight, so two chunks are held at a time. An error on either side propagates after
    the write in flight has finished; the caller's ``atomic_path`` then drops the partial file.
    """
    with (
        pq.ParquetWriter(path, canonical_schema(), **PARQUET_OPTIONS) as writer,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="systlab-ingest-write") as pool,
    ):
        pending = None
        for table in tables:
            if pending is not None:
                pending.result()
            pending = pool.submit(writer.write_table, table)
        if pending is not None:
            pending.result()


def _write_rescaled(
    chunks: Iterator[ak.Array], path: Path, files: list[str], expected: float, tally: Tally, spec: InputSpec
) -> None:
    """Write unscaled to a scratch file, then copy it rescaling weights so they sum to ``expected``."""
    scratch = path.with_name(path.name + ".unscaled")
    try:
        write_row_groups(chunks, scratch, files, spec)
        if not tally.sum_weights > 0:
            raise IngestError(
                f"{', '.join(files)}: sum of weights is {tally.sum_weights} <= 0, cannot rescale to the "
                f"expected yield {expected} (field 'yield')"
            )
        factor = expected / tally.sum_weights
        with pq.ParquetFile(scratch) as unscaled:
            groups = (unscaled.read_row_group(i) for i in range(unscaled.num_row_groups))
            write_tables((_scale_weights(group, factor) for group in groups), path)
        tally.sum_weights *= factor
    finally:
        scratch.unlink(missing_ok=True)


def _scale_weights(table: pa.Table, factor: float) -> pa.Table:
    """``table`` with its weight column multiplied by ``factor``."""
    index = table.schema.get_field_index("weight")
    field = table.schema.field(index)
    return table.set_column(index, field, pa.array(table.column(index).to_numpy() * factor, type=field.type))


def canonical_chunks(spec: InputSpec, raw: Iterator[Chunk], tally: Tally) -> Iterator[ak.Array]:
    """Map raw chunks onto canonical ones, updating ``tally``; empty chunks are skipped."""
    for chunk in raw:
        table = to_canonical(spec, chunk, first_index=tally.events_read)
        tally.events_read += chunk.entries
        tally.events_written += len(table)
        tally.sum_weights += float(np.sum(ak.to_numpy(table["weight"])))
        if len(table):
            yield table
