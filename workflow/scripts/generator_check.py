"""Rule generator_check: yields after a score cut in every generator / scale variant, per model and replica."""

from pathlib import Path

from systlab.atomic import write_json
from systlab.generator_check import model_summary, replica_check, template_variants
from systlab.onnx_io import OnnxScorer
from systlab.runtime import log, start
from systlab.train.data import read_events

cfg = start(snakemake)  # noqa: F821
variants = template_variants(
    read_events({Path(p).stem: p for p in snakemake.input.events}),  # noqa: F821
    cfg.signal,
    cfg.seed,
    cfg.splits,
)
efficiency = cfg.generator_check.cut_signal_efficiency
models: dict = {}
for path in snakemake.input.models:  # noqa: F821 results/models/<model>/<replica>/model.onnx
    model, replica = Path(path).parts[-3:-1]
    check = replica_check(OnnxScorer(path, threads=snakemake.threads), variants, cfg.signal, efficiency)  # noqa: F821
    models.setdefault(model, {"replicas": {}})["replicas"][replica] = check
    log.info(
        "%s/%s: background apparent / held-back: generator %.4f / %.4f, scale %.4f / %.4f",
        model,
        replica,
        *(check["differences"][f]["background"][k] for f in ("generator", "scale") for k in ("apparent", "held_back")),
    )
for model, entry in models.items():
    spec = cfg.model(model)
    entry.update(
        method=spec.method,
        nuisance=spec.nuisance if spec.method in ("pivot", "disco") else None,
        summary=model_summary(list(entry["replicas"].values())),
    )
payload = {"run_id": cfg.run_id, "config_digest": cfg.digest, "cut_signal_efficiency": efficiency, "models": models}
write_json(snakemake.output[0], payload)  # noqa: F821
