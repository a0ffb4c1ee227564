"""Rule score: ONNX Runtime scores of every variation sample of one process (template and toy splits)."""

from systlab.runtime import log, start
from systlab.score import score_sample

start(snakemake)  # noqa: F821
for sample, out in zip(snakemake.input.samples, snakemake.output, strict=True):  # noqa: F821
    summary = score_sample(snakemake.input.model, sample, out, threads=snakemake.threads)  # noqa: F821
    log.info("%s -> %s: %s", sample, out, summary)
