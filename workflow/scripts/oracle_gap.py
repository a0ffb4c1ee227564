"""Rule oracle_gap: the baseline and the oracle of each shifted truth, widths with the target NP profiled and fixed
at its true value and the templates' Fisher information on it (systlab.studies.oracle_gap)."""

from pathlib import Path

from systlab.atomic import atomic_path, write_json
from systlab.runtime import log, start
from systlab.studies.oracle_gap import gap_markdown, gap_payload, gap_rows

smk = snakemake  # noqa: F821
cfg = start(smk)
pairs = [(m, r) for m in smk.params.models for r in smk.params.replicas]  # the inputs' order
rows = gap_rows(cfg, dict(zip(pairs, zip(smk.input.templates, smk.input.workspaces, strict=True), strict=True)),
                smk.params.oracles)  # fmt: skip
for row in rows:
    log.info("%s %s %s: width %.4f profiled, %.4f with %s fixed (share %.4f), Fisher %.4g", row.truth, row.model,
             row.replica, row.profiled, row.fixed, cfg.target, row.np_share, row.fisher)
payload = gap_payload(rows, cfg.target, "baseline", smk.params.oracles)
write_json(smk.output.json, payload)
with atomic_path(Path(smk.output.md)) as tmp:
    Path(tmp).write_text(gap_markdown(payload))
