"""Rule figure_profile_curves: -2 Delta lnL(mu) of every method on the expected pseudo-data of each truth."""

from systlab.runtime import start
from systlab.visualize.inference_inputs import by_model, models_for_truth, profile_curves
from systlab.visualize.profile_curves import plot_profile_curves
from systlab.visualize.style import np_symbol, save_figure

cfg = start(snakemake)  # noqa: F821
curves = profile_curves(snakemake.input.fits)  # noqa: F821
models = list(snakemake.params.models)  # noqa: F821
panels = []
for truth in sorted(cfg.truths, key=cfg.target_shift):
    shift = cfg.target_shift(truth)
    title = rf"pseudo-data {truth.name}: {np_symbol(cfg.target)} = {shift:+g}$\sigma$, $\mu$ = {truth.mu:g}"
    panels.append((title, by_model(curves[f"expected_{truth.name}"], models_for_truth(models, shift))))
note = "Fits to the toy-split expectation at each truth (no Poisson fluctuation)."
fig = plot_profile_curves(panels, lumi_fb=cfg.luminosity_fb, note=note)
save_figure(fig, snakemake.output.pdf, cfg.run_id, snakemake.output.png)  # noqa: F821
