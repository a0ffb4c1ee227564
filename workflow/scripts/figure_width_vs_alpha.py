"""Rule figure_width_vs_alpha: 68% interval width on mu vs the true TES shift per method, oracle as reference."""

from systlab.config import oracle_name
from systlab.runtime import start
from systlab.visualize.inference_inputs import interval_widths
from systlab.visualize.style import save_figure
from systlab.visualize.width_vs_alpha import plot_width_vs_alpha

cfg = start(snakemake)  # noqa: F821
widths = interval_widths(snakemake.input.fits)  # noqa: F821
shift = {t.name: t.shifts.get("tes", 0.0) for t in cfg.truths}
models = [m for m in snakemake.params.models if not m.startswith("oracle")]  # noqa: F821
per_model = {m: {shift[t]: widths[f"expected_{t}"][m] for t in shift} for m in models}
oracle = {shift[t]: widths[f"expected_{t}"][oracle_name(shift[t])] for t in shift
          if oracle_name(shift[t]) in widths[f"expected_{t}"]}
tes_sigma = next((np_.sigma for np_ in cfg.shape_nps if np_.name == "tes"), None)
fig = plot_width_vs_alpha(per_model, oracle, lumi_fb=cfg.luminosity_fb, tes_sigma=tes_sigma)
save_figure(fig, snakemake.output.pdf, cfg.run_id, snakemake.output.png)  # noqa: F821
