"""Rule generator_check: yields after a score cut in every generator / scale variant, per model and replica."""

from pathlib import Path

from systlab.atomic import write_json
from systlab.methods.data import read_events
from systlab.runtime import log, start
from systlab.studies.generator_check import check_payload, template_variants
from systlab.studies.result_files import model_files

cfg = start(snakemake)  # noqa: F821
variants = template_variants(read_events({Path(p).stem: p for p in snakemake.input.events}),  # noqa: F821
                             cfg.signal, cfg.seed, cfg.splits)  # fmt: skip
onnx = model_files(snakemake.input.models)  # noqa: F821
payload = check_payload(onnx, {m: cfg.model(m) for m in onnx}, variants, cfg.signal,
                        cfg.generator_check.cut_signal_efficiency, threads=snakemake.threads)  # noqa: F821
for model, entry in payload["models"].items():
    diff = entry["summary"]
    log.info("%s: background apparent / held-back: generator %.4f / %.4f, scale %.4f / %.4f", model,
             *(diff[f]["background"][k]["mean"] for f in ("generator", "scale") for k in ("apparent", "held_back")))
write_json(snakemake.output[0], {"run_id": cfg.run_id, **payload})  # noqa: F821
