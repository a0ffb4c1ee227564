"""Ingestion: raw ROOT/HDF5 (ours and other people's) -> one canonical Parquet table per process."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import h5py
import numpy as np
import pytest
import uproot
import yaml

from systlab.events import CANONICAL_COLUMNS, CANONICAL_FLAT, CANONICAL_JAGGED
from systlab.samples import rawio
from systlab.samples.ingest import (
    IngestError,
    InputSpec,
    ingest,
    read_canonical,
    simulated_hdf5_spec,
    simulated_spec,
)

ROOT_DIR = Path(__file__).resolve().parents[1]
DATA = ROOT_DIR / "tests" / "data"
NANOAOD = DATA / "nanoAOD_2015_CMS_Open_Data_ttbar.root"
HZZ = DATA / "uproot-HZZ.root"
ZMUMU = DATA / "uproot-Zmumu.root"
EXAMPLE_CONFIG = ROOT_DIR / "config" / "nanoaod_example.yaml"

EXPECTED_RECORD = (
    "{"
    + ", ".join(
        [f"{name}: {np.dtype(dtype).name}" for name, dtype in CANONICAL_FLAT.items()]
        + [f"{name}: var * {np.dtype(dtype).name}" for name, dtype in CANONICAL_JAGGED.items()]
    )
    + "}"
)


def make_events(n: int, seed: int = 1, first_id: int = 1000) -> ak.Array:
    """Canonical events with random kinematics, 0-4 jets per event (so some have none)."""
    rng = np.random.default_rng(seed)
    columns = {
        "event_id": np.arange(first_id, first_id + n, dtype=np.uint64) * 7,
        "weight": rng.uniform(0.1, 2.0, n),
    }
    for name in CANONICAL_FLAT:
        if name not in columns:
            columns[name] = rng.normal(30.0, 10.0, n).astype(np.float32)
    counts = rng.integers(0, 5, n)
    for name in CANONICAL_JAGGED:
        columns[name] = ak.unflatten(rng.normal(40.0, 15.0, counts.sum()).astype(np.float32), counts)
    return ak.zip(columns, depth_limit=1)


@pytest.fixture(scope="module")
def events() -> ak.Array:
    return make_events(257)


@pytest.fixture
def root_file(tmp_path: Path, events: ak.Array) -> Path:
    path = tmp_path / "sim.root"
    rawio.write_root(events, path, chunk_size=100)
    return path


@pytest.fixture
def h5_file(tmp_path: Path, events: ak.Array) -> Path:
    path = tmp_path / "sim.h5"
    rawio.write_hdf5(events, path, chunk_size=100)
    return path


def nanoaod_mapping() -> dict:
    """The ttbar input of the example config, as a plain dict, with the file path made absolute."""
    mapping = yaml.safe_load(EXAMPLE_CONFIG.read_text())["inputs"]["ttbar"]
    mapping["files"] = [str(ROOT_DIR / f) for f in mapping["files"]]
    return mapping


def hzz_mapping() -> dict:
    """HZZ muons: tau := second muon, lepton := leading muon, kinematics built from Px/Py/Pz by expr."""
    pt = "sqrt(Muon_Px**2 + Muon_Py**2)"
    columns = {
        "tau_pt": {"expr": pt, "object": 1},
        "tau_eta": {"expr": f"arcsinh(Muon_Pz / {pt})", "object": 1},
        "tau_phi": {"expr": "arctan2(Muon_Py, Muon_Px)", "object": 1},
        "lep_pt": {"expr": pt, "object": 0},
        "lep_eta": {"expr": f"arcsinh(Muon_Pz / {pt})", "object": 0},
        "lep_phi": {"expr": "arctan2(Muon_Py, Muon_Px)", "object": 0},
        "met_pt": {"expr": "sqrt(MET_px**2 + MET_py**2)"},
        "met_phi": {"expr": "arctan2(MET_py, MET_px)"},
        "jet_pt": {"expr": "sqrt(Jet_Px**2 + Jet_Py**2)"},
        "jet_eta": {"expr": "arcsinh(Jet_Pz / sqrt(Jet_Px**2 + Jet_Py**2))"},
        "jet_phi": {"expr": "arctan2(Jet_Py, Jet_Px)"},
        "weight": {"branch": "EventWeight"},
    }
    return {"format": "root", "files": [str(HZZ)], "tree": "events", "columns": columns}


def ingest_mapping(mapping: dict, out: Path, chunk_size: int = 1000) -> ak.Array:
    ingest(InputSpec.from_mapping(mapping, where="test"), out, chunk_size)
    return read_canonical(out)


# ------------------------------------------------------------------------------------- round trips


def test_write_root_branch_names(root_file: Path) -> None:
    tree = uproot.open(root_file)["events"]
    assert tree.keys() == [*CANONICAL_FLAT, "njet", *CANONICAL_JAGGED]
    assert tree["njet"].typename == "int32_t"
    assert all(tree[name].typename == "float[]" for name in CANONICAL_JAGGED)
    assert tree["event_id"].typename == "uint64_t" and tree["weight"].typename == "double"


def test_write_hdf5_layout(h5_file: Path, events: ak.Array) -> None:
    with h5py.File(h5_file) as h5:
        group = h5["events"]
        assert set(group) == {*CANONICAL_COLUMNS, "njet"}
        assert group.attrs["layout"] == rawio.HDF5_LAYOUT
        assert group["njet"].shape == (len(events),)
        assert group["jet_pt"].shape == (int(ak.sum(ak.num(events.jet_pt))),)
        assert group["event_id"].dtype == np.uint64 and group["tau_pt"].dtype == np.float32


@pytest.mark.parametrize("fmt", ["root", "hdf5"])
def test_round_trip_exact(fmt: str, root_file: Path, h5_file: Path, events: ak.Array, tmp_path: Path) -> None:
    spec = simulated_spec(root_file) if fmt == "root" else simulated_hdf5_spec(h5_file)
    summary = ingest(spec, tmp_path / "out.parquet", chunk_size=1000)
    table = read_canonical(tmp_path / "out.parquet")
    assert str(ak.type(table)) == f"{len(events)} * {EXPECTED_RECORD}"
    assert ak.array_equal(table, events[list(CANONICAL_COLUMNS)], dtype_exact=True)
    assert summary.events_read == summary.events_written == len(events)
    assert summary.sum_weights == pytest.approx(float(np.sum(events.weight)))


@pytest.mark.parametrize("fmt", ["root", "hdf5"])
def test_chunked_read_equals_single_chunk(fmt: str, root_file: Path, h5_file: Path, tmp_path: Path) -> None:
    spec = simulated_spec(root_file) if fmt == "root" else simulated_hdf5_spec(h5_file)
    ingest(spec, tmp_path / "one.parquet", chunk_size=10**6)
    ingest(spec, tmp_path / "many.parquet", chunk_size=13)
    assert ak.metadata_from_parquet(tmp_path / "many.parquet")["num_row_groups"] > 1
    assert ak.array_equal(read_canonical(tmp_path / "one.parquet"), read_canonical(tmp_path / "many.parquet"))


def test_several_files_and_glob_concatenate(tmp_path: Path) -> None:
    first, second = make_events(40, seed=2), make_events(25, seed=3, first_id=9000)
    rawio.write_root(first, tmp_path / "part_a.root")
    rawio.write_root(second, tmp_path / "part_b.root")
    spec = simulated_spec(tmp_path / "part_a.root")
    mapping = {
        "format": "root",
        "files": [str(tmp_path / "part_*.root")],
        "columns": {c.name: {"branch": c.branch} for c in spec.columns if c.name != "event_id"},
    }
    table = ingest_mapping(mapping, tmp_path / "out.parquet", chunk_size=16)
    expected = ak.concatenate([first, second])
    assert ak.array_equal(table[list(CANONICAL_COLUMNS)[1:]], expected[list(CANONICAL_COLUMNS)[1:]])
    np.testing.assert_array_equal(table.event_id, np.arange(65, dtype=np.uint64))  # running index


def test_a_directory_stands_for_its_root_files_and_one_without_any_is_named(tmp_path: Path) -> None:
    """``files: [a_directory]`` reads its .root/.h5 files in name order (other files ignored), as the glob does; a
    directory holding none is a one-line error naming it (before: "file missing")."""
    data = tmp_path / "ntuples"
    data.mkdir()
    first, second = make_events(40, seed=2), make_events(25, seed=3, first_id=9000)
    rawio.write_root(first, data / "part_a.root")
    rawio.write_root(second, data / "part_b.root")
    (data / "README.txt").write_text("not data")
    spec = simulated_spec(data / "part_a.root")
    columns = {c.name: {"branch": c.branch} for c in spec.columns if c.name != "event_id"}
    table = ingest_mapping({"format": "root", "files": [str(data)], "columns": columns}, tmp_path / "out.parquet")
    expected = ak.concatenate([first, second])
    assert ak.array_equal(table[list(CANONICAL_COLUMNS)[1:]], expected[list(CANONICAL_COLUMNS)[1:]])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(IngestError, match=rf"{empty}: directory without a \.root/\.h5/\.hdf5/\.he5 file"):
        ingest_mapping({"format": "root", "files": [str(empty)], "columns": columns}, tmp_path / "none.parquet")


FLAT_NAMES = [name for name in CANONICAL_FLAT if name != "event_id"]


@pytest.mark.parametrize("layout", ["2d-named", "2d-index", "compound"])
def test_hdf5_table_columns_by_name_index_or_field(layout: str, events: ak.Array, tmp_path: Path) -> None:
    """An event generator's HDF5 layout: the flat quantities as columns of one 2-D table (names in an attribute, or
    picked by index) or as fields of a compound dataset, jets as values + counts; the canonical table equals the one
    from the same events in systlab's own HDF5 layout."""
    rawio.write_hdf5(events, tmp_path / "own.h5")
    reference = ingest_mapping(
        {**_hdf5_identity(tmp_path / "own.h5")}, tmp_path / "own.parquet")  # fmt: skip
    table = np.column_stack([ak.to_numpy(events[name]).astype(np.float64) for name in FLAT_NAMES])
    with h5py.File(tmp_path / "gen.h5", "w") as h5:
        group = h5.create_group("events")
        if layout == "compound":
            rows = np.zeros(len(events), dtype=[(name, np.float64) for name in FLAT_NAMES])
            for k, name in enumerate(FLAT_NAMES):
                rows[name] = table[:, k]
            group.create_dataset("table", data=rows)
        else:
            group.create_dataset("table", data=table).attrs["columns"] = FLAT_NAMES
        jets = {name: ak.to_numpy(ak.flatten(events[name])) for name in CANONICAL_JAGGED}
        for name, values in jets.items():
            group.create_dataset(name, data=values)
        group.create_dataset("njet", data=ak.to_numpy(ak.num(events.jet_pt)))
    pick = (lambda k, name: str(k)) if layout == "2d-index" else (lambda k, name: name)
    columns = {name: {"branch": f"table:{pick(k, name)}"} for k, name in enumerate(FLAT_NAMES)}
    columns.update({name: {"branch": name, "counts": "njet"} for name in CANONICAL_JAGGED})
    mapping = {"format": "hdf5", "files": [str(tmp_path / "gen.h5")], "group": "events", "columns": columns}
    result = ingest_mapping(mapping, tmp_path / "gen.parquet")
    assert len(result) == len(events) and ak.array_equal(result, reference)
    columns["tau_pt"] = {"branch": "table:tau_ptt"}
    with pytest.raises(IngestError, match=r"gen.h5: column 'tau_pt': dataset 'table:tau_ptt'.*no (column|field)"):
        ingest_mapping(mapping, tmp_path / "bad.parquet")


