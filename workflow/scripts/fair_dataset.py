"""Rule fair_dataset: one sample table -> a FAIR-Universe challenge dataset directory (Parquet + metadata)."""

from pathlib import Path

from systlab.runtime import log, start
from systlab.samples.fair import write_dataset

cfg = start(snakemake)  # noqa: F821
process, variation = snakemake.wildcards.process, snakemake.wildcards.variation  # noqa: F821
written = write_dataset(snakemake.input[0], Path(snakemake.output.parquet).parent, process,  # noqa: F821
                        fractions=cfg.splits, process=process, variation=variation)
assert written.files == (Path(snakemake.output.parquet), Path(snakemake.output.metadata)), written.files  # noqa: F821
log.info("%s/%s: %d events, sum of weights %.6g, in %s", process, variation, written.rows, written.sum_weights,
         written.files.parquet.parent)
