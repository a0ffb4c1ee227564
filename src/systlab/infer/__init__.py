"""Inference on a likelihood: MLE and the 68% profile interval, toys and coverage, CLs limits, significance, impacts.

Fixed classifiers: ``fit_dataset``, ``run_toys``, ``upper_limit``, ``discovery_significance``, ``impacts`` on
the binned likelihood. Parameterised classifiers: ``grid_fit`` / ``grid_profile``, ``run_grid_toys`` and
``grid_upper_limit`` / ``grid_significance`` / ``grid_impacts`` on the grid likelihood. Results are named tuples
with ``*_payload`` / ``write_*`` for their JSON files.
"""

from systlab._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "fit_dataset": "fit", "FitResult": "fit", "profile_interval": "fit", "asimov_counts": "fit",
    "run_toys": "toys", "merge_chunks": "toys", "Coverage": "toys", "upper_limit": "limits", "UpperLimit": "limits",
    "discovery_significance": "significance", "Significance": "significance", "Impacts": "impacts",
    "run_grid_toys": "grid_fit", "GridProfile": "grid_profile", "grid_upper_limit": "grid_inference",
    "grid_significance": "grid_inference", "grid_impacts": "grid_inference",
})  # fmt: skip
