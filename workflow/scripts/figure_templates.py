"""Rule figure_templates: stacked score templates with the shape-systematic ratio panel, one figure per model (the
whole family in one job: input, params.methods and the outputs in the same order)."""

from systlab.runtime import start
from systlab.templates.histograms import read_templates
from systlab.visualize.style import save_figure
from systlab.visualize.templates import model_templates_figure

smk = snakemake  # noqa: F821
cfg = start(smk)
shape_nps = {np_.name: np_.one_sided for np_ in cfg.shape_nps}
for method, path, pdf, png in zip(smk.params.methods, smk.input, smk.output.pdf, smk.output.png, strict=True):
    fig = model_templates_figure(read_templates(path), cfg.signal, cfg.backgrounds, shape_nps, method,
                                 cfg.luminosity_fb)  # fmt: skip
    save_figure(fig, pdf, cfg.run_id, png)
