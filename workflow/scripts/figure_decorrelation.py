"""Rule figure_decorrelation: background score shapes at TES -1 sigma, nominal, +1 sigma per decorrelated method."""

from systlab.runtime import log, start
from systlab.studies.result_files import read_template_scores
from systlab.studies.score_shapes import read_js_divergence, score_shapes
from systlab.visualize.decorrelation import plot_decorrelation
from systlab.visualize.style import save_figure

cfg = start(snakemake)  # noqa: F821
params = snakemake.params  # noqa: F821
tables = read_template_scores(snakemake.input.scores)  # noqa: F821
shapes = {m: score_shapes(tables, m, params.variations) for m in params.methods}
js = {m: read_js_divergence(path) for m, path in zip(params.methods, snakemake.input.metrics, strict=True)}  # noqa: F821
log.info("JS divergence (mean, std) %s", js)
fig = plot_decorrelation(shapes, js, cfg.luminosity_fb)
save_figure(fig, snakemake.output.pdf, cfg.run_id, snakemake.output.png)  # noqa: F821
