"""Rule fit: every dataset of one model replica (Asimov; pseudo-data and expectation at each truth) -> fits."""

from pathlib import Path

from systlab.infer.fit import asimov_counts, fit_dataset, pseudo_data_counts, write_fit_result
from systlab.infer.toys import toy_expectation
from systlab.likelihood.workspace import read_workspace
from systlab.runtime import log, start
from systlab.templates.histograms import read_templates

cfg = start(snakemake)  # noqa: F821
spec = read_workspace(snakemake.input.workspace)  # noqa: F821
templates = read_templates(snakemake.input.templates)  # noqa: F821
for out in snakemake.output:  # noqa: F821
    dataset = Path(out).stem
    kind, _, name = dataset.partition("_")
    if dataset == "asimov":
        observed = asimov_counts(spec)
    elif kind == "expected":
        truth = next(t for t in cfg.truths if t.name == name)
        observed = toy_expectation(templates, f"truth_{name}", mu=truth.mu, signal=cfg.signal)
    else:
        truth = next(t for t in cfg.truths if t.name == name)
        observed = pseudo_data_counts(templates, dataset, mu=truth.mu, seed=cfg.seed_stream(dataset),
                                      signal=cfg.signal)
    result = fit_dataset(spec, observed, cfg.mu_range, cfg.scan_points, dataset)
    write_fit_result(result, out)
    log.info("%s: mu_hat = %.4f, 68%% interval [%.4f, %.4f], converged %s", dataset, result.mu_hat,
             *result.interval_68, result.converged)
