"""The FAIR-Universe challenge's data layout both ways (issue #22 part 1): systlab samples written as a challenge
dataset directory that the organisers' ``HiggsML.datasets.Data`` loads unchanged, and ``format: fair`` reading such
a directory as one process's events; the name table checked against the package's own code; bad directories.

The tests that call HiggsML are skipped only where the ``fair`` extra is missing (README's install command has it).
"""

from __future__ import annotations

import inspect
import json
import re

import awkward as ak
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from systlab.events import FEATURES, SENTINEL
from systlab.samples.fair import (
    CHALLENGE_NAMES,
    DETAILED_LABELS,
    SYSTLAB_ONLY,
    UNDEFINED,
    dataset_files,
    input_columns,
    write_dataset,
)
from systlab.samples.ingest import IngestError, InputSpec, check_inputs, ingest, read_canonical
from systlab.samples.simulate import simulate_process
from systlab.samples.vary import Variation, apply_variation, finish_sample, soft_met_draws

FRACTIONS = {"train": 0.3, "validation": 0.1, "template": 0.3, "toy": 0.3}
NEEDS_HIGGSML = "the organisers' HiggsML package (extra 'fair': pip install -e '.[dev,fair]') is missing"


def higgsml(module: str):
    return pytest.importorskip(f"HiggsML.{module}", reason=NEEDS_HIGGSML)


@pytest.fixture(scope="module")
def events():
    return simulate_process("ztautau", 4000, seed=3)


@pytest.fixture(scope="module")
def sample(events, tmp_path_factory) -> tuple:
    """A systlab sample table (nominal variation of 4000 simulated Z→ττ events) on disk, and the table."""
    table = apply_variation(events, Variation("nominal"), soft_met_draws(len(events), 1))
    table = finish_sample(table, label=0, seed=5, fractions=FRACTIONS)
    path = tmp_path_factory.mktemp("sample") / "nominal.parquet"
    table.to_parquet(path, index=False)
    return path, table


@pytest.fixture(scope="module")
def dataset(sample, tmp_path_factory):
    path, _ = sample
    directory = tmp_path_factory.mktemp("fair") / "ztautau"
    return write_dataset(path, directory, "ztautau", FRACTIONS, process="ztautau", variation="nominal")


def fair_spec(files, **change) -> InputSpec:
    return InputSpec.from_mapping({"format": "fair", "files": [str(f) for f in files], "columns": input_columns(),
                                   **change}, where="inputs.ztautau")  # fmt: skip


# ---- the name table ------------------------------------------------------------------------------------------------
def test_the_name_table_is_the_challenge_code_s_names():
    """Every systlab feature but the MMC mass has a challenge name; the PRI_ names are those HiggsML.systematics
    reads and writes, the DER_ names those HiggsML.derived_quantities.DER_data writes, and ``tau`` → ``had``,
    ``PRI_jet_num`` → ``PRI_n_jets`` are the only renames."""
    systematics, derived = higgsml("systematics"), higgsml("derived_quantities")
    assert set(CHALLENGE_NAMES) | set(SYSTLAB_ONLY) == set(FEATURES)
    source = inspect.getsource(systematics.mom4_manipulate) + inspect.getsource(systematics.postprocess)
    code = re.sub(r"#.*", "", source)  # PRI_met_sumet is only in a comment
    pri = set(re.findall(r"PRI_\w+", code))
    assert pri == {name for name in CHALLENGE_NAMES.values() if name.startswith("PRI_")}
    written = {name for f in (derived.DER_data,) for name in re.findall(r"f_(DER_\w+)\(", inspect.getsource(f))}
    assert written == {name for name in CHALLENGE_NAMES.values() if name.startswith("DER_")}
    renamed = {k: v for k, v in CHALLENGE_NAMES.items() if k != v}
    assert renamed == {"PRI_tau_pt": "PRI_had_pt", "PRI_tau_eta": "PRI_had_eta", "PRI_tau_phi": "PRI_had_phi",
                       "PRI_jet_num": "PRI_n_jets", "DER_deltar_tau_lep": "DER_deltar_had_lep",
                       "DER_pt_ratio_lep_tau": "DER_pt_ratio_lep_had"}  # fmt: skip
    test_set_keys = re.search(r"test_set = \{(.*?)\}", inspect.getsource(higgsml("datasets").Data.load_test_set), re.S)
    assert set(re.findall(r'"(\w+)": pd\.DataFrame', test_set_keys[1])) == set(DETAILED_LABELS)


