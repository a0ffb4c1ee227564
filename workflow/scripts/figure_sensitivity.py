"""Rule figure_sensitivity: width and coverage against binning and against the pseudo-data's prior width."""

import json
from pathlib import Path

from systlab.runtime import start
from systlab.visualize.sensitivity import plot_sensitivity
from systlab.visualize.style import save_figure

cfg = start(snakemake)  # noqa: F821
results: dict = {}
for path in sorted(snakemake.input):  # noqa: F821 results/sensitivity/<study>/<model>/<replica>.json
    payload = json.loads(Path(path).read_text())
    results.setdefault(payload["study"], {}).setdefault(payload["model"], []).append(payload)
fig = plot_sensitivity(results, lumi_fb=cfg.luminosity_fb, np_name=cfg.target)
save_figure(fig, snakemake.output.pdf, cfg.run_id, snakemake.output.png)  # noqa: F821
