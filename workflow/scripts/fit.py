"""Rule fit: every dataset of one model replica (Asimov; pseudo-data and expectation at each truth) -> fit results,
through the model's likelihood: a fixed classifier's workspace or a parameterized one's grid profile."""

from pathlib import Path

from systlab.atomic import write_json
from systlab.infer.pipeline import fit_all
from systlab.runtime import start

cfg = start(snakemake)  # noqa: F821
outputs = {Path(path).stem: path for path in snakemake.output}  # noqa: F821
# the likelihood-surface figure draws the first replica's fine surface: the others skip it
payloads = fit_all(cfg, snakemake.wildcards.method, dict(snakemake.input.items()), list(outputs),  # noqa: F821
                   surface=snakemake.wildcards.replica == "r0")  # noqa: F821
for dataset, payload in payloads.items():
    write_json(outputs[dataset], payload)