# ---- writing -------------------------------------------------------------------------------------------------------
def test_a_written_sample_is_a_challenge_dataset(sample, dataset):
    path, table = sample
    files = dataset_files(dataset.files.parquet.parent)
    assert files == dataset.files and files.parquet.name == "data.parquet"
    written = pq.read_table(files.parquet).to_pandas()
    assert list(written.columns) == [*CHALLENGE_NAMES.values(), "weights", "labels", "detailed_labels"]
    assert "DER_mass_MMC" not in written and (written["detailed_labels"] == "ztautau").all()
    assert written["PRI_n_jets"].dtype == np.int64 and (written["labels"] == 0).all()
    for feature, name in CHALLENGE_NAMES.items():
        ours = table[feature].to_numpy()
        expected = np.where(ours == SENTINEL, UNDEFINED, ours)
        np.testing.assert_array_equal(written[name].to_numpy(), expected.astype(written[name].dtype), err_msg=name)
    assert (written["PRI_jet_leading_pt"] == UNDEFINED).sum() == (table["PRI_jet_num"] == 0).sum() > 0
    assert not (written[list(CHALLENGE_NAMES.values())] == SENTINEL).any().any()
    # weights: the sample's times its split's fraction, so they sum to the process's expected yield after cuts
    share = np.array(list(FRACTIONS.values())) / sum(FRACTIONS.values())
    np.testing.assert_allclose(written["weights"], table["weight"] * share[table["split"]], rtol=1e-15)
    per_split = table.groupby("split")["weight"].sum()  # each split sums to the yield (statistically)
    assert written["weights"].sum() == pytest.approx(per_split.mean(), rel=0.05)
    metadata = json.loads(files.metadata.read_text())
    assert metadata["total_rows"] == len(table) and metadata["sum_weights"] == pytest.approx(written["weights"].sum())
    assert metadata["systlab"]["sample"] == str(path) and metadata["systlab"]["variation"] == "nominal"


def test_the_organisers_data_class_loads_a_written_sample_unchanged(dataset):
    """``HiggsML.datasets.Data`` on the directory as the challenge's ingestion uses it: the train set (all rows with
    test_size 0) is the Parquet table with the weights rescaled to the metadata's sum_weights (= their sum, so
    unchanged to rounding); the test set is split by detailed label."""
    datasets = higgsml("datasets")
    written = pq.read_table(dataset.files.parquet).to_pandas()
    data = datasets.Data(str(dataset.files.parquet.parent), test_size=0)
    assert data.total_rows == len(written)
    data.load_train_set()
    train = data.get_train_set()
    pd.testing.assert_frame_equal(train.drop(columns="weights"), written.drop(columns="weights"))
    np.testing.assert_allclose(train["weights"], written["weights"], rtol=1e-12)
    data = datasets.Data(str(dataset.files.parquet.parent), test_size=0.3)
    data.load_test_set()
    test = data.get_test_set()
    assert len(test["ztautau"]) == int(0.3 * len(written)) and all(len(test[k]) == 0 for k in
                                                                    ("htautau", "ttbar", "diboson"))  # fmt: skip
    assert set(test["ztautau"].columns) == set(written.columns) - {"labels", "detailed_labels"}


def test_the_organisers_code_recomputes_a_written_sample_s_features(dataset):
    """The package's derived quantities and systematics run on the written columns: at TES = JES = 1 without soft
    MET its DER_* agree with systlab's (float32 rounding) on every event (part 2 of issue #22 compares varied
    points); this is what the layout must carry."""
    derived, systematics = higgsml("derived_quantities"), higgsml("systematics")
    written = pq.read_table(dataset.files.parquet).to_pandas()
    pri = [name for name in written.columns if name.startswith("PRI_")]
    recomputed = derived.DER_data(written[pri].astype({n: "float64" for n in pri if n != "PRI_n_jets"}).copy())
    for name in (n for n in CHALLENGE_NAMES.values() if n.startswith("DER_")):
        np.testing.assert_allclose(recomputed[name], written[name], rtol=2e-4, atol=2e-3, err_msg=name)
    varied = systematics.systematics(written.copy(), tes=1.0, jes=1.0, soft_met=0.0)
    assert len(varied) == len(written)


