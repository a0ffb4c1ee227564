"""Likelihoods: what −2lnL of the data is, for the two kinds of classifier.

A fixed classifier has one pyhf workspace (``build_workspace``: normsys, histosys, staterror, lumi) and its
``Likelihood`` (``binned``: −2lnL, Newton/MINUIT minimisation, settable data). A parameterised classifier f(x; α)
has a workspace per grid point of α (``grid_inputs.build_grid_workspaces``), combined into a ``GridLikelihood``
(``grid``; α between grid points: ``morph``) that is profiled over α (``grid_alpha``). ``grid_points`` says which
models take which route.
``profile`` is the one protocol inference is written against (a profile likelihood in μ) with an adapter for each.
"""

from systlab._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "build_workspace": "workspace", "read_workspace": "workspace", "write_workspace": "workspace",
    "workspace_settings": "workspace", "WorkspaceError": "workspace", "Likelihood": "binned", "Minimum": "binned",
    "GridLikelihood": "grid", "Morph": "morph", "build_grid_workspaces": "grid_inputs",
    "read_grid_workspaces": "grid_inputs", "parameterized_np": "grid_points", "ProfileLikelihood": "profile",
    "BinnedProfileLikelihood": "profile", "GridProfileLikelihood": "profile",
})  # fmt: skip