def test_hdf5_expr_computes_a_column_from_datasets(events: ak.Array, tmp_path: Path) -> None:
    """``expr:`` on HDF5 (MET from its components, arithmetic and numpy functions of 1-D datasets): the values of the
    direct computation; an unknown dataset or a disallowed construct is a one-line error naming the column."""
    rawio.write_hdf5(events, tmp_path / "own.h5")
    met_pt, met_phi = (ak.to_numpy(events[name]).astype(np.float64) for name in ("met_pt", "met_phi"))
    with h5py.File(tmp_path / "own.h5", "a") as h5:
        h5["events"].create_dataset("met_px", data=met_pt * np.cos(met_phi))
        h5["events"].create_dataset("met_py", data=met_pt * np.sin(met_phi))
    mapping = _hdf5_identity(tmp_path / "own.h5")
    mapping["columns"]["met_pt"] = {"expr": "hypot(met_px, met_py) * 1000", "scale": 0.001}
    mapping["columns"]["met_phi"] = {"expr": "arctan2(met_py, met_px)"}
    table = ingest_mapping(mapping, tmp_path / "out.parquet")
    np.testing.assert_allclose(ak.to_numpy(table.met_pt), met_pt, rtol=1e-6)
    np.testing.assert_allclose(ak.to_numpy(table.met_phi), np.arctan2(np.sin(met_phi), np.cos(met_phi)), atol=1e-5)
    for expr, needle in (("hypot(met_px, met_pz)", r"own.h5: column 'met_pt'.*dataset 'met_pz' missing"),
                         ("met_px.real", r"columns.met_pt.expr: .*'met_px.real' is not allowed"),
                         ("__import__('os').getcwd()", r"columns.met_pt.expr: .*is not allowed"),
                         ("3.0 * 2", r"columns.met_pt.expr: .*reads no dataset \(a constant: use value")):  # fmt: skip
        mapping["columns"]["met_pt"] = {"expr": expr}  # syntax is checked with the mapping, before any file is read
        with pytest.raises(IngestError, match=needle):
            ingest_mapping(mapping, tmp_path / "bad.parquet")