# ---- reading: format fair ------------------------------------------------------------------------------------------
def test_format_fair_reads_a_challenge_directory_as_one_process(events, sample, dataset, tmp_path):
    _, table = sample
    out = tmp_path / "ztautau.parquet"
    spec = fair_spec([dataset.files.parquet.parent])
    assert check_inputs({"ztautau": {"format": "fair", "files": spec.files, "columns": input_columns()}})
    summary = ingest(spec, out, chunk_size=700)
    assert summary.events_read == summary.events_written == len(table)
    canonical = read_canonical(out)
    for name, feature in (("tau_pt", "PRI_tau_pt"), ("lep_eta", "PRI_lep_eta"), ("met_phi", "PRI_met_phi")):
        np.testing.assert_array_equal(ak.to_numpy(canonical[name]), table[feature].to_numpy(), err_msg=name)
    n_jets = ak.to_numpy(ak.num(canonical["jet_pt"]))
    np.testing.assert_array_equal(n_jets, np.minimum(table["PRI_jet_num"].to_numpy(), 2))
    has1 = n_jets >= 1
    np.testing.assert_array_equal(ak.to_numpy(canonical["jet_pt"][has1][:, 0]),
                                  table["PRI_jet_leading_pt"].to_numpy()[has1])  # fmt: skip
    assert float(np.sum(ak.to_numpy(canonical["weight"]))) == pytest.approx(dataset.sum_weights, rel=1e-12)
    np.testing.assert_array_equal(ak.to_numpy(canonical["event_id"]), np.arange(len(table)))
    # systlab's features of the ingested events are the sample's where the challenge kept every jet (≤ 2)
    again = apply_variation(canonical, Variation("nominal"), soft_met_draws(len(canonical), 1))
    assert len(again) == len(table)
    upto2 = table["PRI_jet_num"].to_numpy() <= 2
    assert upto2.mean() > 0.8
    for feature in FEATURES:
        np.testing.assert_allclose(again[feature].to_numpy()[upto2], table[feature].to_numpy()[upto2], rtol=1e-5,
                                   atol=1e-4, err_msg=feature)  # fmt: skip


def test_format_fair_keeps_one_process_of_a_mixed_dataset(dataset, tmp_path):
    """``detailed_label:`` selects a process; a label no event has is an error naming the file."""
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    table = pq.read_table(dataset.files.parquet)
    labels = np.where(np.arange(table.num_rows) % 3 == 0, "htautau", "ztautau")
    signal = np.where(labels == "htautau", 1, 0)
    table = table.set_column(table.schema.get_field_index("detailed_labels"), "detailed_labels", pa.array(labels))
    table = table.set_column(table.schema.get_field_index("labels"), "labels", pa.array(signal))
    pq.write_table(table, mixed / "mixed.parquet")
    (mixed / "mixed_metadata.json").write_text("{}")
    summary = ingest(fair_spec([mixed], detailed_label="htautau"), tmp_path / "h.parquet", chunk_size=500)
    assert summary.events_written == int((labels == "htautau").sum())
    with pytest.raises(IngestError, match=r"mixed\.parquet: no event with detailed_labels 'ttbar'"):
        ingest(fair_spec([mixed], detailed_label="ttbar"), tmp_path / "t.parquet", chunk_size=500)


# ---- bad inputs ----------------------------------------------------------------------------------------------------
def _broken(dataset, tmp_path, edit=None, drop=(), files=("parquet", "metadata")):
    directory = tmp_path / "broken"
    directory.mkdir()
    table = pq.read_table(dataset.files.parquet).drop_columns(list(drop))
    if edit is not None:
        name, values = edit
        table = table.set_column(table.schema.get_field_index(name), name, pa.array(values))
    if "parquet" in files:
        pq.write_table(table, directory / "data.parquet")
    if "metadata" in files:
        (directory / "data_metadata.json").write_text("{}")
    return directory


@pytest.mark.parametrize(("files", "needle"), [
    (("metadata",), r"broken: no Parquet file \(a FAIR-Universe dataset directory holds one \.parquet"),
    (("parquet",), r"broken: no metadata file"),
])
def test_a_directory_without_parquet_or_metadata_is_refused_at_dag_build(dataset, tmp_path, files, needle):
    directory = _broken(dataset, tmp_path, files=files)
    with pytest.raises(IngestError, match=needle):
        check_inputs({"ztautau": {"format": "fair", "files": [str(directory)], "columns": input_columns()}})


def test_a_file_where_a_directory_is_expected_is_refused(dataset):
    with pytest.raises(IngestError, match=r"data\.parquet: not a directory \(format fair"):
        check_inputs({"ztautau": {"format": "fair", "files": [str(dataset.files.parquet)], "columns": input_columns()}})


def test_a_missing_pri_column_is_refused_at_dag_build_naming_file_and_column(dataset, tmp_path):
    directory = _broken(dataset, tmp_path, drop=["PRI_had_eta"])
    with pytest.raises(IngestError, match=r"inputs.ztautau: .*broken/data\.parquet: column 'tau_eta' "
                                          r"\(branch 'PRI_had_eta'\): Parquet column 'PRI_had_eta' missing") as err:
        check_inputs({"ztautau": {"format": "fair", "files": [str(directory)], "columns": input_columns()}})
    assert err.value.field == "inputs.ztautau.columns.tau_eta"  # systlab check-config names the key
    (tmp_path / "jets").mkdir()
    directory = _broken(dataset, tmp_path / "jets", drop=["PRI_jet_subleading_phi"])
    with pytest.raises(IngestError, match=r"column 'jet_phi' \(branch 'PRI_jet_phi'\): Parquet column "
                                          r"'PRI_jet_subleading_phi' missing"):
        check_inputs({"ztautau": {"format": "fair", "files": [str(directory)], "columns": input_columns()}})


