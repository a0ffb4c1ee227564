"""Rule figure_coverage: coverage, mean width and FAIR score of the 68% intervals from toys, per method."""

from systlab.runtime import start
from systlab.visualize.coverage import plot_coverage
from systlab.visualize.inference_inputs import by_model, toy_figures
from systlab.visualize.style import save_figure

cfg = start(snakemake)  # noqa: F821
toys = by_model(toy_figures(snakemake.input.toys, snakemake.input.held_out_fits), snakemake.params.models)  # noqa: F821
fig = plot_coverage(toys, n_toys=cfg.n_toys, lumi_fb=cfg.luminosity_fb)
save_figure(fig, snakemake.output.pdf, cfg.run_id, snakemake.output.png)  # noqa: F821
