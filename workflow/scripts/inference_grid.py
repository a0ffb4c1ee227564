"""Rule inference_grid: the Asimov data (mu = 1, alpha = 0) of one parameterized-model replica through its
grid-profiled likelihood -> CLs limit, Z0, pulls and impacts (systlab.infer.grid_inference)."""

import time

from systlab.infer.grid_fit import asimov_at_points, grid_observations
from systlab.infer.grid_inference import grid_impacts, grid_significance, grid_upper_limit
from systlab.infer.impacts import write_impacts
from systlab.infer.limits import write_upper_limit
from systlab.infer.significance import write_significance
from systlab.likelihood.grid_inputs import grid_morph, read_grid_scores, read_grid_workspaces
from systlab.runtime import log, start

cfg = start(snakemake)  # noqa: F821
grid = read_grid_workspaces(snakemake.input.workspaces)  # noqa: F821
per_point = [read_grid_scores(p) for p in snakemake.input.scores]  # noqa: F821
observed = grid_observations(cfg, grid, per_point, "asimov")
background = asimov_at_points(per_point, grid.edges, cfg.signal, mu=0.0)
high = max(cfg.mu_range[1], 2.0)
interpolation = snakemake.params.interpolation  # noqa: F821
morph = grid_morph(cfg, grid.np_name)

t0 = time.perf_counter()
limit = grid_upper_limit(grid.specs, observed, background, grid.alphas, high, 64.0 * high, interpolation, morph=morph)
write_upper_limit(limit, snakemake.output.limit)  # noqa: F821
t1 = time.perf_counter()
log.info("grid 95%% CLs limit: expected %.4f [-1s %.4f, +1s %.4f], observed (Asimov mu = 1) %.4f; %.1f s",
         limit.expected[2], limit.expected[1], limit.expected[3], limit.observed, t1 - t0)
significance = grid_significance(grid.specs, observed, grid.alphas, high, interpolation, morph=morph)
write_significance(significance, snakemake.output.significance)  # noqa: F821
log.info("grid expected Z0 at mu = 1: %.4f (p0 %.3g); %.1f s", significance.z0_expected, significance.p0_expected,
         time.perf_counter() - t1)
t2 = time.perf_counter()
result = grid_impacts(grid.specs, observed, grid.alphas, cfg.mu_range, grid.np_name, interpolation, morph=morph)
write_impacts(result, snakemake.output.impacts)  # noqa: F821
log.info("grid impacts: mu_hat %.4f, top %s; converged %s; %.1f s", result.mu_hat,
         [(r.name, round(r.size, 4)) for r in result.ranking[:3]], result.converged, time.perf_counter() - t2)
