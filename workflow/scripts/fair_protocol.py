"""Rule fair_protocol: every replica of one model evaluated the FAIR-Universe challenge's way on the same
pseudo-experiments (systlab.infer.fair_protocol)."""

from pathlib import Path

from systlab.atomic import write_json
from systlab.infer.fair_protocol import evaluate_method, split_inputs
from systlab.runtime import log, start

smk = snakemake  # noqa: F821
cfg = start(smk)
method = smk.wildcards.method
payloads = evaluate_method(cfg, method, *split_inputs(dict(smk.input.items())))
for path in smk.output:
    replica = Path(path).stem
    write_json(path, {**payloads[replica], "method": method, "replica": replica})
    for prior, result in payloads[replica]["priors"].items():
        log.info("%s %s prior: %d PEs, coverage %s, mean width %s, score %s", replica, prior, result["n"],
                 result["coverage"], result["mean_width"], result["score"])
