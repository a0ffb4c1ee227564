"""Rule figure_histosys_check: histosys fit against the TES grid construction per fixed classifier and dataset."""

from systlab.runtime import start
from systlab.studies.result_files import payloads_by_model
from systlab.visualize.histosys_check import plot_histosys_check
from systlab.visualize.style import save_figure

cfg = start(snakemake)  # noqa: F821
results = payloads_by_model(snakemake.input)  # noqa: F821 results/histosys_check/<model>/<replica>.json
true_tes = {"asimov": 0.0, **{f"expected_{t.name}": t.shifts.get("tes", 0.0) for t in cfg.truths}}
save_figure(plot_histosys_check(results, true_tes, lumi_fb=cfg.luminosity_fb), snakemake.output.pdf,  # noqa: F821
            cfg.run_id, snakemake.output.png)  # noqa: F821
