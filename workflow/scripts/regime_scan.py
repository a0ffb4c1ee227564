"""Rule regime_scan: every cell's summary -> the scan table (oracle-baseline gap at +-1 sigma with its standard
error, the target NP's constraint and impact rank, the verdict) in results/regime_scan/summary.{json,md}."""

import json
from pathlib import Path

from systlab.atomic import atomic_path, write_json
from systlab.runtime import log, start
from systlab.studies.regime_scan import cell_row, scan_payload, scan_table

start(snakemake)  # noqa: F821
rows = [cell_row(Path(p).parents[2].name, json.loads(Path(p).read_text())) for p in snakemake.input]  # noqa: F821
write_json(snakemake.output.json, scan_payload(rows, snakemake.params.points))  # noqa: F821
with atomic_path(snakemake.output.md) as tmp:  # noqa: F821
    tmp.write_text(scan_table(rows))
log.info("%d cells, %d decisive", len(rows), sum(r.decisive for r in rows))
