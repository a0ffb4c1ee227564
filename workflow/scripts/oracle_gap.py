"""Rule oracle_gap: the baseline and the oracle of each shifted truth, widths with the target NP profiled and fixed
at its true value and the templates' Fisher information on it (systlab.studies.oracle_gap)."""

from pathlib import Path

from systlab.atomic import atomic_path, write_json
from systlab.infer.toys import toy_expectation
from systlab.likelihood.workspace import read_workspace
from systlab.runtime import log, start
from systlab.studies.oracle_gap import decompose, gap_markdown, gap_payload
from systlab.templates.histograms import read_templates

smk = snakemake  # noqa: F821
cfg = start(smk)
pairs = [(m, r) for m in smk.params.models for r in smk.params.replicas]  # the inputs' order
truths = {t.name: t for t in cfg.truths if t.name in smk.params.oracles}
rows = []
for (model, replica), templates_path, spec_path in zip(pairs, smk.input.templates, smk.input.workspaces, strict=True):
    templates, spec = read_templates(templates_path), read_workspace(spec_path)
    for name, truth in truths.items():
        if model not in ("baseline", smk.params.oracles[name]):
            continue
        observed = toy_expectation(templates, f"truth_{name}", mu=truth.mu, signal=cfg.signal)
        row = decompose(spec, observed, cfg.target, truth.shifts[cfg.target], cfg.mu_range, model, replica, name)
        rows.append(row)
        log.info("%s %s %s: width %.4f profiled, %.4f with %s fixed (share %.4f), Fisher %.4g", name, model, replica,
                 row.profiled, row.fixed, cfg.target, row.np_share, row.fisher)
payload = gap_payload(rows, cfg.target, "baseline", smk.params.oracles)
write_json(smk.output.json, payload)
with atomic_path(Path(smk.output.md)) as tmp:
    Path(tmp).write_text(gap_markdown(payload))