def _hdf5_identity(path: Path) -> dict:
    columns = {name: {"branch": name} for name in FLAT_NAMES}
    columns.update({name: {"branch": name, "counts": "njet"} for name in CANONICAL_JAGGED})
    return {"format": "hdf5", "files": [str(path)], "group": "events", "columns": columns}


def test_a_flat_ntuple_without_jets_gives_every_event_no_jet(events: ak.Array, tmp_path: Path) -> None:
    """A mapping without jet columns (a flat ntuple, no jet branches): the other columns as mapped, no jet in any
    event; mapping only some jet columns is a one-line error naming the missing ones."""
    flat = {name: ak.to_numpy(events[name]) for name in CANONICAL_COLUMNS if name not in ("jet_pt", "jet_eta",
                                                                                         "jet_phi")}  # fmt: skip
    with uproot.recreate(tmp_path / "flat.root") as out:
        out["tree"] = flat
    columns = {name: {"branch": name} for name in flat}
    mapping = {"format": "root", "files": [str(tmp_path / "flat.root")], "tree": "tree", "columns": columns}
    table = ingest_mapping(mapping, tmp_path / "out.parquet")
    assert len(table) == len(events) and ak.all(ak.num(table.jet_pt) == 0) and ak.all(ak.num(table.jet_phi) == 0)
    for name in flat:
        np.testing.assert_array_equal(ak.to_numpy(table[name]), ak.to_numpy(events[name]).astype(ak.to_numpy(
            table[name]).dtype))  # fmt: skip
    partial = {**mapping, "columns": {**columns, "jet_pt": {"branch": "tau_pt"}}}
    with pytest.raises(IngestError, match=r"jet columns \['jet_pt'\] mapped without \['jet_eta', 'jet_phi'\]"):
        ingest_mapping(partial, tmp_path / "partial.parquet")


