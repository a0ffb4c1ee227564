"""Snakemake script: run the scale-uncertainty pull study and write pulls.csv + summary.json."""

import logging

from systlab.theory import run_study, write_pulls_csv, write_summary_json

snakemake = globals()["snakemake"]  # injected by Snakemake's script directive
logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(message)s")
log = logging.getLogger("theory_pulls")

study = run_study(snakemake.input.table, loop_induced=snakemake.params.loop_induced)
write_pulls_csv(study, snakemake.output.pulls)
write_summary_json(study, snakemake.output.summary)
ref = study.reference
log.info("run %s: %d rows from %s", snakemake.params.run_id, study.n_rows, snakemake.input.table)
log.info("QCD per particle: up %.4f +- %.4f, down %.4f +- %.4f (%d processes)",
         ref.up.mean, ref.up.std, ref.down.mean, ref.down.std, ref.up.n_processes)
log.info("pulls: mean %.3g -> %.3g; tails after scheme: %s",
         study.stats_before.mean, study.stats_after.mean, [t.process for t in study.tails_after])
if study.loop_induced_unmatched:
    log.warning("loop_induced entries not in the table: %s", list(study.loop_induced_unmatched))
