"""Rule workspace_grid: per-grid-point scores of a parameterized model -> one full pyhf workspace per alpha_k."""

from systlab.atomic import write_json
from systlab.likelihood.grid_inputs import build_grid_workspaces, grid_workspaces_payload, parameterized_np
from systlab.runtime import log, start

cfg = start(snakemake)  # noqa: F821
grid = build_grid_workspaces(cfg, parameterized_np(cfg, snakemake.wildcards.method), list(snakemake.input))  # noqa: F821
write_json(snakemake.output[0], grid_workspaces_payload(grid))  # noqa: F821
for label, edges in zip(grid.labels, grid.edges, strict=True):
    log.info("%s: %d bins, edges %s", label, len(edges) - 1, edges.round(4).tolist())
