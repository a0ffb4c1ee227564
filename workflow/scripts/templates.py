"""Rule templates: score tables of one model -> template (template split) and pseudo-data (toy split) histograms."""

from pathlib import Path

from systlab.runtime import log, start
from systlab.templates.histograms import build_templates, write_templates

cfg = start(snakemake)  # noqa: F821
# results/scores/<method>/<replica>/<process>/<variation>.parquet
score_paths = {(Path(p).parent.name, Path(p).stem): p for p in snakemake.input}  # noqa: F821
templates = build_templates(score_paths, bins=cfg.bins, binning=cfg.binning)
write_templates(templates, snakemake.output[0])  # noqa: F821
log.info("templates of %d (process, variation) pairs, %s edges %s", len(score_paths), cfg.binning,
         templates.edges.round(4).tolist())
