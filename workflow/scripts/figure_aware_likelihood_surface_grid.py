"""Rule figure_aware_likelihood_surface: the (mu, alpha) -2dlnL surface of aware replica r0, per dataset (alpha: the
target NP)."""

import json
from pathlib import Path

from systlab.infer.grid_profile import likelihood_surface
from systlab.runtime import start
from systlab.visualize.likelihood_surface import SurfacePanel, plot_likelihood_surface
from systlab.visualize.style import save_figure

cfg = start(snakemake)  # noqa: F821
fits = {(Path(p).parent.name, Path(p).stem): json.loads(Path(p).read_text()) for p in snakemake.input.fits}  # noqa: F821
replicas = sorted({r for r, _ in fits}, key=lambda r: int(r[1:]))
truths = {f"expected_{t.name}": t for t in cfg.truths}
panels = []
for dataset in snakemake.params.datasets:  # noqa: F821
    truth = truths.get(dataset)
    shift = cfg.target_shift(truth)
    title = ("Asimov ($\\mu = 1$, $\\alpha = 0$)" if truth is None else
             f"expected at truth {truth.name} ($\\mu = {truth.mu:g}$, $\\alpha = {shift:+g}\\sigma$)")
    best = [(fits[r, dataset]["mu_hat"], fits[r, dataset]["grid"]["alpha_hat"]) for r in replicas]
    panels.append(SurfacePanel(f"aware, replica r0\n{title}", likelihood_surface(fits[replicas[0], dataset]), best))
fig = plot_likelihood_surface(panels, cfg.luminosity_fb, np_name=cfg.target, sigma=cfg.target_np.sigma)
save_figure(fig, snakemake.output.pdf, cfg.run_id, snakemake.output.png)  # noqa: F821
