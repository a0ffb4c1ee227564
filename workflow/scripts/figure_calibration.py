"""Rule figure_calibration: reliability curves at nominal TES, classes weighted equally as in training."""

from systlab.runtime import log, start
from systlab.studies.calibration import reliability_summaries
from systlab.studies.result_files import read_template_scores
from systlab.visualize.calibration import plot_calibration
from systlab.visualize.style import save_figure

cfg = start(snakemake)  # noqa: F821
params = snakemake.params  # noqa: F821
summaries = reliability_summaries(read_template_scores(snakemake.input), params.methods, params.variation)  # noqa: F821
for method, curve in summaries.items():
    log.info(
        "%s: mean score %s, signal fraction %s",
        method,
        curve.mean_score.mean.round(3),
        curve.signal_fraction.mean.round(3),
    )
fig = plot_calibration(summaries, params.reference or None, cfg.luminosity_fb)
save_figure(fig, snakemake.output.pdf, cfg.run_id, snakemake.output.png)  # noqa: F821
