"""Rule score: ONNX Runtime scores of every (process, variation) sample for one model replica.

Parameterised models get alpha_<np> = the sample's own shift of that NP (0 if it does not shift it).
"""

from pathlib import Path

from systlab.methods.onnx_io import OnnxScorer
from systlab.runtime import log, start
from systlab.templates.score import score_sample, scoring_parameters

cfg = start(snakemake)  # noqa: F821
parameters = OnnxScorer(snakemake.input.model).parameters  # noqa: F821
for sample, out in zip(snakemake.input.samples, snakemake.output, strict=True):  # noqa: F821
    values = scoring_parameters(parameters, cfg.variation_shifts(Path(sample).stem))
    summary = score_sample(snakemake.input.model, sample, out, threads=snakemake.threads,  # noqa: F821
                           parameters=values)  # fmt: skip
    log.info("%s -> %s %s: %s", sample, out, values or "", summary)
