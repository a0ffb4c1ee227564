"""Rule figure_histosys_check: histosys fit against the grid construction in the target NP per fixed classifier and
dataset."""

from systlab.runtime import start
from systlab.studies.result_files import payloads_by_model
from systlab.visualize.histosys_check import plot_histosys_check
from systlab.visualize.style import save_figure

cfg = start(snakemake)  # noqa: F821
results = payloads_by_model(snakemake.input)  # noqa: F821 results/histosys_check/<model>/<replica>.json
true_alpha = {"asimov": 0.0, **{f"expected_{t.name}": cfg.target_shift(t) for t in cfg.truths}}
save_figure(plot_histosys_check(results, true_alpha, lumi_fb=cfg.luminosity_fb), snakemake.output.pdf,  # noqa: F821
            cfg.run_id, snakemake.output.png)  # noqa: F821
