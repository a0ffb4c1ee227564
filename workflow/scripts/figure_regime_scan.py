"""Rule figure_regime_scan: the gap in standard errors, the target's constraint and impact rank per regime cell."""

import json
from pathlib import Path

from systlab.runtime import start
from systlab.studies.regime_scan import cells_luminosity
from systlab.visualize.regime_scan import plot_regime_scan
from systlab.visualize.style import save_figure

cfg = start(snakemake)  # noqa: F821
payload = json.loads(Path(snakemake.input[0]).read_text())  # noqa: F821
fig = plot_regime_scan(payload, cfg.target, lumi_fb=cells_luminosity(cfg.raw))  # the cells' luminosity, not the top's
save_figure(fig, snakemake.output.pdf, cfg.run_id, snakemake.output.png)  # noqa: F821
