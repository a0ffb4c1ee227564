"""Rule figure_generator_closure: bias, width and coverage on generator-C / higher-order pseudo-data per model."""

import json
from pathlib import Path

from systlab.figures.generator_closure import plot_generator_closure
from systlab.figures.style import save_figure
from systlab.runtime import start

cfg = start(snakemake)  # noqa: F821
results: dict = {}
for path in snakemake.input:  # noqa: F821 results/generator_closure/<model>/<replica>.json
    payload = json.loads(Path(path).read_text())
    results.setdefault(payload["model"], []).append(payload)
save_figure(plot_generator_closure(results, lumi_fb=cfg.luminosity_fb), snakemake.output.pdf, cfg.run_id,  # noqa: F821
            snakemake.output.png)  # noqa: F821
