"""Rule score: ONNX Runtime scores of every (process, variation) sample for one model replica, then their templates.

Parameterised models get alpha_<np> = the sample's own shift of that NP (0 if it does not shift it). The templates
(template split) and pseudo-data expectations (toy split) are binned from the score files just written, by the same
library call as any other reader of score files (systlab.templates.histograms.build_templates).
"""

from pathlib import Path

from systlab.methods.onnx_io import OnnxScorer
from systlab.runtime import log, start
from systlab.templates.histograms import build_templates, write_templates
from systlab.templates.score import score_sample, scoring_parameters

cfg = start(snakemake)  # noqa: F821
parameters = OnnxScorer(snakemake.input.model).parameters  # noqa: F821
for sample, out in zip(snakemake.input.samples, snakemake.output.scores, strict=True):  # noqa: F821
    values = scoring_parameters(parameters, cfg.variation_shifts(Path(sample).stem))
    summary = score_sample(snakemake.input.model, sample, out, threads=snakemake.threads,  # noqa: F821
                           parameters=values)  # fmt: skip
    log.info("%s -> %s %s: %s", sample, out, values or "", summary)

# results/scores/<method>/<replica>/<process>/<variation>.parquet
score_paths = {(Path(p).parent.name, Path(p).stem): p for p in snakemake.output.scores}  # noqa: F821
templates = build_templates(score_paths, bins=cfg.bins, binning=cfg.binning, signal_efficiency=cfg.signal_efficiency)
write_templates(templates, snakemake.output.templates)  # noqa: F821
log.info("templates of %d (process, variation) pairs, %s edges %s", len(score_paths), cfg.binning,
         templates.edges.round(4).tolist())

if "workspace" in snakemake.output.keys():  # noqa: F821  (rule score, a fixed classifier: its histosys workspace)
    from systlab.likelihood.workspace import build_workspace, workspace_settings, write_workspace
    from systlab.templates.histograms import read_templates

    # from the templates file as written (as a separate workspace job would read it), not the in-memory histograms
    spec = build_workspace(read_templates(snakemake.output.templates), **workspace_settings(cfg))  # noqa: F821
    write_workspace(spec, snakemake.output.workspace)  # noqa: F821
    log.info("workspace with %d samples written", len(spec["channels"][0]["samples"]))
