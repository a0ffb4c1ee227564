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

from systlab.samples.ingest import hdf5, pipeline, root  # noqa: F401  (phases timed apart by benchmarks/bench_ingest.py)
from systlab.samples.ingest.errors import IngestError
from systlab.samples.ingest.pipeline import (
    CheckedInput,
    IngestSummary,
    InputsError,
    check_inputs,
    ingest,
    read_canonical,
    resolve_files,
)
from systlab.samples.ingest.spec import ColumnSpec, InputSpec, Selection, simulated_hdf5_spec, simulated_spec

__all__ = [
    "CheckedInput",
    "ColumnSpec",
    "IngestError",
    "IngestSummary",
    "InputsError",
    "check_inputs",
    "InputSpec",
    "Selection",
    "ingest",
    "read_canonical",
    "resolve_files",
    "simulated_hdf5_spec",
    "simulated_spec",
]
