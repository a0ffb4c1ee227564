"""Rule theory_pulls: the LO/NLO scale table -> pulls.csv + summary.json of the pull study."""

from systlab.runtime import log, start
from systlab.theory import run_study, write_pulls_csv, write_summary_json

cfg = start(snakemake)  # noqa: F821
study = run_study(cfg.theory_table, loop_induced=cfg.loop_induced)
write_pulls_csv(study, snakemake.output.pulls)  # noqa: F821
write_summary_json(study, snakemake.output.summary)  # noqa: F821
ref = study.reference
log.info("run %s: %d rows from %s", cfg.run_id, study.n_rows, cfg.theory_table)
log.info("QCD per particle: up %.4f +- %.4f, down %.4f +- %.4f (%d processes)",
         ref.up.mean, ref.up.std, ref.down.mean, ref.down.std, ref.up.n_processes)
log.info("pulls: mean %.3g -> %.3g; tails after scheme: %s",
         study.stats_before.mean, study.stats_after.mean, [t.process for t in study.tails_after])
if study.loop_induced_unmatched:
    log.warning("loop_induced entries not in the table: %s", list(study.loop_induced_unmatched))
