"""Rule toys: Poisson pseudo-experiments from the toy split at the nominal truth (mu = 1) -> coverage."""

import zlib

from systlab.runtime import log, start
from systlab.templates import read_templates
from systlab.toys import merge_chunks, run_toys, toy_expectation, write_coverage
from systlab.workspace import read_workspace

cfg = start(snakemake)  # noqa: F821
spec = read_workspace(snakemake.input.workspace)  # noqa: F821
expected = toy_expectation(read_templates(snakemake.input.templates), "nominal", mu=1.0, signal=cfg.signal)  # noqa: F821
seed = cfg.seed + zlib.crc32(f"{snakemake.wildcards.method}/{snakemake.wildcards.replica}".encode())  # noqa: F821
# frequentist toys of a fixed truth: main counts Poisson, auxiliary measurements Gaussian around nominal
chunk = run_toys(spec, expected, 1.0, 0, cfg.n_toys, seed, cfg.mu_range, fluctuate_aux=True)
coverage = merge_chunks([chunk])
write_coverage(coverage, snakemake.output[0])  # noqa: F821
log.info("%d toys: coverage %.3f (sigma68 %.3f), mean width %.3f, score %.3f", coverage.n_toys, coverage.coverage,
         coverage.sigma68, coverage.mean_width, coverage.score)
