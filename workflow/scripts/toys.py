"""Rule toys (toys.chunks: 1): all toys of one model replica in one job -> coverage, mean width, FAIR score.

The same toys as chunk 0 of 1 merged (systlab.infer.pipeline.toy_chunk then merge_toys); the chunk goes through its
JSON form, as it would through a chunk file, so both routes give the same bytes."""

import json

from systlab.atomic import write_json
from systlab.infer.pipeline import merge_toys, toy_chunk
from systlab.runtime import start

cfg = start(snakemake)  # noqa: F821
wildcards = snakemake.wildcards  # noqa: F821
chunk = toy_chunk(cfg, wildcards.method, wildcards.replica, dict(snakemake.input.items()), 0)  # noqa: F821
chunk = json.loads(json.dumps(chunk, allow_nan=False))
write_json(snakemake.output[0], merge_toys([(snakemake.output[0], chunk)]))  # noqa: F821
