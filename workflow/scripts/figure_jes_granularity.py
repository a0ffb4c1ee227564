"""Rule figure_jes_granularity: JES constraints and mu widths, coherent vs per-pT-bin JES NPs."""

import json
from pathlib import Path

from systlab.figures.jes_granularity import plot_jes_granularity
from systlab.figures.style import save_figure
from systlab.runtime import start

cfg = start(snakemake)  # noqa: F821
results: dict = {}
for path in snakemake.input:  # noqa: F821 results/jes_granularity/<model>/<replica>.json
    payload = json.loads(Path(path).read_text())
    results.setdefault(payload["model"], []).append(payload)
save_figure(plot_jes_granularity(results, lumi_fb=cfg.luminosity_fb), snakemake.output.pdf, cfg.run_id,  # noqa: F821
            snakemake.output.png)  # noqa: F821
