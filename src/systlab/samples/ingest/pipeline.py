"""The ``ingest`` driver: resolve the files, stream reader chunks through the mapping, write Parquet.

The output is written row group by row group inside ``atomic_path``, so a file larger than memory goes
through and a failed run leaves no partial table; with ``yield:`` set, a second pass rescales the
weights so they sum to the expected yield.
"""

from __future__ import annotations

import glob
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import NamedTuple

import awkward as ak
import numpy as np

from systlab.atomic import atomic_path
from systlab.samples.ingest.canonical import Chunk, to_canonical
from systlab.samples.ingest.errors import IngestError
from systlab.samples.ingest.formats import reader
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
    files = resolve_files(spec.files)
    tally = Tally()
    read = reader(spec.format)
    raw = (chunk for path in files for chunk in read(spec, path, chunk_size))
    canonical = canonical_chunks(spec, raw, tally)
    with atomic_path(out_path) as tmp:
        if spec.expected_yield is None:
            write_row_groups(canonical, tmp, files)
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


def write_row_groups(chunks: Iterator[ak.Array], path: Path, files: list[str]) -> None:
    """Write the non-empty canonical chunks as Parquet row groups; no surviving event is an error."""
    first = next(chunks, None)
    if first is None:
        raise IngestError(
            f"{', '.join(files)}: no event left after requiring the mapped objects (field 'columns')"
        )
    ak.to_parquet_row_groups(chain([first], chunks), path)


def _write_rescaled(
    chunks: Iterator[ak.Array], path: Path, files: list[str], expected: float, tally: Tally
) -> None:
    """Write unscaled to a scratch file, then copy it rescaling weights so they sum to ``expected``."""
    scratch = path.with_name(path.name + ".unscaled")
    try:
        write_row_groups(chunks, scratch, files)
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


def canonical_chunks(spec: InputSpec, raw: Iterator[Chunk], tally: Tally) -> Iterator[ak.Array]:
    """Map raw chunks onto canonical ones, updating ``tally``; empty chunks are skipped."""
    for chunk in raw:
        table = to_canonical(spec, chunk, first_index=tally.events_read)
        tally.events_read += chunk.entries
        tally.events_written += len(table)
        tally.sum_weights += float(np.sum(ak.to_numpy(table["weight"])))
        if len(table):
            yield table