def test_labels_other_than_0_1_are_refused_when_read(dataset, tmp_path):
    n = pq.read_metadata(dataset.files.parquet).num_rows
    directory = _broken(dataset, tmp_path, edit=("labels", np.where(np.arange(n) == 5, 2, 0)))
    check_inputs({"ztautau": {"format": "fair", "files": [str(directory)], "columns": input_columns()}})
    with pytest.raises(IngestError, match=r"broken/data\.parquet: column 'labels': 1 value\(s\) other than 0/1 "
                                          r"\(e\.g\. 2;"):
        ingest(fair_spec([directory]), tmp_path / "out.parquet", chunk_size=1000)
    assert not (tmp_path / "out.parquet").exists()


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_weights_are_refused_when_read(dataset, tmp_path, bad):
    weights = pq.read_table(dataset.files.parquet).column("weights").to_numpy().copy()
    weights[[3, 9]] = bad
    directory = _broken(dataset, tmp_path, edit=("weights", weights))
    with pytest.raises(IngestError, match=r"broken/data\.parquet: column 'weight' \(branch 'weights'\): 2 NaN/inf"):
        ingest(fair_spec([directory]), tmp_path / "out.parquet", chunk_size=1000)


@pytest.mark.parametrize(("change", "needle"), [
    ({"tree": "events"}, r"inputs.x.tree: not for format fair"),
    ({"group": "events"}, r"inputs.x.group: not for format fair"),
    ({"format": "root", "tree": "t", "detailed_label": "ztautau"}, r"inputs.x.detailed_label: only for format fair"),
    ({"columns": {**input_columns(), "jet_pt": {"branch": "PRI_jet_pt", "counts": "PRI_n_jets"}}},
     r"inputs.x.columns.jet_pt.counts: only for HDF5"),
    ({"columns": {**input_columns(), "met_pt": {"expr": "PRI_met +* 2"}}}, r"cannot parse expr 'PRI_met \+\* 2'"),
])
def test_fair_spec_mistakes_are_refused(change, needle):
    with pytest.raises(IngestError, match=needle):
        InputSpec.from_mapping({"format": "fair", "files": ["d"], "columns": input_columns(), **change},
                               where="inputs.x")


def test_an_expression_of_challenge_columns_maps_a_column(dataset, tmp_path):
    columns = {**input_columns(), "met_pt": {"expr": "PRI_met * 2"}}
    ingest(fair_spec([dataset.files.parquet.parent], columns=columns), tmp_path / "e.parquet", chunk_size=1000)
    met = ak.to_numpy(read_canonical(tmp_path / "e.parquet")["met_pt"])
    np.testing.assert_allclose(met, 2 * pq.read_table(dataset.files.parquet).column("PRI_met").to_numpy(), rtol=1e-6)


def test_the_example_overlay_maps_the_challenge_columns():
    import yaml

    from workdirs import ROOT

    example = yaml.safe_load((ROOT / "config" / "fair_example.yaml").read_text())["inputs"]["ztautau"]
    assert example["format"] == "fair" and example["columns"] == input_columns()


def test_a_dataset_without_labels_or_with_a_missing_jet_is_refused(dataset, tmp_path):
    directory = _broken(dataset, tmp_path, drop=["labels"])
    with pytest.raises(IngestError, match=r"broken/data\.parquet: no 'labels' column") as err:
        check_inputs({"ztautau": {"format": "fair", "files": [str(directory)], "columns": input_columns()}})
    assert err.value.field == "inputs.ztautau.files"
    table = pq.read_table(dataset.files.parquet)
    n_jets = np.maximum(table.column("PRI_n_jets").to_numpy(), 1)  # a leading jet claimed where there is none
    (tmp_path / "jets").mkdir()
    directory = _broken(dataset, tmp_path / "jets", edit=("PRI_n_jets", n_jets))
    with pytest.raises(IngestError, match=r"column 'PRI_jet_leading_pt': \d+ event\(s\) with PRI_n_jets > 0 but no jet "
                                          r"there \(pT -25\.0\)"):
        ingest(fair_spec([directory]), tmp_path / "out.parquet", chunk_size=1000)
