"""Rule interpolation_check: AUC against the TES grid point for baseline, aware, left-out aware and oracles."""

from pathlib import Path

from systlab.atomic import write_json
from systlab.interpolation_check import gap_summary, minus_reference, model_curve
from systlab.runtime import log, start

cfg = start(snakemake)  # noqa: F821
points = {float(k): sample for k, sample in snakemake.params.points.items()}  # noqa: F821
samples = {k: [p for p in snakemake.input.samples if Path(p).stem == sample] for k, sample in points.items()}  # noqa: F821
onnx: dict = {}
for path in snakemake.input.models:  # noqa: F821 results/models/<model>/<replica>/model.onnx
    model, replica = Path(path).parts[-3:-1]
    onnx.setdefault(model, {})[replica] = path
curves = {}
for model, paths in onnx.items():
    spec = cfg.model(model)
    at = [spec.tes_point] if spec.method == "oracle" else None  # an oracle is judged where it was trained
    if at is not None and at[0] not in points:
        continue
    curves[model] = {"method": spec.method, "left_out": spec.left_out, **model_curve(paths, samples, at)}
    log.info("%s: AUC %s", model, ", ".join(f"{k:+g}: {a:.4f}" for k, a in zip(curves[model]["points"],
                                                                            curves[model]["mean"], strict=True)))
if "aware" in curves:
    for curve in curves.values():
        curve["minus_aware"] = minus_reference(curve, curves["aware"])
left_out = {m.name: m.left_out for m in cfg.interpolation_models()}
write_json(snakemake.output[0], {"run_id": cfg.run_id, "config_digest": cfg.digest, "points": list(points),  # noqa: F821
                                 "curves": curves, "left_out": gap_summary(curves, left_out)})
