"""The FAIR-Universe HiggsML challenge's data layout, both ways: names, undefined values, the dataset directory.

A challenge dataset is a directory holding ONE Parquet file (the features as the challenge names them, ``weights``,
``labels`` 0/1 and ``detailed_labels``: htautau, ztautau, ttbar, diboson) and ONE ``*_metadata.json`` (``total_rows``,
``sum_weights``), as ``HiggsML.datasets.Data`` (HiggsML 0.1.5) reads it. systlab's features are the challenge's with
``tau`` where the challenge has ``had`` and ``PRI_jet_num`` for ``PRI_n_jets``: :data:`CHALLENGE_NAMES` is the one
table of that mapping; the reader (``format: fair``, :mod:`systlab.samples.ingest.fair`) and the writer
(:func:`write_dataset`) both use it. Numerical imports are pyarrow and numpy only; HiggsML is not needed here.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from systlab.atomic import atomic_path, write_json
from systlab.events import FEATURES, SENTINEL, SPLITS

#: systlab feature -> the challenge's column (HiggsML 0.1.5: the PRI_ names of ``systematics.py``, the DER_ names
#: ``derived_quantities.DER_data`` writes). The ONE mapping table; every systlab feature but ``SYSTLAB_ONLY`` is here.
CHALLENGE_NAMES = {
    "PRI_tau_pt": "PRI_had_pt",
    "PRI_tau_eta": "PRI_had_eta",
    "PRI_tau_phi": "PRI_had_phi",
    "PRI_lep_pt": "PRI_lep_pt",
    "PRI_lep_eta": "PRI_lep_eta",
    "PRI_lep_phi": "PRI_lep_phi",
    "PRI_met": "PRI_met",
    "PRI_met_phi": "PRI_met_phi",
    "PRI_jet_num": "PRI_n_jets",
    "PRI_jet_leading_pt": "PRI_jet_leading_pt",
    "PRI_jet_leading_eta": "PRI_jet_leading_eta",
    "PRI_jet_leading_phi": "PRI_jet_leading_phi",
    "PRI_jet_subleading_pt": "PRI_jet_subleading_pt",
    "PRI_jet_subleading_eta": "PRI_jet_subleading_eta",
    "PRI_jet_subleading_phi": "PRI_jet_subleading_phi",
    "PRI_jet_all_pt": "PRI_jet_all_pt",
    "DER_mass_transverse_met_lep": "DER_mass_transverse_met_lep",
    "DER_mass_vis": "DER_mass_vis",
    "DER_pt_h": "DER_pt_h",
    "DER_deltaeta_jet_jet": "DER_deltaeta_jet_jet",
    "DER_mass_jet_jet": "DER_mass_jet_jet",
    "DER_prodeta_jet_jet": "DER_prodeta_jet_jet",
    "DER_deltar_tau_lep": "DER_deltar_had_lep",
    "DER_pt_tot": "DER_pt_tot",
    "DER_sum_pt": "DER_sum_pt",
    "DER_pt_ratio_lep_tau": "DER_pt_ratio_lep_had",
    "DER_met_phi_centrality": "DER_met_phi_centrality",
    "DER_lep_eta_centrality": "DER_lep_eta_centrality",
}
#: systlab features the challenge's data does not have (its derived_quantities computes no MMC mass): not written.
SYSTLAB_ONLY = ("DER_mass_MMC",)
#: The challenge's value of an undefined feature (jets absent, jet-pair quantities with < 2 jets); systlab's is -999.
UNDEFINED = -25.0
#: The challenge's processes (``detailed_labels``), as ``HiggsML.datasets.Data.load_test_set`` splits them.
DETAILED_LABELS = ("htautau", "ztautau", "ttbar", "diboson")
#: The challenge's bookkeeping columns: event weight, 1 = signal / 0 = background, the process.
WEIGHTS, LABELS, DETAILED = "weights", "labels", "detailed_labels"
#: The files of a dataset directory that :func:`write_dataset` writes (``Data`` takes any ``*.parquet`` and
#: ``*_metadata.json``).
DATA_FILE, METADATA_FILE = "data.parquet", "data_metadata.json"
METADATA_SUFFIX = "_metadata.json"

#: The canonical event table's flat columns and the systlab feature holding the same number in a sample.
CANONICAL_FEATURES = {
    "tau_pt": "PRI_tau_pt", "tau_eta": "PRI_tau_eta", "tau_phi": "PRI_tau_phi",
    "lep_pt": "PRI_lep_pt", "lep_eta": "PRI_lep_eta", "lep_phi": "PRI_lep_phi",
    "met_pt": "PRI_met", "met_phi": "PRI_met_phi",
}  # fmt: skip
#: Jagged columns the ``format: fair`` reader makes of the leading and subleading jet (``PRI_n_jets`` of them, at
#: most 2: the challenge keeps no other jet), by the canonical jet column they feed; the sources of each.
JET_LISTS = {"jet_pt": "PRI_jet_pt", "jet_eta": "PRI_jet_eta", "jet_phi": "PRI_jet_phi"}
JET_SOURCES = {
    name: tuple(CHALLENGE_NAMES[f"PRI_jet_{rank}_{name.removeprefix('jet_')}"] for rank in ("leading", "subleading"))
    for name in JET_LISTS
}
N_JETS = CHALLENGE_NAMES["PRI_jet_num"]

if set(CHALLENGE_NAMES) | set(SYSTLAB_ONLY) != set(FEATURES):  # pragma: no cover - a feature added without a name
    raise RuntimeError("systlab.samples.fair.CHALLENGE_NAMES must name every feature of systlab.events.FEATURES")


def input_columns() -> dict[str, dict[str, Any]]:
    """The ``columns:`` mapping of a ``format: fair`` input that reads a challenge dataset as the challenge names it
    (config/fair_example.yaml spells it out): kinematics from PRI_*, jets from the leading/subleading jet lists,
    the weight from ``weights``; event_id a running index."""
    columns: dict[str, dict[str, Any]] = {name: {"branch": CHALLENGE_NAMES[feature]}
                                          for name, feature in CANONICAL_FEATURES.items()}  # fmt: skip
    columns.update({name: {"branch": source} for name, source in JET_LISTS.items()})
    columns["weight"] = {"branch": WEIGHTS}
    return columns


class DatasetFiles(NamedTuple):
    """A challenge dataset directory's Parquet file and metadata file."""

    parquet: Path
    metadata: Path


