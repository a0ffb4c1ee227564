"""Ingest raw ROOT or HDF5 files into the canonical event table: ONE Parquet file per process.

The mapping from source branches (or HDF5 datasets) to canonical columns comes from configuration
alone (``InputSpec.from_mapping``). Reading is chunked (``uproot.iterate`` / h5py slices) and the
output is written row group by row group, so a file larger than memory goes through. Every problem
with the inputs raises ONE ``IngestError`` naming the file and the field.

Modules: ``spec`` (the mapping and its validation), ``root`` / ``hdf5`` (readers and their checks),
``canonical`` (raw chunk -> canonical table), ``pipeline`` (the ``ingest`` driver and Parquet writing),
``errors`` (``IngestError``).
"""

from __future__ import annotations

from systlab.ingest.errors import IngestError
from systlab.ingest.hdf5 import hdf5_chunks
from systlab.ingest.pipeline import (
    IngestSummary,
    Tally,
    canonical_chunks,
    ingest,
    read_canonical,
    resolve_files,
    write_row_groups,
)
from systlab.ingest.root import root_chunks
from systlab.ingest.spec import ColumnSpec, InputSpec, Selection, simulated_hdf5_spec, simulated_spec

# The read / map / write phases under their old private names: benchmarks/bench_ingest.py times them apart.
_root_chunks, _hdf5_chunks, _canonical_chunks = root_chunks, hdf5_chunks, canonical_chunks
_Tally, _write_row_groups = Tally, write_row_groups

__all__ = [
    "ColumnSpec",
    "IngestError",
    "IngestSummary",
    "InputSpec",
    "Selection",
    "ingest",
    "read_canonical",
    "resolve_files",
    "simulated_hdf5_spec",
    "simulated_spec",
]
