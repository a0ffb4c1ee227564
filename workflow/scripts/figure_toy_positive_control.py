"""Rule figure_toy_positive_control: the profiled -2 Delta lnL(mu) of the control's methods per true Z."""

import json
from pathlib import Path

from systlab.papertoys.figure_data import control_curves
from systlab.runtime import start
from systlab.visualize.paper_toys import plot_positive_control
from systlab.visualize.style import save_figure

smk = snakemake  # noqa: F821
cfg = start(smk)
payload = json.loads(Path(smk.input[0]).read_text())
save_figure(plot_positive_control(control_curves(payload)), smk.output.pdf, cfg.run_id, smk.output.png)
