"""Rule vary: canonical events of one process -> one sample table per variation."""

from systlab.runtime import log, start
from systlab.samples.simulate import process_seed
from systlab.samples.vary import vary_process

cfg = start(snakemake)  # noqa: F821
process = snakemake.wildcards.process  # noqa: F821
variations = cfg.variations()
result = vary_process(
    snakemake.input[0],  # noqa: F821
    variations,
    out_paths=dict(zip([v.name for v in variations], snakemake.output, strict=True)),  # noqa: F821
    label=int(process == cfg.signal),
    seed=cfg.seed,
    fractions=cfg.splits,
    draw_seed=process_seed(cfg.seed + 1, process),
)
log.info("%s: %d events in, per variation out %s, %.2f s", process, result.events_in, result.events_out,
         result.seconds)
