"""Rule toys_grid: event-level Poisson toys (mu = 1, alpha = 0, aux fluctuated) through the grid -> coverage."""

import zlib

from systlab.atomic import write_json
from systlab.event_toys import truth_events
from systlab.grid_fit import TOY_INTERPOLATION, run_grid_toys
from systlab.grid_inputs import grid_morph, read_grid_scores, read_grid_workspaces
from systlab.runtime import log, start
from systlab.templates import NOMINAL
from systlab.toys import coverage_payload, merge_chunks

cfg = start(snakemake)  # noqa: F821
grid = read_grid_workspaces(snakemake.input.workspaces)  # noqa: F821
events = truth_events([read_grid_scores(p) for p in snakemake.input.scores], NOMINAL, [cfg.signal])  # noqa: F821
seed = cfg.seed + zlib.crc32(f"{snakemake.wildcards.method}/{snakemake.wildcards.replica}".encode())  # noqa: F821
chunk = run_grid_toys(grid, events, 1.0, 0, snakemake.params.n_toys, seed, cfg.mu_range, TOY_INTERPOLATION,  # noqa: F821
                      morph=grid_morph(cfg, grid.np_name))
coverage = merge_chunks([chunk])
payload = coverage_payload(coverage)  # systlab.toys.write_coverage's format, plus how the grid toys were made
payload["grid"] = {"np": grid.np_name, "alphas": grid.alphas.tolist(), "interpolation": TOY_INTERPOLATION,
                   "morph_step": cfg.grid_morph_step,
                   "pseudo_data": "event-level Poisson multiplicities of the nominal toy split (mu = 1, alpha = 0)",
                   "auxdata": "Gaussian, one draw per scalar NP shared by all grid points; MC-stat aux nominal",
                   "n_fits_mean": float(chunk.n_fits.mean())}  # fmt: skip
write_json(snakemake.output[0], payload)  # noqa: F821
log.info("%d grid toys: coverage %.3f (sigma68 %.3f), mean width %.3f, score %.3f, %.2f s/toy", coverage.n_toys,
         coverage.coverage, coverage.sigma68, coverage.mean_width, coverage.score, coverage.seconds_per_toy)