def test_an_rntuple_reads_as_its_ttree_does(events: ak.Array, tmp_path: Path) -> None:
    """The same events written as an RNTuple (uproot's writer) and as a TTree give the same canonical table; an
    ``expr:`` on an RNTuple is refused with the column named (uproot would drop it silently)."""
    with uproot.recreate(tmp_path / "rntuple.root") as out:
        out.mkrntuple("events", ak.Array({name: events[name] for name in CANONICAL_COLUMNS}))
    rawio.write_root(events, tmp_path / "ttree.root")
    spec = simulated_spec(tmp_path / "rntuple.root")
    ingest(spec, tmp_path / "from_rntuple.parquet", chunk_size=100)
    ingest(simulated_spec(tmp_path / "ttree.root"), tmp_path / "from_ttree.parquet", chunk_size=100)
    from_rntuple, from_ttree = (read_canonical(tmp_path / f"from_{k}.parquet") for k in ("rntuple", "ttree"))
    assert len(from_rntuple) == len(events) and ak.array_equal(from_rntuple, from_ttree)
    columns = {c.name: {"branch": c.branch} for c in spec.columns}
    columns["met_phi"] = {"expr": "met_phi * 1"}
    mapping = {"format": "root", "files": [str(tmp_path / "rntuple.root")], "tree": "events", "columns": columns}
    with pytest.raises(IngestError, match=r"rntuple.root: column 'met_phi': expr: is read from TTrees only"):
        ingest_mapping(mapping, tmp_path / "expr.parquet")


