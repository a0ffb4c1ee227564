"""Rule figure_ratio_closure: an unbinned model's learned density ratios against the simulated variations (r0)."""

import json
from pathlib import Path

from systlab.runtime import start
from systlab.studies.ratio_closure import closure_from_payload
from systlab.visualize.ratio_closure import plot_ratio_closure
from systlab.visualize.style import save_figure

smk = snakemake  # noqa: F821
cfg = start(smk)
closures = closure_from_payload(json.loads(Path(smk.input[0]).read_text()))
fig = plot_ratio_closure(closures, smk.wildcards.method, cfg.target, Path(smk.input[0]).stem)
save_figure(fig, smk.output.pdf, cfg.run_id, smk.output.png)
