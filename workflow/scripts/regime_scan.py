"""Rule regime_scan: every cell's summary -> the scan table (oracle-baseline gap at +-1 sigma with its standard
error, the target NP's constraint and impact rank, the verdict) in results/regime_scan/summary.{json,md}."""

from systlab.runtime import log, start
from systlab.studies.regime_scan import write_scan

start(snakemake)  # noqa: F821
rows = write_scan(snakemake.input, snakemake.params.points, snakemake.output.json, snakemake.output.md)  # noqa: F821
log.info("%d cells, %d decisive", len(rows), sum(r.decisive for r in rows))
