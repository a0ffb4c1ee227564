"""Rule interpolation_check: AUC against the TES grid point for baseline, aware, left-out aware and oracles."""

from pathlib import Path

from systlab.atomic import write_json
from systlab.runtime import log, start
from systlab.studies.interpolation_check import check_payload
from systlab.studies.result_files import model_files

cfg = start(snakemake)  # noqa: F821
points = {float(k): sample for k, sample in snakemake.params.points.items()}  # noqa: F821
samples = {k: [p for p in snakemake.input.samples if Path(p).stem == sample] for k, sample in points.items()}  # noqa: F821
onnx = model_files(snakemake.input.models)  # noqa: F821
payload = check_payload(onnx, {m: cfg.model(m) for m in onnx}, samples)
for model, curve in payload["curves"].items():
    log.info("%s: AUC %s", model, ", ".join(f"{k:+g}: {a:.4f}" for k, a in zip(curve["points"], curve["mean"],
                                                                             strict=True)))  # fmt: skip
write_json(snakemake.output[0], {"run_id": cfg.run_id, **payload})  # noqa: F821
