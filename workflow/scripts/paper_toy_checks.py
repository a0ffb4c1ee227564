"""Rule paper_toy_checks: the published behaviour of one toy checked on its trained replicas."""

from systlab.atomic import write_json
from systlab.papertoys.checks import toy_checks
from systlab.papertoys.evaluate import group_models
from systlab.papertoys.settings import parse_paper_toys
from systlab.runtime import log, start

smk = snakemake  # noqa: F821
start(smk)
settings = parse_paper_toys(smk.config)
models = group_models(smk.input)
result = toy_checks(smk.wildcards.toy, models, settings.oracle_points, settings.test_events, settings.seed)
for check in result["checks"]:
    log.info("%s: %s  %s", "PASS" if check["passed"] else "FAIL", check["name"], check["values"])
write_json(smk.output[0], result)
