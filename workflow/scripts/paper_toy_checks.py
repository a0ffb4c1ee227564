"""Rule paper_toy_checks: the published behaviour of one toy checked on its trained replicas."""

from systlab.atomic import write_json
from systlab.papertoys.checks import toy_checks
from systlab.papertoys.evaluate import group_models
from systlab.runtime import log, start

smk = snakemake  # noqa: F821
cfg = start(smk)
settings = cfg.paper_toys
models = group_models(smk.input)
result = toy_checks(smk.wildcards.toy, models, settings.oracle_points, settings.test_events, settings.seed)
for check in result["checks"]:
    log.info("%s: %s  %s", "PASS" if check["passed"] else "FAIL", check["name"], check["values"])
write_json(smk.output[0], result)
