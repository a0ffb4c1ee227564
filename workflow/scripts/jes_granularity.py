"""Rule jes_granularity: coherent JES NP vs one per jet-pT bin for one fixed-classifier replica."""

from pathlib import Path

from systlab.atomic import write_json
from systlab.likelihood.workspace import workspace_settings
from systlab.methods.data import read_events
from systlab.methods.onnx_io import OnnxScorer
from systlab.runtime import log, start
from systlab.studies.jes_granularity import binned_jes_score_tables, study
from systlab.studies.sensitivity import Truth, make_templates, read_tables
from systlab.templates.histograms import read_templates

cfg = start(snakemake)  # noqa: F821
method, replica = snakemake.wildcards.method, snakemake.wildcards.replica  # noqa: F821
boundaries = cfg.sensitivity.jes_bins
tables = read_tables({(Path(p).parent.name, Path(p).stem): p for p in snakemake.input.scores})  # noqa: F821
scorer = OnnxScorer(snakemake.input.model, threads=snakemake.threads)  # noqa: F821
events = read_events({Path(p).stem: p for p in snakemake.input.events})  # noqa: F821
tables |= binned_jes_score_tables(scorer, events, cfg.signal, cfg.shape_np("jes").sigma, boundaries, cfg.seed,
                                   cfg.splits)
templates = make_templates(tables, read_templates(snakemake.input.templates).edges)  # noqa: F821
truths = [Truth(t.name, t.mu, f"truth_{t.name}") for t in cfg.truths]
result = study(templates, workspace_settings(cfg), boundaries, truths, cfg.mu_range, cfg.scan_points)
for scheme, fits in result.items():
    log.info("%s: Asimov width %.3f, JES post/prior %s, over-constrained %s", scheme, fits["asimov"]["width"],
             fits["asimov"]["jes_constraints"], fits["asimov"]["over_constrained"])
write_json(snakemake.output[0], {"model": method, "replica": replica, "jes_bins": list(boundaries),  # noqa: F821
                                 "results": result})
