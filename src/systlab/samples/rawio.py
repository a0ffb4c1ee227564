"""Writers of the raw input files of the built-in simulator (ROOT and HDF5), read back by ``ingest``.

ROOT layout (one TTree, default name ``events``): one flat branch per column of ``CANONICAL_FLAT``
(``event_id, weight, tau_pt, tau_eta, tau_phi, lep_pt, lep_eta, lep_phi, met_pt, met_phi``) and the
jagged jet branches ``jet_pt, jet_eta, jet_phi`` sharing ONE counter branch ``njet`` (int32).

HDF5 layout (group ``events``, attribute ``layout = "systlab-canonical-v1"``, ``n_events``):
one 1-D dataset per flat column (dtype of ``CANONICAL_FLAT``); ``njet`` (int32, one count per event);
``jet_pt, jet_eta, jet_phi`` (float32) hold the jet values of all events concatenated, event after
event, so event ``i`` owns ``[sum(njet[:i]), sum(njet[:i+1]))``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import awkward as ak
import h5py
import numpy as np
import uproot

from systlab.atomic import atomic_path
from systlab.events import CANONICAL_FLAT, CANONICAL_JAGGED

#: Name of the counter branch / dataset shared by the jagged jet columns.
JET_COUNTER = "njet"
#: Value of the ``layout`` attribute of the HDF5 group written by ``write_hdf5``.
HDF5_LAYOUT = "systlab-canonical-v1"
#: Default ROOT compression (uproot's default codec); pass e.g. ``uproot.LZ4(1)`` to ``write_root``.
DEFAULT_COMPRESSION = uproot.ZLIB(1)
#: Events per ``extend`` / HDF5 append: bounds the memory of one write.
DEFAULT_CHUNK = 100_000

_JET_FIELDS = tuple(name.removeprefix("jet_") for name in CANONICAL_JAGGED)
_JET_TYPE = ak.types.from_datashape(
    "var * {" + ", ".join(f"{field}: float32" for field in _JET_FIELDS) + "}", highlevel=False
)


def write_root(
    events: ak.Array,
    path: str | os.PathLike,
    tree: str = "events",
    *,
    compression: uproot.compression.Compression | None = DEFAULT_COMPRESSION,
    chunk_size: int = DEFAULT_CHUNK,
) -> None:
    """Write canonical ``events`` as one TTree (flat branches + jets sharing counter ``njet``), atomically."""
    _check_canonical_fields(events)
    with atomic_path(path) as tmp:
        with uproot.recreate(tmp, compression=compression) as out:
            branch_types = {name: np.dtype(dtype) for name, dtype in CANONICAL_FLAT.items()}
            branch_types["jet"] = _JET_TYPE
            ttree = out.mktree(tree, branch_types, counter_name=lambda counted: "n" + counted)
            for chunk in _chunks(events, chunk_size):
                ttree.extend(_root_chunk(chunk))


def write_hdf5(
    events: ak.Array,
    path: str | os.PathLike,
    *,
    group: str = "events",
    chunk_size: int = DEFAULT_CHUNK,
) -> None:
    """Write canonical ``events`` in the HDF5 layout of the module docstring, chunk by chunk, atomically."""
    _check_canonical_fields(events)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
        grp = h5.create_group(group)
        grp.attrs["layout"] = HDF5_LAYOUT
        grp.attrs["n_events"] = len(events)
        datasets = _create_hdf5_datasets(grp)
        for chunk in _chunks(events, chunk_size):
            _append_hdf5_chunk(datasets, chunk)


def _check_canonical_fields(events: ak.Array) -> None:
    """Raise ValueError naming the canonical columns absent from ``events``."""
    missing = [name for name in (*CANONICAL_FLAT, *CANONICAL_JAGGED) if name not in events.fields]
    if missing:
        raise ValueError(f"events lack canonical columns {missing}")


def _chunks(events: ak.Array, chunk_size: int) -> Iterator[ak.Array]:
    """Yield consecutive slices of at most ``chunk_size`` events (views, no copy)."""
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    for start in range(0, len(events), chunk_size):
        yield events[start : start + chunk_size]


def _flat_columns(chunk: ak.Array) -> dict[str, np.ndarray]:
    """Flat canonical columns of ``chunk`` as contiguous numpy arrays of the canonical dtypes."""
    return {
        name: np.ascontiguousarray(ak.to_numpy(chunk[name]), dtype=dtype)
        for name, dtype in CANONICAL_FLAT.items()
    }


def _jet_counts_values(chunk: ak.Array) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Per-event jet counts (int32) and the flattened float32 values of each jet column."""
    counts = ak.to_numpy(ak.num(chunk[next(iter(CANONICAL_JAGGED))], axis=1)).astype(np.int32)
    values = {}
    for name, dtype in CANONICAL_JAGGED.items():
        if not np.array_equal(ak.to_numpy(ak.num(chunk[name], axis=1)), counts):
            raise ValueError(f"jagged column {name} has a jet multiplicity different from the others")
        values[name] = np.ascontiguousarray(ak.to_numpy(ak.flatten(chunk[name], axis=1)), dtype=dtype)
    return counts, values


def _root_chunk(chunk: ak.Array) -> dict[str, np.ndarray | ak.Array]:
    """Branch data for ``WritableTree.extend``: flat arrays + one ``jet`` record list (counter ``njet``)."""
    counts, values = _jet_counts_values(chunk)
    jets = ak.unflatten(ak.zip({field: values[f"jet_{field}"] for field in _JET_FIELDS}), counts)
    return {**_flat_columns(chunk), "jet": jets}


def _create_hdf5_datasets(grp: h5py.Group) -> dict[str, h5py.Dataset]:
    """Empty resizable 1-D datasets for every flat column, the jet counter and the jet values."""
    dtypes = {**CANONICAL_FLAT, JET_COUNTER: np.int32, **CANONICAL_JAGGED}
    return {
        name: grp.create_dataset(name, shape=(0,), maxshape=(None,), dtype=dtype, chunks=(65536,))
        for name, dtype in dtypes.items()
    }


def _append_hdf5_chunk(datasets: dict[str, h5py.Dataset], chunk: ak.Array) -> None:
    """Append one chunk of events to the datasets (per-event and per-jet lengths grow separately)."""
    counts, values = _jet_counts_values(chunk)
    for name, array in {**_flat_columns(chunk), JET_COUNTER: counts, **values}.items():
        dataset = datasets[name]
        start = dataset.shape[0]
        dataset.resize((start + len(array),))
        dataset[start:] = array
