"""Rule figure_impacts: NP pulls/constraints and the impact ranking on mu (Asimov data), one figure per model (the
whole family in one job: params.methods and the outputs in the same order, the inputs models outer)."""

from systlab.runtime import start
from systlab.visualize.impacts import plot_impacts
from systlab.visualize.inference_inputs import impact_rows
from systlab.visualize.style import save_figure

smk = snakemake  # noqa: F821
cfg = start(smk)
per_method = len(smk.input.impacts) // len(smk.params.methods)  # the replicas of each model
for i, (method, pdf, png) in enumerate(zip(smk.params.methods, smk.output.pdf, smk.output.png, strict=True)):
    replicas, rows = impact_rows(smk.input.impacts[i * per_method:(i + 1) * per_method])
    fig = plot_impacts(rows, replicas, method, dataset="Asimov", lumi_fb=cfg.luminosity_fb)
    save_figure(fig, pdf, cfg.run_id, png)
