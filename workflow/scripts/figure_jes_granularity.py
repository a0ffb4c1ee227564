"""Rule figure_jes_granularity: JES constraints and mu widths, coherent vs per-pT-bin JES NPs."""

from systlab.runtime import start
from systlab.studies.result_files import payloads_by_model
from systlab.visualize.jes_granularity import plot_jes_granularity
from systlab.visualize.style import save_figure

cfg = start(snakemake)  # noqa: F821
results = payloads_by_model(snakemake.input)  # noqa: F821 results/jes_granularity/<model>/<replica>.json
save_figure(plot_jes_granularity(results, lumi_fb=cfg.luminosity_fb), snakemake.output.pdf, cfg.run_id,  # noqa: F821
            snakemake.output.png)  # noqa: F821
