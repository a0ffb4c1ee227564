"""Rule figure_asymptotics: toy distribution of q_mu(mu_true) per method against chi2_1 (Wilks)."""

from systlab.runtime import start
from systlab.visualize.asymptotics import plot_asymptotics
from systlab.visualize.inference_inputs import by_model, toy_figures
from systlab.visualize.style import save_figure

cfg = start(snakemake)  # noqa: F821
toys = by_model(toy_figures(snakemake.input.toys), snakemake.params.models)  # noqa: F821
fig = plot_asymptotics(toys, lumi_fb=cfg.luminosity_fb)
save_figure(fig, snakemake.output.pdf, cfg.run_id, snakemake.output.png)  # noqa: F821
