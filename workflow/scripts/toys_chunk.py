"""Rule toys_chunk: one chunk of the two toy studies (held-out and model toys) of one model replica at the toy truth
(mu = 1, no NP shift, aux fluctuated), either model kind (systlab.infer.pipeline.toy_chunk). Toy i draws from its
own streams, so any chunking gives the same toys."""

from systlab.atomic import write_json
from systlab.infer.pipeline import toy_chunk
from systlab.runtime import start

cfg = start(snakemake)  # noqa: F821
wildcards = snakemake.wildcards  # noqa: F821
payload = toy_chunk(cfg, wildcards.method, wildcards.replica, dict(snakemake.input.items()),  # noqa: F821
                    int(wildcards.chunk))
write_json(snakemake.output[0], payload)  # noqa: F821
