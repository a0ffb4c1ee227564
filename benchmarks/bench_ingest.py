"""Ingestion: systlab's ROOT/HDF5 -> canonical Parquet throughput vs a bare uproot / h5py read.

Files are written with ``systlab.samples.rawio.write_root`` / ``write_hdf5`` from simulated Z->tautau events.
Contenders, interleaved in one run:

* ``systlab``  : ``ingest.ingest(simulated_spec(path), out, chunk_size)`` (read + validate + map +
  write Parquet -- the whole job of the rule)
* ``bare_np``  : ``uproot.open(path)["events"].arrays(all 13 branches, library="np")`` (the issue's
  baseline; jagged branches come back as object arrays of numpy arrays)
* ``bare_flat`` / ``bare_jagged``: the same for the 10 flat / 3 jagged branches only (breakdown)
* ``bare_ak``  : the same 13 branches with ``library="ak"`` (what ingest uses internally)
* HDF5: ``ingest.ingest(simulated_hdf5_spec(path), ...)`` vs ``{name: h5["events"][name][:]}``.

ratio = bare time / systlab time (throughput of systlab / throughput of the bare read); target >= 0.8.
Chunk cases: chunk_size < file (several chunks, what a big file sees) and chunk_size >= file.
"""

from __future__ import annotations

import time
from pathlib import Path

import awkward as ak
import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import uproot

try:
    from benchmarks.common import Figure, check, interleave, main_for, median, scratch
except ImportError:
    from common import Figure, check, interleave, main_for, median, scratch

from systlab.events import CANONICAL_FLAT, CANONICAL_JAGGED
from systlab.samples import ingest as ingest_mod
from systlab.samples.rawio import write_hdf5, write_root
from systlab.samples.simulate import simulate_process

FLAT = list(CANONICAL_FLAT)
JAGGED = list(CANONICAL_JAGGED)


def _bare_root(path: Path, branches: list[str], library: str = "np"):
    with uproot.open(path) as f:
        return f["events"].arrays(branches, library=library)


def _bare_h5(path: Path):
    with h5py.File(path, "r") as h5:
        g = h5["events"]
        return {name: g[name][:] for name in g}


def _bare_h5_pyarrow(path: Path, out: Path, chunk: int) -> None:
    """Bare h5py read of the 13 columns + njet, then a bare pyarrow write of them (systlab's codec/settings)."""
    columns = _bare_h5(path)
    offsets = np.zeros(len(columns["njet"]) + 1, dtype=np.int64)
    np.cumsum(columns["njet"], out=offsets[1:])
    schema = ingest_mod.pipeline.canonical_schema()  # the same non-nullable types (a constant)
    arrays = [pa.array(columns[name], type=schema.field(name).type) for name in FLAT]
    for name in JAGGED:
        values = pa.array(columns[name], type=schema.field(name).type.value_type)
        arrays.append(pa.LargeListArray.from_arrays(offsets, values, type=schema.field(name).type))
    table = pa.Table.from_arrays(arrays, schema=schema)
    pq.write_table(table, out, row_group_size=chunk, **ingest_mod.pipeline.PARQUET_OPTIONS)


def _read_only(spec, path: Path, chunk: int) -> list:
    """systlab's read phase alone (uproot.iterate / h5py slices + unflatten), via the private readers."""
    reader = ingest_mod.root.root_chunks if spec.format == "root" else ingest_mod.hdf5.hdf5_chunks
    return list(reader(spec, str(path), chunk))


def _breakdown(spec, path: Path, chunk: int) -> dict[str, float]:
    """One pass split into read, map to canonical, and Parquet write (private API)."""
    t0 = time.perf_counter()
    raw = _read_only(spec, path, chunk)
    t1 = time.perf_counter()
    tally = ingest_mod.pipeline.Tally()
    tables = list(ingest_mod.pipeline.canonical_chunks(spec, iter(raw), tally))
    t2 = time.perf_counter()
    out = path.with_suffix(".breakdown.parquet")
    ingest_mod.pipeline.write_row_groups(iter(tables), out, [str(path)])
    t3 = time.perf_counter()
    return {"read": t1 - t0, "to_canonical": t2 - t1, "write_parquet": t3 - t2}


def _add_breakdown(figures: list[Figure], fmt: str, spec, path: Path, chunk: int) -> None:
    try:
        parts = _breakdown(spec, path, chunk)
    except Exception as exc:  # private API changed: skip the breakdown only
        print(f"ingest breakdown skipped: {exc!r}")
        return
    total = sum(parts.values())
    figures.append(
        Figure(
            "ingest", f"{fmt} systlab time share: Parquet write", parts["write_parquet"] / total,
            "fraction of one ingest pass (single run)", seconds=parts,
        )
    )  # fmt: skip


