"""The canonical event table and the sample table: column names, dtypes and codes shared by every stage.

Canonical table (ingest output, one Parquet file per process, written with awkward):
primary objects in GeV and radians, one row per event, jets jagged (any number per event).
Sample table (vary output, one Parquet file per process and variation, flat):
event bookkeeping columns + the features of ``FEATURES``.
"""

from __future__ import annotations

import numpy as np

#: One documented sentinel for undefined features (HiggsML convention): e.g. jet features
#: in events with fewer jets. Every consumer masks it (the classifier maps it to 0 after
#: standardisation, plots drop it).
SENTINEL = -999.0

#: Flat per-event columns of the canonical table and their dtypes.
CANONICAL_FLAT = {
    "event_id": np.uint64,
    "weight": np.float64,
    "tau_pt": np.float32,
    "tau_eta": np.float32,
    "tau_phi": np.float32,
    "lep_pt": np.float32,
    "lep_eta": np.float32,
    "lep_phi": np.float32,
    "met_pt": np.float32,
    "met_phi": np.float32,
}
#: Jagged (variable-length per event) columns of the canonical table.
CANONICAL_JAGGED = {"jet_pt": np.float32, "jet_eta": np.float32, "jet_phi": np.float32}
CANONICAL_COLUMNS = (*CANONICAL_FLAT, *CANONICAL_JAGGED)

#: Primary (PRI_) and derived (DER_) features of a sample table, HiggsML names.
PRIMARY_FEATURES = (
    "PRI_tau_pt", "PRI_tau_eta", "PRI_tau_phi",
    "PRI_lep_pt", "PRI_lep_eta", "PRI_lep_phi",
    "PRI_met", "PRI_met_phi",
    "PRI_jet_num",
    "PRI_jet_leading_pt", "PRI_jet_leading_eta", "PRI_jet_leading_phi",
    "PRI_jet_subleading_pt", "PRI_jet_subleading_eta", "PRI_jet_subleading_phi",
    "PRI_jet_all_pt",
)  # fmt: skip
DERIVED_FEATURES = (
    "DER_mass_transverse_met_lep", "DER_mass_vis", "DER_mass_MMC", "DER_pt_h",
    "DER_deltaeta_jet_jet", "DER_mass_jet_jet", "DER_prodeta_jet_jet",
    "DER_deltar_tau_lep", "DER_pt_tot", "DER_sum_pt", "DER_pt_ratio_lep_tau",
    "DER_met_phi_centrality", "DER_lep_eta_centrality",
)  # fmt: skip
FEATURES = PRIMARY_FEATURES + DERIVED_FEATURES

#: Bookkeeping columns of a sample table. ``weight`` is normalised so that the sum over the
#: events of ONE split equals the expected yield of the process (weight / split fraction).
SAMPLE_COLUMNS = {"event_id": np.uint64, "weight": np.float64, "split": np.int8, "label": np.int8}

#: Split codes: classifiers see train/validation only, templates use template, pseudo-data toy.
SPLITS = {"train": 0, "validation": 1, "template": 2, "toy": 3}
