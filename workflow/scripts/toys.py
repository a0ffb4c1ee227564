"""Rule toys: two toy studies at the nominal truth (mu = 1) of one fixed-classifier replica -> coverage.

Held-out toys (the FAIR-Universe way): Poisson counts from the toy split's expectation, an independent MC
sample, so their coverage includes the MC-statistical non-closure between it and the templates. Model toys:
Poisson counts from the workspace's own expectation, which test the statistical procedure alone (Wilks).
Both fluctuate the auxiliary measurements around nominal (frequentist toys of a fixed truth).
"""

import zlib

from systlab.fit import asimov_counts
from systlab.runtime import log, start
from systlab.templates import read_templates
from systlab.toys import merge_chunks, run_toys, toy_expectation, write_coverage
from systlab.workspace import read_workspace

cfg = start(snakemake)  # noqa: F821
spec = read_workspace(snakemake.input.workspace)  # noqa: F821
seed = cfg.seed + zlib.crc32(f"{snakemake.wildcards.method}/{snakemake.wildcards.replica}".encode())  # noqa: F821
held_out = toy_expectation(read_templates(snakemake.input.templates), "nominal", mu=1.0, signal=cfg.signal)  # noqa: F821
results = {}
for name, expected, stream in (("held_out", held_out, seed), ("model", asimov_counts(spec), seed + 1)):
    results[name] = merge_chunks([run_toys(spec, expected, 1.0, 0, cfg.n_toys, stream, cfg.mu_range,
                                           fluctuate_aux=True)])
    c = results[name]
    log.info("%s toys (%d): coverage %.3f (sigma68 %.3f), mean width %.3f, bias %.3f, score %.3f", name, c.n_toys,
             c.coverage, c.sigma68, c.mean_width, c.bias, c.score)
write_coverage(results["held_out"], snakemake.output[0], model=results["model"])  # noqa: F821