def run(quick: bool = False) -> list[Figure]:
    generated = 1_000_000 if quick else 3_000_000
    repeats = 3 if quick else 5
    figures = []
    with scratch("ingest") as tmp:
        tmp = Path(tmp)
        events = simulate_process("ztautau", generated, seed=11)
        n = len(events)
        root, h5 = tmp / "z.root", tmp / "z.h5"
        write_root(events, root)
        write_hdf5(events, h5)
        del events
        out, bare_out = tmp / "out.parquet", tmp / "bare.parquet"
        chunks = {"multi-chunk": max(n // 4, 1), "one-chunk": n + 1}
        spec_root = ingest_mod.simulated_spec(root)
        spec_h5 = ingest_mod.simulated_hdf5_spec(h5)
        for label, chunk in chunks.items():
            times = interleave(
                {
                    "systlab": lambda c=chunk: ingest_mod.ingest(spec_root, out, c),
                    "systlab_read": lambda c=chunk: _read_only(spec_root, root, c),
                    "bare_np": lambda: _bare_root(root, FLAT + JAGGED),
                    "bare_flat": lambda: _bare_root(root, FLAT),
                    "bare_jagged": lambda: _bare_root(root, JAGGED),
                    "bare_ak": lambda: _bare_root(root, FLAT + JAGGED, "ak"),
                },
                repeats,
            )
            med = {k: median(v) for k, v in times.items()}
            ratio = med["bare_np"] / med["systlab"]
            figures.append(
                Figure(
                    "ingest", f"ROOT systlab/bare-uproot-np ({label}, {n} ev)", ratio,
                    "bare np read time / systlab ingest time", ">= 0.8", check(ratio, ">=", 0.8), med,
                    extra={"events": n, "chunk_size": chunk, "events_per_s_systlab": n / med["systlab"],
                           "file_bytes": root.stat().st_size, "vs_bare_ak": med["bare_ak"] / med["systlab"],
                           "flat_share_of_bare": med["bare_flat"] / med["bare_np"],
                           "jagged_share_of_bare": med["bare_jagged"] / med["bare_np"]},
                )
            )  # fmt: skip
            figures.append(
                Figure(
                    "ingest", f"ROOT read phase only: bare-np/systlab ({label})",
                    med["bare_np"] / med["systlab_read"], "bare np time / systlab read-phase time",
                    seconds={"systlab_read": med["systlab_read"], "bare_np": med["bare_np"]},
                )
            )  # fmt: skip
            figures.append(
                Figure(
                    "ingest", f"ROOT systlab/bare-uproot-ak ({label})", med["bare_ak"] / med["systlab"],
                    "bare ak read time / systlab ingest time", seconds={"systlab": med["systlab"],
                                                                         "bare_ak": med["bare_ak"]},
                )
            )  # fmt: skip
            if label == "multi-chunk":
                figures.append(
                    Figure(
                        "ingest", "ROOT bare jagged/flat read cost (3 vs 10 branches)",
                        med["bare_jagged"] / med["bare_flat"], "bare jagged time / bare flat time",
                        seconds={"bare_flat": med["bare_flat"], "bare_jagged": med["bare_jagged"]},
                    )
                )  # fmt: skip
                _add_breakdown(figures, "ROOT", spec_root, root, chunk)
            times = interleave(
                {
                    "systlab": lambda c=chunk: ingest_mod.ingest(spec_h5, out, c),
                    "systlab_read": lambda c=chunk: _read_only(spec_h5, h5, c),
                    "bare_h5py": lambda: _bare_h5(h5),
                    "bare_h5py_pyarrow": lambda c=chunk: _bare_h5_pyarrow(h5, bare_out, c),
                    "next_read": lambda: ak.from_parquet(out),
                },
                repeats,
            )
            med = {k: median(v) for k, v in times.items()}
            ratio = med["bare_h5py"] / med["systlab"]
            fair = med["bare_h5py_pyarrow"] / med["systlab"]
            if label == "multi-chunk":
                _add_breakdown(figures, "HDF5", spec_h5, h5, chunk)
            figures.append(
                Figure(
                    "ingest", f"HDF5 read phase only: bare/systlab ({label})",
                    med["bare_h5py"] / med["systlab_read"], "bare h5py time / systlab read-phase time",
                    seconds={"systlab_read": med["systlab_read"], "bare_h5py": med["bare_h5py"]},
                )
            )  # fmt: skip
            figures.append(
                Figure(
                    "ingest", f"HDF5 systlab/bare-h5py ({label})", ratio, "bare h5py time / systlab ingest time",
                    ">= 0.8", check(ratio, ">=", 0.8), med,
                    extra={"events": n, "chunk_size": chunk, "file_bytes": h5.stat().st_size,
                           "parquet_bytes": out.stat().st_size},
                )
            )  # fmt: skip
            figures.append(
                Figure(
                    "ingest", f"HDF5 systlab/(bare h5py + bare pyarrow write) ({label})", fair,
                    "bare read+write time / systlab ingest time", ">= 0.8 (proposed)", check(fair, ">=", 0.8),
                    {"systlab": med["systlab"], "bare_h5py_pyarrow": med["bare_h5py_pyarrow"],
                     "bare_h5py": med["bare_h5py"]},
                )
            )  # fmt: skip
            figures.append(
                Figure(
                    "ingest", f"HDF5 next stage read: ak.from_parquet/bare h5py ({label})",
                    med["next_read"] / med["bare_h5py"], "ak.from_parquet(output) time / bare h5py read time",
                    seconds={"next_read": med["next_read"], "bare_h5py": med["bare_h5py"]},
                )
            )  # fmt: skip
    return figures


if __name__ == "__main__":
    main_for(run)