@pytest.mark.parametrize("codec", [uproot.ZLIB(4), uproot.LZ4(1), uproot.LZMA(2), uproot.ZSTD(3)], ids=repr)
def test_every_compression_codec(codec, events: ak.Array, tmp_path: Path) -> None:
    path = tmp_path / "codec.root"
    rawio.write_root(events, path, compression=codec)
    assert type(uproot.open(path).file.compression) is type(codec)
    ingest(simulated_spec(path), tmp_path / "out.parquet", chunk_size=100)
    assert ak.array_equal(read_canonical(tmp_path / "out.parquet"), events[list(CANONICAL_COLUMNS)])


def test_scale_and_jet_selection(root_file: Path, events: ak.Array, tmp_path: Path) -> None:
    mapping = {"format": "root", "files": [str(root_file)]}
    mapping["columns"] = {name: {"branch": name} for name in CANONICAL_COLUMNS}
    mapping["columns"]["met_pt"] = {"branch": "met_pt", "scale": 0.001}
    mapping["selection"] = {"jet_min_pt": 40.0}
    table = ingest_mapping(mapping, tmp_path / "out.parquet", chunk_size=50)
    np.testing.assert_array_equal(table.met_pt.to_numpy(), events.met_pt.to_numpy() * np.float32(0.001))
    keep = events.jet_pt >= 40.0
    assert ak.array_equal(table.jet_pt, events.jet_pt[keep]) and ak.array_equal(
        table.jet_phi, events.jet_phi[keep]
    )


# --------------------------------------------------------------------------------- real ROOT files


def test_nanoaod_mapping_by_config_alone(tmp_path: Path) -> None:
    mapping = nanoaod_mapping()
    summary = ingest(
        InputSpec.from_mapping(mapping, "inputs.ttbar"), tmp_path / "ttbar.parquet", chunk_size=64
    )
    table = read_canonical(tmp_path / "ttbar.parquet")
    raw = uproot.open(NANOAOD)["Events"].arrays(["Tau_pt", "Muon_pt", "Jet_pt", "Jet_eta", "event"])
    has_both = (ak.num(raw.Tau_pt) >= 1) & (ak.num(raw.Muon_pt) >= 1)
    assert summary.events_read == 200
    assert len(table) == summary.events_written == int(ak.sum(has_both)) > 0
    np.testing.assert_array_equal(table.tau_pt.to_numpy(), raw.Tau_pt[has_both][:, 0].to_numpy())
    np.testing.assert_array_equal(table.event_id.to_numpy(), raw.event[has_both].to_numpy())
    assert float(np.sum(table.weight.to_numpy())) == pytest.approx(44190.0, rel=1e-9)
    jets = raw[has_both]
    good = (jets.Jet_pt >= 20.0) & (abs(jets.Jet_eta) <= 4.7)
    assert ak.array_equal(table.jet_pt, jets.Jet_pt[good])
    assert str(ak.type(table)) == f"{len(table)} * {EXPECTED_RECORD}"


