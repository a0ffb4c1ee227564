"""Inference on a likelihood: MLE and the 68% profile interval, toys and coverage, CLs limits, significance, impacts.

CLs limits, Z0 and impacts are written once against :class:`systlab.likelihood.profile.ProfileLikelihood`
(``profile_upper_limit``, ``profile_significance``, ``profile_impacts``); ``upper_limit`` /
``discovery_significance`` / ``impacts`` call them with the binned adapter, ``grid_*`` with the grid adapter.
Fits and toys: ``fit_dataset`` / ``run_toys`` on the binned likelihood, ``grid_fit`` / ``run_grid_toys`` on the
grid likelihood; ``pipeline`` picks the route per model for the workflow's rules. Results are named tuples with
``*_payload`` / ``write_*`` for their JSON files.
"""

from systlab._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "fit_dataset": "fit", "FitResult": "fit", "profile_interval": "fit", "asimov_counts": "fit",
    "run_toys": "toys", "merge_chunks": "toys", "Coverage": "toys", "upper_limit": "limits", "UpperLimit": "limits",
    "discovery_significance": "significance", "Significance": "significance", "Impacts": "impacts",
    "run_grid_toys": "grid_fit", "GridProfile": "grid_profile", "grid_upper_limit": "grid_inference",
    "grid_significance": "grid_inference", "grid_impacts": "grid_inference", "profile_upper_limit": "limits",
    "profile_significance": "significance", "profile_impacts": "impacts",
})  # fmt: skip
