"""Rule metrics: AUC with the target NP at -1, 0, +1 sigma and background JS divergence at +-1 sigma, per replica,
from scores."""

from collections import defaultdict
from pathlib import Path

from systlab.runtime import log, start
from systlab.studies.metrics import model_metrics

cfg = start(snakemake)  # noqa: F821
# results/scores/<model>/<replica>/<process>/<variation>.parquet
scores = defaultdict(dict)
for path in map(Path, snakemake.input.scores):  # noqa: F821
    scores[path.parents[1].name][(path.parent.name, path.stem)] = path
payload = model_metrics(snakemake.wildcards.method, scores, snakemake.output[0], cfg.target_variations())  # noqa: F821
log.info("%s: %s", snakemake.wildcards.method, payload["summary"])  # noqa: F821