def dataset_files(directory: str | os.PathLike) -> DatasetFiles:
    """The one ``*.parquet`` and one ``*_metadata.json`` of a challenge dataset directory; ValueError naming the
    directory and what is missing (or ambiguous: ``Data`` would take whichever ``os.listdir`` gives first)."""
    directory = Path(directory)
    what = "a FAIR-Universe dataset directory holds one .parquet file and one *_metadata.json"
    if not directory.is_dir():
        raise ValueError(f"{directory}: not a directory ({what})")
    found = {}
    for kind, suffix in (("Parquet", ".parquet"), ("metadata", METADATA_SUFFIX)):
        files = sorted(p for p in directory.iterdir() if p.is_file() and p.name.endswith(suffix))
        if not files:
            raise ValueError(f"{directory}: no {kind} file ({what})")
        if len(files) > 1:
            raise ValueError(f"{directory}: {len(files)} {kind} files {[p.name for p in files]} ({what})")
        found[kind] = files[0]
    try:
        metadata = json.loads(found["metadata"].read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{found['metadata']}: not readable as JSON ({exc})") from None
    if not isinstance(metadata, dict):
        raise ValueError(f"{found['metadata']}: expected a JSON object, got {type(metadata).__name__}")
    return DatasetFiles(found["Parquet"], found["metadata"])


def challenge_columns(sample: pa.Table, detailed_label: str, fractions: Mapping[str, float]) -> dict[str, np.ndarray]:
    """A systlab sample table's events as the challenge's columns: features renamed (:data:`CHALLENGE_NAMES`),
    systlab's undefined value -999 written as the challenge's -25, ``PRI_n_jets`` an integer, ``weights`` the
    event's canonical weight (the sample's weight times its split's fraction: the weights sum to the process's
    expected yield after the cuts, as the challenge's do), ``labels`` from the sample's label, ``detailed_labels``
    the given process name."""
    missing = [name for name in (*CHALLENGE_NAMES, "weight", "split", "label") if name not in sample.column_names]
    if missing:
        raise ValueError(f"not a systlab sample table: column(s) {missing} missing")
    columns: dict[str, np.ndarray] = {}
    for feature, name in CHALLENGE_NAMES.items():
        values = sample.column(feature).to_numpy()
        if feature == "PRI_jet_num":
            columns[name] = values.astype(np.int64)
        else:
            columns[name] = np.where(values == SENTINEL, values.dtype.type(UNDEFINED), values)
    share = np.asarray([fractions[name] for name in SPLITS], dtype=float) / sum(fractions.values())
    columns[WEIGHTS] = sample.column("weight").to_numpy() * share[sample.column("split").to_numpy()]
    columns[LABELS] = sample.column("label").to_numpy().astype(np.int64)
    columns[DETAILED] = np.full(sample.num_rows, detailed_label, dtype=object)
    return columns


class WrittenDataset(NamedTuple):
    """What :func:`write_dataset` wrote."""

    files: DatasetFiles
    rows: int
    sum_weights: float


def write_dataset(sample_path: str | os.PathLike, directory: str | os.PathLike, detailed_label: str,
                  fractions: Mapping[str, float], **provenance: Any) -> WrittenDataset:  # fmt: skip
    """Write a systlab sample (results/samples/<process>/<variation>.parquet) as a challenge dataset directory:
    ``data.parquet`` (:func:`challenge_columns`) and ``data_metadata.json`` (``total_rows``, ``sum_weights``, and
    where it came from: ``provenance`` with the sample's path), each atomically. ``HiggsML.datasets.Data`` loads it
    unchanged (tests/test_fair_layout.py)."""
    sample = pq.read_table(sample_path)
    columns = challenge_columns(sample, detailed_label, fractions)
    table = pa.table(columns)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    files = DatasetFiles(directory / DATA_FILE, directory / METADATA_FILE)
    with atomic_path(files.parquet) as tmp:
        pq.write_table(table, tmp, compression="zstd", use_dictionary=[DETAILED])
    sum_weights = float(np.sum(columns[WEIGHTS]))
    write_json(files.metadata, {
        "total_rows": sample.num_rows, "sum_weights": sum_weights,
        "systlab": {"sample": os.fspath(sample_path), "detailed_label": detailed_label,
                    "undefined": UNDEFINED, "not_written": list(SYSTLAB_ONLY), **provenance},
    })  # fmt: skip
    return WrittenDataset(files, sample.num_rows, sum_weights)
