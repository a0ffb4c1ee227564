"""Ingest's Parquet writer: the same table as the awkward writer it replaced, atomic on every failure."""

from __future__ import annotations

from itertools import chain
from pathlib import Path

import awkward as ak
import numpy as np
import pyarrow.parquet as pq
import pytest

from systlab.events import CANONICAL_COLUMNS
from systlab.samples import rawio
from systlab.samples.ingest import IngestError, InputSpec, ingest, pipeline, simulated_hdf5_spec, simulated_spec
from systlab.samples.ingest.formats import reader
from test_ingest import make_events

N_EVENTS = 1000


@pytest.fixture(scope="module")
def events() -> ak.Array:
    return make_events(N_EVENTS, seed=5, first_id=3)


@pytest.fixture(scope="module")
def raw_files(events: ak.Array, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("raw")
    rawio.write_root(events, folder / "sim.root", chunk_size=300)
    rawio.write_hdf5(events, folder / "sim.h5", chunk_size=300)
    return {"root": folder / "sim.root", "hdf5": folder / "sim.h5"}


def spec_of(fmt: str, raw_files: dict[str, Path]) -> InputSpec:
    return simulated_spec(raw_files["root"]) if fmt == "root" else simulated_hdf5_spec(raw_files["hdf5"])


def awkward_writer_output(spec: InputSpec, path: Path, chunk_size: int) -> None:
    """The writer ingest used before: ``ak.to_parquet_row_groups`` of the canonical chunks."""
    read = reader(spec.format)
    raw = (chunk for file in spec.files for chunk in read(spec, file, chunk_size))
    chunks = pipeline.canonical_chunks(spec, raw, pipeline.Tally())
    ak.to_parquet_row_groups(chain([next(chunks)], chunks), path)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# ------------------------------------------------------------------ same table as the awkward writer


@pytest.mark.parametrize("chunk_size", [170, 10**6], ids=["multi-chunk", "one-chunk"])
@pytest.mark.parametrize("fmt", ["root", "hdf5"])
def test_same_table_as_the_awkward_writer(
    fmt: str, chunk_size: int, raw_files: dict[str, Path], events: ak.Array, tmp_path: Path
) -> None:
    spec = spec_of(fmt, raw_files)
    ingest(spec, tmp_path / "new.parquet", chunk_size)
    awkward_writer_output(spec, tmp_path / "old.parquet", chunk_size)
    new, old = pq.ParquetFile(tmp_path / "new.parquet"), pq.ParquetFile(tmp_path / "old.parquet")
    assert new.num_row_groups == old.num_row_groups == -(-N_EVENTS // chunk_size)
    assert new.read().equals(old.read(), check_metadata=True)  # columns, types, values, order, schema metadata
    table = ak.from_parquet(tmp_path / "new.parquet")
    assert table.layout.form == ak.from_parquet(tmp_path / "old.parquet").layout.form
    assert ak.array_equal(table, events[list(CANONICAL_COLUMNS)], dtype_exact=True)


@pytest.mark.parametrize("fmt", ["root", "hdf5"])
def test_byte_identical_to_the_awkward_writer_with_its_codec(
    fmt: str, raw_files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(pipeline.PARQUET_OPTIONS, "compression", "zstd")
    spec = spec_of(fmt, raw_files)
    ingest(spec, tmp_path / "new.parquet", 170)
    awkward_writer_output(spec, tmp_path / "old.parquet", 170)
    assert (tmp_path / "new.parquet").read_bytes() == (tmp_path / "old.parquet").read_bytes()


def test_parquet_settings(raw_files: dict[str, Path], tmp_path: Path) -> None:
    ingest(spec_of("hdf5", raw_files), tmp_path / "out.parquet", 400)
    meta = pq.ParquetFile(tmp_path / "out.parquet").metadata
    for group in range(meta.num_row_groups):
        for column in range(meta.num_columns):
            chunk = meta.row_group(group).column(column)
            assert chunk.compression == "LZ4" and not chunk.has_dictionary_page and chunk.is_stats_set
    assert pq.read_schema(tmp_path / "out.parquet").equals(pipeline.canonical_schema(), check_metadata=True)


# ------------------------------------------------------------- mapping: picks, scales, cuts, yield


def jet_mapping(fmt: str, path: Path) -> dict:
    """lep := leading jet (pt x 2), jet_pt x 0.5, jets with scaled pt >= 20 kept, weights to a yield of 10."""
    jagged = {"counts": "njet"} if fmt == "hdf5" else {}
    columns = {name: {"branch": name} for name in ("tau_pt", "tau_eta", "tau_phi", "met_pt", "met_phi", "weight")}
    columns["lep_pt"] = {"branch": "jet_pt", "object": 0, "scale": 2.0, **jagged}
    columns["lep_eta"] = {"branch": "jet_eta", "object": 0, **jagged}
    columns["lep_phi"] = {"branch": "jet_phi", "object": 0, **jagged}
    columns["jet_pt"] = {"branch": "jet_pt", "scale": 0.5, **jagged}
    columns["jet_eta"] = {"branch": "jet_eta", **jagged}
    columns["jet_phi"] = {"branch": "jet_phi", **jagged}
    where = {"group": "events"} if fmt == "hdf5" else {"tree": "events"}
    return {"format": fmt, "files": [str(path)], **where, "columns": columns, "selection": {"jet_min_pt": 20.0},
            "yield": 10.0}  # fmt: skip


@pytest.mark.parametrize("fmt", ["root", "hdf5"])
def test_object_picks_scales_cuts_and_yield(
    fmt: str, raw_files: dict[str, Path], events: ak.Array, tmp_path: Path
) -> None:
    spec = InputSpec.from_mapping(jet_mapping(fmt, raw_files[fmt]), where="test")
    summary = ingest(spec, tmp_path / "out.parquet", 170)
    table = ak.from_parquet(tmp_path / "out.parquet")
    kept_events = np.flatnonzero(ak.to_numpy(ak.num(events.jet_pt)) > 0)
    ev = events[kept_events]
    jet_pt = ev.jet_pt * 0.5
    keep_jets = jet_pt >= 20.0
    np.testing.assert_array_equal(table.event_id.to_numpy(), kept_events.astype(np.uint64))  # running index
    np.testing.assert_array_equal(table.lep_pt.to_numpy(), ak.to_numpy(ev.jet_pt[:, 0] * 2.0).astype(np.float32))
    np.testing.assert_array_equal(table.lep_eta.to_numpy(), ak.to_numpy(ev.jet_eta[:, 0]))
    assert ak.array_equal(table.jet_pt, jet_pt[keep_jets], dtype_exact=True)
    assert ak.array_equal(table.jet_phi, ev.jet_phi[keep_jets], dtype_exact=True)
    weights = ak.to_numpy(ev.weight)
    np.testing.assert_allclose(table.weight.to_numpy(), weights * (10.0 / weights.sum()), rtol=1e-15)
    assert summary.events_written == len(kept_events) and summary.sum_weights == pytest.approx(10.0)
    assert pq.read_schema(tmp_path / "out.parquet").equals(pipeline.canonical_schema(), check_metadata=True)
    assert pq.ParquetFile(tmp_path / "out.parquet").metadata.row_group(0).column(0).compression == "LZ4"
    assert leftovers(tmp_path) == [] and not list(tmp_path.glob("*.unscaled"))


# ----------------------------------------------------------------------- atomic on every failure


def fail_on_call(number: int, function):
    """``function`` that raises RuntimeError on its ``number``-th call."""
    calls = []

    def wrapped(*args, **kwargs):
        calls.append(1)
        if len(calls) == number:
            raise RuntimeError("injected failure")
        return function(*args, **kwargs)

    return wrapped


@pytest.mark.parametrize("where", ["producer", "writer thread"])
@pytest.mark.parametrize("fmt", ["root", "hdf5"])
def test_failure_mid_file_leaves_the_old_output_and_nothing_else(
    fmt: str, where: str, raw_files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out.parquet"
    out.write_bytes(b"previous output")
    if where == "producer":  # the third chunk fails while the second one is being written
        monkeypatch.setattr(pipeline, "arrow_table", fail_on_call(3, pipeline.arrow_table))
    else:
        monkeypatch.setattr(pq.ParquetWriter, "write_table", fail_on_call(2, pq.ParquetWriter.write_table))
    with pytest.raises(RuntimeError, match="injected failure"):
        ingest(spec_of(fmt, raw_files), out, 170)
    assert out.read_bytes() == b"previous output"
    assert leftovers(tmp_path) == []


def test_bad_values_in_a_later_chunk_leave_nothing(events: ak.Array, tmp_path: Path) -> None:
    tau_eta = ak.to_numpy(events.tau_eta).copy()
    tau_eta[N_EVENTS - 3] = np.nan
    rawio.write_hdf5(ak.with_field(events, tau_eta, "tau_eta"), tmp_path / "nan.h5")
    with pytest.raises(IngestError, match=r"nan\.h5: column 'tau_eta' .*1 NaN/inf"):
        ingest(simulated_hdf5_spec(tmp_path / "nan.h5"), tmp_path / "out.parquet", 100)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nan.h5"]
