"""Rule figure_regime_scan: the gap in standard errors, the target's constraint and impact rank per regime cell."""

import json
from pathlib import Path

from systlab.runtime import start
from systlab.studies.regime_scan import cells
from systlab.visualize.regime_scan import plot_regime_scan
from systlab.visualize.style import save_figure

cfg = start(snakemake)  # noqa: F821
payload = json.loads(Path(snakemake.input[0]).read_text())  # noqa: F821
# the label is the luminosity the cells ran at (regime_scan.overlay may set it), none where they differ
lumis = {cell["simulate"]["luminosity_fb"] for cell in cells(cfg.raw).values()}
fig = plot_regime_scan(payload, cfg.target, lumi_fb=lumis.pop() if len(lumis) == 1 else None)
save_figure(fig, snakemake.output.pdf, cfg.run_id, snakemake.output.png)  # noqa: F821
