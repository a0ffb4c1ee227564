"""Rule figure_generator_check: apparent vs held-back generator and scale differences per classifier."""

import json
from pathlib import Path

from systlab.runtime import start
from systlab.visualize.generator_check import plot_generator_check
from systlab.visualize.style import save_figure

cfg = start(snakemake)  # noqa: F821
fig = plot_generator_check(json.loads(Path(snakemake.input[0]).read_text()), lumi_fb=cfg.luminosity_fb)  # noqa: F821
save_figure(fig, snakemake.output.pdf, cfg.run_id, snakemake.output.png)  # noqa: F821
