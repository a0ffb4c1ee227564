"""Rule simulate: generate one process with the built-in simulator and write it as raw ROOT (and HDF5)."""

import time

from systlab.runtime import log, start
from systlab.samples import rawio
from systlab.samples.simulate import simulate_process

cfg = start(snakemake)  # noqa: F821
process = snakemake.wildcards.process  # noqa: F821
t0 = time.perf_counter()
events = simulate_process(process, snakemake.params.events, cfg.seed, cfg.luminosity_fb, cfg.signal_boost,  # noqa: F821
                          cfg.mass_slices.get(process))
t1 = time.perf_counter()
rawio.write_root(events, snakemake.output.root)  # noqa: F821
if "hdf5" in snakemake.output.keys():  # noqa: F821
    rawio.write_hdf5(events, snakemake.output.hdf5)  # noqa: F821
log.info("%s: generated %d events (%d kept) in %.2f s (%.3g events/s), written in %.2f s", process,
         snakemake.params.events, len(events), t1 - t0, snakemake.params.events / (t1 - t0),  # noqa: F821
         time.perf_counter() - t1)
