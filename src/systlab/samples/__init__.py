"""Samples: raw events in (simulator, ROOT/HDF5 ingestion), systematic variations out, one table per variation.

``simulate_process`` (the built-in H→ττ-like generator) and ``write_root``/``write_hdf5`` make raw files;
``ingest`` maps any ROOT/HDF5 file onto the canonical event table; ``vary_process`` applies every shape NP of the
``systematics`` registry to the objects, recomputes the features (``features``) and cuts, and writes the samples.
``generators`` holds the modelling variants A/B/C of the generator cross-check.
"""

from systlab._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "simulate_process": "simulate", "process_seed": "simulate", "write_root": "rawio", "write_hdf5": "rawio",
    "InputSpec": "ingest", "IngestError": "ingest",
    "vary_process": "vary", "apply_variation": "vary", "split_labels": "vary",
    "compute_features": "features", "variant_samples": "generators",
})  # fmt: skip
