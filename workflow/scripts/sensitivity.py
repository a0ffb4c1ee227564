"""Rule sensitivity: one study (binning or prior mismatch) for one fixed-classifier replica -> JSON points."""

from pathlib import Path

from systlab.atomic import write_json
from systlab.likelihood.workspace import build_workspace, workspace_settings
from systlab.runtime import log, start
from systlab.studies.sensitivity import (
    Truth,
    cut_edges,
    evaluate,
    make_templates,
    point_payload,
    prior_toy_expectations,
    read_tables,
)
from systlab.templates.histograms import bin_edges, signal_processes

cfg = start(snakemake)  # noqa: F821
study, method, replica = (snakemake.wildcards.study, snakemake.wildcards.method,  # noqa: F821
                          snakemake.wildcards.replica)  # noqa: F821
options = cfg.sensitivity
tables = read_tables({(Path(p).parent.name, Path(p).stem): p for p in snakemake.input})  # noqa: F821
signal = signal_processes(tables)
workspace = workspace_settings(cfg)
truths = [Truth(t.name, t.mu, f"truth_{t.name}") for t in cfg.truths]
seed = cfg.seed_stream("sensitivity", study, method, replica)
common = {"truths": truths, "mu_range": cfg.mu_range, "scan_points": cfg.scan_points,
          "n_toys": options.n_toys, "seed": seed}
points = []
if study == "bins":
    for n in options.bins:
        edges = cut_edges(tables, signal, options.cut_signal_efficiency) if n == 1 else bin_edges(
            tables, n, cfg.binning, signal, cfg.signal_efficiency)
        name = "cut" if n == 1 else str(n)
        templates = make_templates(tables, edges)
        points.append(evaluate(study, name, templates, build_workspace(templates, **workspace), **common))
        log.info("bins %s: edges %s, Asimov interval %s, coverage %.3f", name, edges.round(4).tolist(),
                 points[-1].asimov_interval, points[-1].coverage["coverage"])
else:
    templates = make_templates(tables, bin_edges(tables, cfg.bins, cfg.binning, signal, cfg.signal_efficiency))
    spec = build_workspace(templates, **workspace)
    for scale in options.prior_scales:
        rows = prior_toy_expectations(spec, {cfg.target: scale}, options.n_toys, seed)
        points.append(evaluate(study, f"{scale:g}", templates, spec, **common, toy_expected=rows))
        log.info("prior scale %g: coverage %.3f, mean width %.3f", scale, points[-1].coverage["coverage"],
                 points[-1].coverage["mean_width"])
write_json(snakemake.output[0], {"study": study, "model": method, "replica": replica,  # noqa: F821
                                 "points": [point_payload(p) for p in points]})
