"""Rule figure_roc: ROC curves per method at TES -1 sigma, nominal, +1 sigma, with replica bands and AUCs."""

from systlab.runtime import log, start
from systlab.studies.result_files import read_template_scores
from systlab.studies.roc import roc_summaries
from systlab.visualize.roc import plot_roc
from systlab.visualize.style import save_figure

cfg = start(snakemake)  # noqa: F821
params = snakemake.params  # noqa: F821
summaries = roc_summaries(read_template_scores(snakemake.input), params.methods, params.variations)  # noqa: F821
for variation, per in summaries.items():
    log.info("%s AUC %s", variation, {m: (float(s.auc.mean), float(s.auc.std)) for m, s in per.items()})
fig = plot_roc(summaries, params.reference or None, cfg.luminosity_fb)
save_figure(fig, snakemake.output.pdf, cfg.run_id, snakemake.output.png)  # noqa: F821
