"""Rules fit and fit_lambda_scan: every dataset of one model replica (Asimov; pseudo-data and expectation at each
truth) -> fit results, through the model's likelihood (a fixed classifier's workspace or a parameterized one's grid
profile); rule fit also makes the Asimov data's 95% CLs limit, expected Z0, pulls and impacts in the same job."""

from pathlib import Path

from systlab.atomic import write_json
from systlab.infer.pipeline import INFERENCE_KINDS, fit_all, inference_all
from systlab.runtime import start

cfg = start(snakemake)  # noqa: F821
method, inputs = snakemake.wildcards.method, dict(snakemake.input.items())  # noqa: F821
outputs = {Path(path).stem: path for path in snakemake.output.fits}  # noqa: F821
# the likelihood-surface figure draws the first replica's fine surface: the others skip it
payloads = fit_all(cfg, method, inputs, list(outputs), surface=snakemake.wildcards.replica == "r0")  # noqa: F821
for dataset, payload in payloads.items():
    write_json(outputs[dataset], payload)
if INFERENCE_KINDS[0] in snakemake.output.keys():  # noqa: F821
    for kind, payload in inference_all(cfg, method, inputs).items():
        write_json(snakemake.output[kind], payload)  # noqa: F821
