"""Rule fair_protocol: one model replica evaluated the FAIR-Universe challenge's way (systlab.infer.fair_protocol)."""

from systlab.atomic import write_json
from systlab.infer.fair_protocol import evaluate_replica
from systlab.runtime import log, start

cfg = start(snakemake)  # noqa: F821
wildcards = snakemake.wildcards  # noqa: F821
payload = evaluate_replica(cfg, wildcards.method, dict(snakemake.input.items()))  # noqa: F821
write_json(snakemake.output[0], {**payload, "method": wildcards.method, "replica": wildcards.replica})  # noqa: F821
for prior, result in payload["priors"].items():
    log.info("%s prior: %d PEs, coverage %s, mean width %s, score %s", prior, result["n"], result["coverage"],
             result["mean_width"], result["score"])