def test_hzz_expr_mapping(tmp_path: Path) -> None:
    table = ingest_mapping(hzz_mapping(), tmp_path / "hzz.parquet", chunk_size=500)
    raw = uproot.open(HZZ)["events"].arrays(
        ["Muon_Px", "Muon_Py", "Muon_Pz", "MET_px", "MET_py", "EventWeight"]
    )
    two_muons = raw[ak.num(raw.Muon_Px) >= 2]
    pt = np.sqrt(two_muons.Muon_Px**2 + two_muons.Muon_Py**2)
    assert len(table) == len(two_muons) > 0
    np.testing.assert_allclose(table.lep_pt.to_numpy(), pt[:, 0].to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(table.tau_pt.to_numpy(), pt[:, 1].to_numpy(), rtol=1e-6)
    eta = np.arcsinh(two_muons.Muon_Pz[:, 0] / pt[:, 0]).to_numpy()
    np.testing.assert_allclose(table.lep_eta.to_numpy(), eta, rtol=1e-5, atol=1e-6)
    met_phi = np.arctan2(two_muons.MET_py, two_muons.MET_px).to_numpy()
    np.testing.assert_allclose(table.met_phi.to_numpy(), met_phi, rtol=1e-6)
    np.testing.assert_array_equal(
        table.weight.to_numpy(), two_muons.EventWeight.to_numpy().astype(np.float64)
    )
    assert table.event_id.to_numpy()[0] == np.flatnonzero(ak.num(raw.Muon_Px).to_numpy() >= 2)[0]


# --------------------------------------------------------------------------------------- bad input


def _mutate_nanoaod(**columns) -> dict:
    mapping = nanoaod_mapping()
    mapping["columns"].update(columns)
    return mapping


def _write_events(path: Path, events: ak.Array) -> Path:
    rawio.write_root(events, path)
    return path


@pytest.mark.parametrize(
    ("make", "needles"),
    [
        pytest.param(
            lambda d: {**nanoaod_mapping(), "files": [str(d / "nope.root")]},
            ["nope.root", "files"],
            id="file-missing",
        ),
        pytest.param(
            lambda d: {**nanoaod_mapping(), "files": [str(d / "none_*.root")]},
            ["none_*.root", "files"],
            id="glob-matches-nothing",
        ),
        pytest.param(
            lambda d: {**nanoaod_mapping(), "tree": "Evnts"},
            [NANOAOD.name, "Evnts", "tree"],
            id="tree-missing",
        ),
        pytest.param(
            lambda d: _mutate_nanoaod(tau_eta={"branch": "Tau_etaa", "object": 0}),
            [NANOAOD.name, "tau_eta", "Tau_etaa", "missing"],
            id="branch-missing",
        ),
        pytest.param(
            lambda d: _mutate_nanoaod(met_pt={"branch": "HLT_IsoMu20"}),
            [NANOAOD.name, "met_pt", "HLT_IsoMu20", "not numeric"],
            id="bool-branch",
        ),
        pytest.param(
            lambda d: _mutate_nanoaod(met_pt={"branch": "Jet_pt"}),
            [NANOAOD.name, "met_pt", "Jet_pt", "jagged source where flat"],
            id="jagged-for-flat",
        ),
        pytest.param(
            lambda d: _mutate_nanoaod(tau_pt={"branch": "MET_pt", "object": 0}),
            [NANOAOD.name, "tau_pt", "MET_pt", "flat source where jagged"],
            id="flat-with-object",
        ),
        pytest.param(
            lambda d: _mutate_nanoaod(jet_eta={"branch": "Tau_eta"}),
            [NANOAOD.name, "jet_eta", "multiplicity"],
            id="jet-multiplicity",
        ),
        pytest.param(
            lambda d: _mutate_nanoaod(met_phi={"expr": "arctan2(MET_py, MET_px)"}),
            [NANOAOD.name, "met_phi", "MET_py"],
            id="expr-unknown-branch",
        ),
        pytest.param(
            lambda d: _mutate_nanoaod(tau_pt={"branch": "Tau_pt", "object": 50}),
            [NANOAOD.name, "no event left", "tau_pt (object 50)", "lower an index"],
            id="object-index-beyond-every-event",
        ),
        pytest.param(
            lambda d: _mutate_nanoaod(weight={"branch": "Jet_pt"}),
            [NANOAOD.name, "weight", "Jet_pt", "one number per event"],
            id="jagged-weight",
        ),
    ],
)
def test_bad_root_input_names_file_and_field(make, needles: list[str], tmp_path: Path) -> None:
    with pytest.raises(IngestError) as info:
        ingest_mapping(make(tmp_path), tmp_path / "out.parquet")
    for needle in needles:
        assert needle in str(info.value)
    assert "object: 0" not in str(info.value) or "weight" not in str(info.value)  # never a hint the spec refuses
    assert not (tmp_path / "out.parquet").exists()


def test_string_branch_is_not_numeric(tmp_path: Path) -> None:
    flat = {
        "tau_pt": "Type",
        "tau_eta": "eta1",
        "tau_phi": "phi1",
        "lep_pt": "pt2",
        "lep_eta": "eta2",
        "lep_phi": "phi2",
        "met_pt": "M",
        "met_phi": "phi1",
        "jet_pt": "pt1",
        "jet_eta": "eta1",
        "jet_phi": "phi1",
    }
    mapping = {
        "format": "root",
        "files": [str(ZMUMU)],
        "columns": {k: {"branch": v} for k, v in flat.items()},
    }
    with pytest.raises(
        IngestError, match=r"uproot-Zmumu\.root: column 'tau_pt': branch 'Type' .* not numeric"
    ):
        ingest_mapping(mapping, tmp_path / "out.parquet")


def test_not_a_root_file(tmp_path: Path) -> None:
    fake = tmp_path / "fake.root"
    fake.write_bytes(b"this is not ROOT" * 100)
    with pytest.raises(IngestError, match=r"fake\.root: not a readable ROOT file .*field 'files'"):
        ingest(simulated_spec(fake), tmp_path / "out.parquet", 100)


def test_truncated_root_file(root_file: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.root"
    broken.write_bytes(root_file.read_bytes()[: root_file.stat().st_size // 2])
    with pytest.raises(IngestError, match=r"broken\.root: .*field 'files'"):
        ingest(simulated_spec(broken), tmp_path / "out.parquet", 100)


def test_zero_entries(events: ak.Array, tmp_path: Path) -> None:
    path = _write_events(tmp_path / "empty.root", events[:0])
    with pytest.raises(IngestError, match=r"empty\.root: tree 'events' has zero entries .*field 'tree'"):
        ingest(simulated_spec(path), tmp_path / "out.parquet", 100)


@pytest.mark.parametrize("column", ["tau_eta", "weight", "jet_phi"])
def test_nan_or_inf_in_column(column: str, events: ak.Array, tmp_path: Path) -> None:
    values = events[column]
    if column in CANONICAL_JAGGED:
        flat = ak.to_numpy(ak.flatten(values)).copy()
        flat[3] = np.inf
        values = ak.unflatten(flat, ak.num(values))
    else:
        values = ak.to_numpy(values).copy()
        values[5] = np.nan
    path = _write_events(tmp_path / "nan.root", ak.with_field(events, values, column))
    with pytest.raises(IngestError, match=rf"nan\.root: column '{column}' .*1 NaN/inf"):
        ingest(simulated_spec(path), tmp_path / "out.parquet", 100)


def _edit_h5(path: Path, edit) -> Path:
    with h5py.File(path, "a") as h5:
        edit(h5["events"])
    return path


def _replace_2d(group: h5py.Group) -> None:
    n = group["lep_phi"].shape[0]
    del group["lep_phi"]
    group.create_dataset("lep_phi", data=np.zeros((n, 2), dtype=np.float32))


@pytest.mark.parametrize(
    ("edit", "needles"),
    [
        pytest.param(lambda g: g.__delitem__("tau_eta"), ["tau_eta", "missing"], id="missing-dataset"),
        pytest.param(
            lambda g: g["met_pt"].resize((10,)), ["met_pt", "mismatched lengths"], id="short-dataset"
        ),
        pytest.param(
            lambda g: g["jet_eta"].resize((10,)), ["jet_eta", "mismatched lengths"], id="short-values"
        ),
        pytest.param(_replace_2d, ["lep_phi", "expected 1-D"], id="two-dimensional"),
    ],
)
def test_bad_hdf5_input_names_file_and_field(edit, needles: list[str], h5_file: Path, tmp_path: Path) -> None:
    _edit_h5(h5_file, edit)
    with pytest.raises(IngestError) as info:
        ingest(simulated_hdf5_spec(h5_file), tmp_path / "out.parquet", 100)
    for needle in [h5_file.name, *needles]:
        assert needle in str(info.value)


def test_not_an_hdf5_file(tmp_path: Path) -> None:
    fake = tmp_path / "fake.h5"
    fake.write_text("no hdf5 here")
    with pytest.raises(IngestError, match=r"fake\.h5: not a readable HDF5 file"):
        ingest(simulated_hdf5_spec(fake), tmp_path / "out.parquet", 100)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"format": "csv"}, "inputs.ttbar.format"),
        ({"files": []}, "inputs.ttbar.files"),
        ({"yield": -1}, "inputs.ttbar.yield"),
        ({"selection": {"jet_min_eta": 1}}, "inputs.ttbar.selection"),
        ({"colums": {}}, "inputs.ttbar"),
        ({"group": "events"}, "inputs.ttbar.group"),
    ],
)
def test_spec_errors_name_where_and_field(change: dict, field: str) -> None:
    with pytest.raises(IngestError, match=rf"^{field}"):
        InputSpec.from_mapping({**nanoaod_mapping(), **change}, "inputs.ttbar")


