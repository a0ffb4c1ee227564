"""Rule figure_aware_interpolation: AUC vs the true target-NP shift for the aware model with and without a grid
region."""

import json
from pathlib import Path

from systlab.runtime import start
from systlab.visualize.interpolation import plot_interpolation
from systlab.visualize.style import save_figure

cfg = start(snakemake)  # noqa: F821
payload = json.loads(Path(snakemake.input[0]).read_text())  # noqa: F821
fig = plot_interpolation(payload, cfg.target_np.grid, lumi_fb=cfg.luminosity_fb, np_name=cfg.target)
save_figure(fig, snakemake.output.pdf, cfg.run_id, snakemake.output.png)  # noqa: F821
