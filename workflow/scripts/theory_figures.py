"""Snakemake script: draw one figure of the pull study (params.figure) from pulls.csv + summary.json."""

import json
import logging
from pathlib import Path

from systlab.figures import theory as fig
from systlab.theory import TAIL_HEADER, in_qcd_reference, rank_tails, read_pulls_csv, tail_table_rows

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive
logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(message)s")
logging.getLogger("matplotlib").setLevel(logging.WARNING)

results = read_pulls_csv(snakemake.input.pulls)
summary = json.loads(Path(snakemake.input.summary).read_text())
note, run_id, pdf = summary["note"], snakemake.params.run_id, snakemake.output.pdf
with_pull = [r for r in results if r.has_pull]
if snakemake.params.figure == "pulls":
    before, after = [r.pull for r in with_pull], [r.scheme_pull for r in with_pull]
    fig.plot_pull_distribution(before, after, note, pdf, run_id)
elif snakemake.params.figure == "per_particle":
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
logging.info("wrote %s (run %s)", pdf, run_id)
