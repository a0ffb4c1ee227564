"""Rule toys: the chunks of one fixed-classifier replica -> coverage, mean width, FAIR score (held-out and model)."""

import json

from systlab.infer.toys import merge_chunks, toy_chunk_from_payload, write_coverage
from systlab.runtime import log, start

start(snakemake)  # noqa: F821
payloads = [(path, json.loads(open(path).read())) for path in snakemake.input]  # noqa: F821
results = {name: merge_chunks([toy_chunk_from_payload(p.get(name, {}), path) for path, p in payloads])
           for name in ("held_out", "model")}
for name, c in results.items():
    log.info("%s toys (%d): coverage %.3f (sigma68 %.3f), mean width %.3f, bias %.3f, score %.3f", name, c.n_toys,
             c.coverage, c.sigma68, c.mean_width, c.bias, c.score)
write_coverage(results["held_out"], snakemake.output[0], model=results["model"])  # noqa: F821
