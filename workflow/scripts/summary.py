"""Rule summary: metrics, fits and toys of every model replica -> the method comparison table."""

import json
from pathlib import Path

from systlab.runtime import log, start
from systlab.summary import build_summary, record_from_results, write_summary

cfg = start(snakemake)  # noqa: F821
truths = {t.name: (t.mu, t.shifts.get("tes", 0.0)) for t in cfg.truths}
records = {}
for model in cfg.model_names():
    metrics = json.loads(Path(f"results/models/{model}/metrics.json").read_text())["replicas"]
    for replica, entry in metrics.items():
        fits = {p.stem: json.loads(p.read_text()) for p in Path(f"results/fits/{model}/{replica}").glob("*.json")}
        toys = json.loads(Path(f"results/toys/{model}/{replica}.json").read_text())
        records.setdefault(model, {})[replica] = record_from_results(entry, fits, truths, toys)
notes = {
    "widths": "68% profile-likelihood width on mu, fitted to the toy-split expectation at each truth (key: TES shift)",
    "bias": "mu_hat - mu_true on that expectation",
    "coverage": f"{cfg.n_toys} toys per replica at mu = 1, NPs nominal, auxiliary data fluctuated",
}
write_summary(build_summary(records, notes), snakemake.output.json, snakemake.output.md)  # noqa: F821
log.info("summary of %d models written", len(records))
