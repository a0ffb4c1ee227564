"""Rule fit_grid: every dataset of one parameterized-model replica through the grid-profiled likelihood."""

import time
from pathlib import Path

from systlab.infer.grid_fit import grid_fit, grid_observations, write_grid_fit
from systlab.likelihood.grid_inputs import read_grid_scores, read_grid_workspaces
from systlab.runtime import log, start

cfg = start(snakemake)  # noqa: F821
grid = read_grid_workspaces(snakemake.input.workspaces)  # noqa: F821
per_point = [read_grid_scores(p) for p in snakemake.input.scores]  # noqa: F821
for out in snakemake.output:  # noqa: F821
    dataset = Path(out).stem
    t0 = time.perf_counter()
    result, profile = grid_fit(cfg, grid, grid_observations(cfg, grid, per_point, dataset), dataset,
                               snakemake.params.interpolation)  # noqa: F821
    write_grid_fit(result, profile, grid.np_name, out)
    log.info("%s: mu_hat = %.4f, 68%% interval [%.4f, %.4f], alpha_hat = %.3f sigma, converged %s, %.1f s",
             dataset, result.mu_hat, *result.interval_68, profile.alpha_hat, result.converged,
             time.perf_counter() - t0)
