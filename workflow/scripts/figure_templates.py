"""Rule figure_templates: stacked score templates with the shape-systematic ratio panel, one figure per model (the
whole family in one job: input, params.methods and the outputs in the same order)."""

import numpy as np

from systlab.likelihood.workspace import histosys_data
from systlab.runtime import start
from systlab.templates.histograms import counts, read_templates
from systlab.templates.mc_statistics import mc_statistics
from systlab.visualize.style import save_figure
from systlab.visualize.templates import plot_score_templates

smk = snakemake  # noqa: F821
cfg = start(smk)
for method, path, pdf, png in zip(smk.params.methods, smk.input, smk.output.pdf, smk.output.png, strict=True):
    templates = read_templates(path)
    backgrounds = {p: counts(templates, p, "nominal") for p in cfg.backgrounds}
    # the +-1 sigma shapes exactly as the workspace uses them (one-sided NPs mirrored)
    shifted = {}
    for np_ in cfg.shape_nps:
        shapes = [histosys_data(templates, p, np_.name, np_.one_sided) for p in cfg.backgrounds]
        shifted[np_.name] = tuple(sum(np.asarray(s[key]) for s in shapes) for key in ("hi_data", "lo_data"))
    fig = plot_score_templates(templates.edges, backgrounds, (cfg.signal, counts(templates, cfg.signal, "nominal")),
                               shifted, method=method, lumi_fb=cfg.luminosity_fb,
                               mc_statistics=mc_statistics(templates, cfg.backgrounds))
    save_figure(fig, pdf, cfg.run_id, png)
