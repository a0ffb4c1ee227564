"""Rule paper_toy_control: the rotating Gaussians through the grid likelihood, the methods' intervals and coverage."""

from systlab.atomic import write_json
from systlab.papertoys.control import onnx_model, run_control
from systlab.papertoys.evaluate import group_models
from systlab.runtime import log, start

smk = snakemake  # noqa: F821
cfg = start(smk)
settings = cfg.paper_toys
models = {name: [onnx_model(name, s) for s in scorers] for name, scorers in group_models(smk.input).items()}
payload = run_control(models, settings.control, settings.seed, log.info)
for check in payload["checks"]:
    log.info("%s: %s  %s", "PASS" if check["passed"] else "FAIL", check["name"], check["values"])
write_json(smk.output[0], payload)
