"""Rule ingest: raw ROOT/HDF5 files of one process -> its canonical event table."""

from systlab.runtime import log, start
from systlab.samples.ingest import InputSpec, ingest, simulated_spec

cfg = start(snakemake)  # noqa: F821
process = snakemake.wildcards.process  # noqa: F821
if process in cfg.inputs:
    spec = InputSpec.from_mapping({**cfg.inputs[process], "files": list(snakemake.input)},  # noqa: F821
                                  where=f"config inputs.{process}")
else:
    spec = simulated_spec(snakemake.input[0])  # noqa: F821
summary = ingest(spec, snakemake.output[0], chunk_size=cfg.chunk_size)  # noqa: F821
log.info("%s: %s", process, summary)
