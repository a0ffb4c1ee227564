"""Rule generator_closure: generator-C and higher-order pseudo-data fitted with and without the generator NP."""

from pathlib import Path

from systlab.atomic import write_json
from systlab.likelihood.workspace import workspace_settings
from systlab.methods.data import read_events
from systlab.methods.onnx_io import OnnxScorer
from systlab.runtime import log, start
from systlab.studies.generator_closure import closure, variant_score_tables
from systlab.studies.sensitivity import make_templates, read_tables
from systlab.templates.histograms import read_templates

cfg = start(snakemake)  # noqa: F821
method, replica = snakemake.wildcards.method, snakemake.wildcards.replica  # noqa: F821
tables = read_tables({(Path(p).parent.name, Path(p).stem): p for p in snakemake.input.scores})  # noqa: F821
events = read_events({Path(p).stem: p for p in snakemake.input.events})  # noqa: F821
scorer = OnnxScorer(snakemake.input.model, threads=snakemake.threads)  # noqa: F821
tables |= variant_score_tables(scorer, events, cfg.signal, cfg.seed, cfg.splits)
templates = make_templates(tables, read_templates(snakemake.input.templates).edges)  # noqa: F821
n_toys = cfg.generator_check.closure_toys
result = closure(templates, workspace_settings(cfg), cfg.mu_range, cfg.scan_points, n_toys,
                 seed=cfg.seed_stream("generator_closure", method, replica))
for workspace, targets in result.items():
    for target, row in targets.items():
        log.info("%s, %s: bias %+.3f, width %.3f, coverage %s", workspace, target, row["bias"], row["width"],
                 row.get("toys", {}).get("coverage"))
write_json(snakemake.output[0], {"model": method, "replica": replica, "n_toys": n_toys, "results": result})  # noqa: F821
