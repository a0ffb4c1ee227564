"""Rule figure_width_vs_alpha: 68% interval width on mu vs the true target-NP shift per method, oracle as reference."""

from systlab.config import oracle_name
from systlab.runtime import start
from systlab.visualize.inference_inputs import interval_widths
from systlab.visualize.style import save_figure
from systlab.visualize.width_vs_alpha import plot_width_vs_alpha

cfg = start(snakemake)  # noqa: F821
widths = interval_widths(snakemake.input.fits)  # noqa: F821
shift = {t.name: cfg.target_shift(t) for t in cfg.truths}
models = [m for m in snakemake.params.models if not m.startswith("oracle")]  # noqa: F821
per_model = {m: {shift[t]: widths[f"expected_{t}"][m] for t in shift} for m in models}
oracle = {shift[t]: widths[f"expected_{t}"][oracle_name(cfg.target, shift[t])] for t in shift
          if oracle_name(cfg.target, shift[t]) in widths[f"expected_{t}"]}
fig = plot_width_vs_alpha(per_model, oracle, lumi_fb=cfg.luminosity_fb, np_name=cfg.target, sigma=cfg.target_np.sigma)
save_figure(fig, snakemake.output.pdf, cfg.run_id, snakemake.output.png)  # noqa: F821
