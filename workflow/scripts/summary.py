"""Rule summary: metrics, fits and toys of every model replica -> the method comparison table."""

from systlab.runtime import log, start
from systlab.summary import summary_from_files, write_summary

cfg = start(snakemake)  # noqa: F821
notes = {
    "widths": "68% profile-likelihood width on mu, fitted to the toy-split expectation at each truth (key: TES shift)",
    "bias": "mu_hat - mu_true on that expectation",
    "coverage": f"{cfg.n_toys} toys per replica at mu = 1, NPs nominal, auxiliary data fluctuated",
}
truths = {t.name: (t.mu, t.shifts.get("tes", 0.0)) for t in cfg.truths}
summary = summary_from_files(snakemake.input.metrics, snakemake.input.fits, snakemake.input.toys, truths,  # noqa: F821
                             notes)
write_summary(summary, snakemake.output.json, snakemake.output.md)  # noqa: F821
log.info("summary of %d models written", len(summary["methods"]))
