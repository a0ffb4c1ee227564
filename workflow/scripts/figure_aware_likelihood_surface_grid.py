"""Rule figure_aware_likelihood_surface: the (mu, alpha_TES) -2dlnL surface of aware replica r0, per dataset."""

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
    shift = 0.0 if truth is None else truth.shifts.get("tes", 0.0)
    title = ("Asimov ($\\mu = 1$, $\\alpha = 0$)" if truth is None else
             f"expected at truth {truth.name} ($\\mu = {truth.mu:g}$, $\\alpha = {shift:+g}\\sigma$)")
    best = [(fits[r, dataset]["mu_hat"], fits[r, dataset]["grid"]["alpha_hat"]) for r in replicas]
    panels.append(SurfacePanel(f"aware, replica r0\n{title}", likelihood_surface(fits[replicas[0], dataset]), best))
tes_sigma = next((n.sigma for n in cfg.shape_nps if n.name == "tes"), None)
save_figure(plot_likelihood_surface(panels, cfg.luminosity_fb, tes_sigma), snakemake.output.pdf, cfg.run_id,  # noqa: F821
            snakemake.output.png)  # noqa: F821