@pytest.mark.parametrize(
    ("column", "source", "field"),
    [
        ("tau_phi", None, "inputs.ttbar.columns: required canonical column(s) ['tau_phi']"),
        ("jet_pt", {"branch": "Jet_pt", "object": 0}, "inputs.ttbar.columns.jet_pt.object"),
        ("met_pt", {"branch": "MET_pt", "value": 1.0}, "inputs.ttbar.columns.met_pt"),
        ("tau_pt", {"branch": "Tau_pt", "object": -1}, "inputs.ttbar.columns.tau_pt.object"),
        ("met_pt", {"branch": "MET_pt", "counts": "n"}, "inputs.ttbar.columns.met_pt.counts"),
        ("met_pt", {"branch": "MET_pt", "scale": "big"}, "inputs.ttbar.columns.met_pt.scale"),
    ],
)
def test_column_spec_errors(column: str, source, field: str) -> None:
    mapping = nanoaod_mapping()
    if source is None:
        del mapping["columns"][column]
    else:
        mapping["columns"][column] = source
    with pytest.raises(IngestError) as info:
        InputSpec.from_mapping(mapping, "inputs.ttbar")
    assert str(info.value).startswith(field)


def test_yield_needs_positive_sum_of_weights(root_file: Path, tmp_path: Path) -> None:
    mapping = {"format": "root", "files": [str(root_file)], "yield": 10.0}
    mapping["columns"] = {name: {"branch": name} for name in CANONICAL_COLUMNS}
    mapping["columns"]["weight"] = {"branch": "weight", "scale": -1.0}
    with pytest.raises(IngestError, match=r"sim\.root: sum of weights .*\(field 'yield'\)"):
        ingest_mapping(mapping, tmp_path / "out.parquet")
    assert not (tmp_path / "out.parquet").exists()


