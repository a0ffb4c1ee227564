"""Rule figure_fair_protocol: per model, the pseudo-experiments' [p16, p84] against the true mu (both priors)."""

import json
from pathlib import Path

from systlab.runtime import start
from systlab.visualize.fair_protocol import plot_fair_protocol
from systlab.visualize.style import save_figure

cfg = start(snakemake)  # noqa: F821
replicas = {}
for path in map(Path, snakemake.input):  # noqa: F821  results/fair_protocol/<model>/<replica>.json
    replicas.setdefault(path.parent.name, []).append(json.loads(path.read_text()))
models = [m for m in snakemake.params.models if m in replicas]  # noqa: F821
fig = plot_fair_protocol({m: replicas[m] for m in models}, lumi_fb=cfg.luminosity_fb)
save_figure(fig, snakemake.output.pdf, cfg.run_id, snakemake.output.png)  # noqa: F821
