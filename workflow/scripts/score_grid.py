"""Rule score_grid: the samples one grid point needs, scored with f(x; alpha_k) of a parameterized model."""

from pathlib import Path

from systlab.likelihood.grid_inputs import grid_points, parameterized_np, score_grid_point
from systlab.runtime import log, start

cfg = start(snakemake)  # noqa: F821
np_name = parameterized_np(cfg, snakemake.wildcards.method)  # noqa: F821
point = next(p for p in grid_points(cfg, np_name) if p.label == snakemake.wildcards.point)  # noqa: F821
# results/samples/<process>/<variation>.parquet
samples = {(Path(s).parent.name, Path(s).stem): s for s in snakemake.input.samples}  # noqa: F821
summary = score_grid_point(snakemake.input.model, samples, f"alpha_{np_name}", point.alpha,  # noqa: F821
                           snakemake.output[0], threads=snakemake.threads)  # noqa: F821
log.info("grid point %s (alpha_%s = %g): %d samples, %s", point.label, np_name, point.alpha, len(samples), summary)
