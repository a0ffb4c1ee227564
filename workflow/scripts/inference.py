"""Rule inference: the Asimov data (mu = 1) of one model replica -> 95% CLs limit, expected Z0, pulls and impacts,
through a fixed classifier's workspace or a parameterized one's grid-profiled likelihood."""

from systlab.atomic import write_json
from systlab.infer.pipeline import inference_all
from systlab.runtime import start

cfg = start(snakemake)  # noqa: F821
payloads = inference_all(cfg, snakemake.wildcards.method, dict(snakemake.input.items()))  # noqa: F821
for kind, payload in payloads.items():
    write_json(snakemake.output[kind], payload)  # noqa: F821
