"""Rules theory_figure_*: one figure of the pull study (params.figure) from pulls.csv + summary.json."""

import json
import logging
from pathlib import Path

from systlab.runtime import log, start
from systlab.theory import TAIL_HEADER, in_qcd_reference, rank_tails, read_pulls_csv, tail_table_rows
from systlab.visualize import theory as fig

cfg = start(snakemake)  # noqa: F821
logging.getLogger("matplotlib").setLevel(logging.WARNING)  # mathtext logs every symbol substitution at INFO
results = read_pulls_csv(snakemake.input.pulls)  # noqa: F821
summary = json.loads(Path(snakemake.input.summary).read_text())  # noqa: F821
note, run_id, pdf = summary["note"], cfg.run_id, snakemake.output.pdf  # noqa: F821
figure = snakemake.params.figure  # noqa: F821
with_pull = [r for r in results if r.has_pull]
if figure == "pulls":
    before, after = [r.pull for r in with_pull], [r.scheme_pull for r in with_pull]
    fig.plot_pull_distribution(before, after, note, pdf, run_id)
elif figure == "per_particle":
    qcd = [r for r in results if in_qcd_reference(r)]
    up, down = summary["qcd_per_particle"]["up"], summary["qcd_per_particle"]["down"]
    fig.plot_per_particle([r.process for r in qcd], [r.n for r in qcd],
                          [r.lo_scale_up / r.n for r in qcd], [r.lo_scale_down / r.n for r in qcd],
                          up["mean"], up["std"], down["mean"], down["std"], note, pdf, run_id)
else:
    threshold = summary["tails"]["threshold_abs_pull"]
    tails = rank_tails(results, after_scheme=True, threshold=threshold)
    title = (f"Surviving tails: |t| > {threshold:g} after the reference scheme "
             f"({len(tails)} of {len(summary['tails']['before'])} tails before survive)")
    fig.plot_tail_table(TAIL_HEADER, tail_table_rows(tails), title, note, pdf, run_id)
log.info("wrote %s (run %s)", pdf, run_id)
