"""Rule ratio_closure: an unbinned model replica's learned density ratios against every simulated shape variation."""

from pathlib import Path

from systlab.atomic import write_json
from systlab.runtime import log, start
from systlab.studies.ratio_closure import closure_payload, ratio_closure

smk = snakemake  # noqa: F821
cfg = start(smk)
paths = {(Path(p).parent.name, Path(p).stem): p for p in smk.input.samples}
closures = ratio_closure(cfg, smk.input.model, paths)
payload = closure_payload(closures)
for entry in payload["closures"]:
    log.info("%s %s: yield nominal %.2f, simulated %.2f, learned %.2f; chi2/ndf %.0f/%d (unweighted %.0f)",
             entry["process"], entry["sample"], *(entry["yields"][k] for k in ("nominal", "varied", "learned")),
             entry["chi2"], entry["ndf"], entry["chi2_nominal"])
write_json(smk.output[0], {"run_id": cfg.run_id, **payload})
