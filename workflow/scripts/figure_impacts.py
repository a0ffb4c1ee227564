"""Rule figure_impacts: NP pulls/constraints and the impact ranking on mu of one fixed classifier (Asimov data)."""

from systlab.runtime import start
from systlab.visualize.impacts import plot_impacts
from systlab.visualize.inference_inputs import impact_rows
from systlab.visualize.style import save_figure

cfg = start(snakemake)  # noqa: F821
replicas, rows = impact_rows(snakemake.input.impacts)  # noqa: F821
fig = plot_impacts(rows, replicas, snakemake.wildcards.method, dataset="Asimov", lumi_fb=cfg.luminosity_fb)  # noqa: F821
save_figure(fig, snakemake.output.pdf, cfg.run_id, snakemake.output.png)  # noqa: F821
