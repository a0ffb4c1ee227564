"""Rule toys (toys.chunks > 1): the chunks of one model replica -> coverage, mean width, FAIR score (held-out and
model toys)."""

import json
from pathlib import Path

from systlab.atomic import write_json
from systlab.infer.pipeline import merge_toys
from systlab.runtime import start

start(snakemake)  # noqa: F821
chunks = [(path, json.loads(Path(path).read_text())) for path in snakemake.input]  # noqa: F821
write_json(snakemake.output[0], merge_toys(chunks))  # noqa: F821
