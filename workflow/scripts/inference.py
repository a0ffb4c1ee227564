"""Rule inference: the Asimov dataset (mu = 1) of one fixed-classifier replica -> CLs limit, Z0, pulls/impacts."""

import time

from systlab.infer.fit import asimov_counts
from systlab.infer.impacts import impacts, write_impacts
from systlab.infer.limits import upper_limit_in_range, write_upper_limit
from systlab.infer.significance import discovery_significance, write_significance
from systlab.likelihood.grid_inputs import parameterized_models
from systlab.likelihood.workspace import read_workspace
from systlab.runtime import log, start

cfg = start(snakemake)  # noqa: F821
method = snakemake.wildcards.method  # noqa: F821
if method in parameterized_models(cfg):
    raise ValueError(f"{snakemake.input.workspace}: model {method!r} is parameterized; its workspace is not "  # noqa: F821
                     "its likelihood (use the grid-profiled likelihood)")
spec = read_workspace(snakemake.input.workspace)  # noqa: F821
asimov = asimov_counts(spec)
high = max(cfg.mu_range[1], 2.0)

t0 = time.perf_counter()
limit = upper_limit_in_range(spec, asimov, high, max_high=64.0 * high)
write_upper_limit(limit, snakemake.output.limit)  # noqa: F821
t1 = time.perf_counter()
log.info("95%% CLs limit: expected %.4f [-1s %.4f, +1s %.4f], observed (Asimov mu = 1) %.4f; %.2f s",
         limit.expected[2], limit.expected[1], limit.expected[3], limit.observed, t1 - t0)
significance = discovery_significance(spec, asimov, (0.0, high))
write_significance(significance, snakemake.output.significance)  # noqa: F821
t2 = time.perf_counter()
log.info("expected Z0 at mu = 1: %.4f (p0 %.3g); %.2f s", significance.z0_expected, significance.p0_expected, t2 - t1)
result = impacts(spec, asimov, cfg.mu_range)
write_impacts(result, snakemake.output.impacts)  # noqa: F821
log.info("impacts: mu_hat %.4f, top %s; converged %s; %.2f s", result.mu_hat,
         [(r.name, round(r.size, 4)) for r in result.ranking[:3]], result.converged, time.perf_counter() - t2)