def test_a_registered_input_format_reads_through_the_same_mapping(events: ak.Array, tmp_path: Path) -> None:
    """The format registry: a Parquet reader registered here ingests exactly what the ROOT path does."""
    from systlab.samples.ingest import formats
    from systlab.samples.ingest.canonical import Chunk

    def parquet_chunks(spec, path, chunk_size):
        table = ak.from_parquet(path)
        for start in range(0, len(table), chunk_size):
            part = table[start : start + chunk_size]
            yield Chunk(path, len(part), {col.name: part[col.branch] for col in spec.read_columns()})

    ak.to_parquet(events, tmp_path / "raw.parquet")
    formats.register("parquet_test", parquet_chunks)
    try:
        with pytest.raises(ValueError, match="already registered"):
            formats.register("parquet_test", parquet_chunks)
        columns = {name: {"branch": name} for name in CANONICAL_COLUMNS}
        spec = InputSpec.from_mapping({"format": "parquet_test", "files": [str(tmp_path / "raw.parquet")],
                                       "columns": columns}, where="inputs.x")  # fmt: skip
        ingest(spec, tmp_path / "out.parquet", chunk_size=100)
    finally:
        formats.READERS.pop("parquet_test")
    assert ak.array_equal(read_canonical(tmp_path / "out.parquet"), events[list(CANONICAL_COLUMNS)], dtype_exact=True)
    with pytest.raises(IngestError, match=r"inputs.x.format: must be one of \['root', 'hdf5', 'fair'\]"):
        InputSpec.from_mapping({"format": "parquet_test", "files": ["x"], "columns": columns}, where="inputs.x")


@pytest.mark.parametrize(
    ("columns", "field", "needle"),
    [
        ({"tau_pt": {"branch": "Tau_ptx", "object": 0}}, "inputs.ttbar.columns.tau_pt", "branch 'Tau_ptx' missing"),
        ({"weight": {"branch": "Jet_pt"}}, "inputs.ttbar.columns.weight", "jagged source where flat"),
        ({"tau_pt": {"branch": "MET_pt", "object": 0}}, "inputs.ttbar.columns.tau_pt", "flat source where jagged"),
        ({"met_phi": {"expr": "arctan2(MET_py, MET_px)"}}, "inputs.ttbar.columns.met_phi", "cannot evaluate expr"),
        ({"met_phi": {"expr": "abs(Jet_pt)"}}, "inputs.ttbar.columns.met_phi", "jagged source where flat"),
    ],
)
def test_check_inputs_opens_each_file_and_checks_the_mapping_against_it(columns, field, needle) -> None:
    """At DAG build (no event read): a branch the tree lacks, a source of the wrong structure, a bad expression,
    each an InputsError naming the column's config field; Snakemake would otherwise delete the table first."""
    from systlab.samples.ingest import InputsError, check_inputs

    mapping = nanoaod_mapping()
    mapping["columns"].update(columns)
    assert check_inputs({"ttbar": nanoaod_mapping()})["ttbar"].files == mapping["files"]
    with pytest.raises(InputsError) as info:
        check_inputs({"ttbar": mapping})
    assert info.value.field == field and needle in info.value.problem and NANOAOD.name in str(info.value)
    assert str(info.value).startswith("inputs.ttbar: ")
