"""Rule fit: one dataset (Asimov, or Poisson pseudo-data at a hidden truth from the toy split) -> fit result."""

import zlib

from systlab.fit import asimov_counts, fit_dataset, pseudo_data_counts, write_fit_result
from systlab.runtime import log, start
from systlab.templates import read_templates
from systlab.workspace import read_workspace

cfg = start(snakemake)  # noqa: F821
dataset = snakemake.wildcards.dataset  # noqa: F821
spec = read_workspace(snakemake.input.workspace)  # noqa: F821
if dataset == "asimov":
    observed = asimov_counts(spec)
else:
    truth = next(t for t in cfg.truths if f"truth_{t.name}" == dataset)
    observed = pseudo_data_counts(read_templates(snakemake.input.templates), dataset, mu=truth.mu,  # noqa: F821
                                  seed=cfg.seed + zlib.crc32(dataset.encode()), signal=cfg.signal)
result = fit_dataset(spec, observed, cfg.mu_range, cfg.scan_points, dataset)
write_fit_result(result, snakemake.output[0])  # noqa: F821
log.info("%s: mu_hat = %.4f, 68%% interval [%.4f, %.4f], converged %s", dataset, result.mu_hat,
         *result.interval_68, result.converged)
