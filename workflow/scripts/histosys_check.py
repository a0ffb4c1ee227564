"""Rule histosys_check: the Asimov and expected_<truth> datasets of one fixed-classifier replica fitted through the
grid construction in the target NP, beside the histosys fits of the same datasets (systlab.studies.histosys_check)."""

import json
import time
from pathlib import Path

from systlab.likelihood.workspace import read_workspace
from systlab.runtime import log, start
from systlab.studies.histosys_check import check_dataset, check_payload, dataset_counts, grid_specs, write_check
from systlab.templates.histograms import read_templates

cfg = start(snakemake)  # noqa: F821
templates = read_templates(snakemake.input.templates)  # noqa: F821
spec = read_workspace(snakemake.input.workspace)  # noqa: F821
interpolation = snakemake.params.interpolation  # noqa: F821
alphas, specs = grid_specs(cfg, templates, cfg.target)
checks = []
for path in snakemake.input.fits:  # noqa: F821
    t0 = time.perf_counter()
    default = json.loads(Path(path).read_text())
    check, profile = check_dataset(cfg, alphas, specs, dataset_counts(cfg, templates, spec, Path(path).stem), spec,
                                   default, cfg.target, interpolation)  # fmt: skip
    checks.append(check)
    log.info("%s: mu_hat histosys %.4f grid %.4f; width histosys %.4f grid %.4f (code 4p fit %.4f); alpha %.3f vs "
             "%.3f; %.1f s%s", check.dataset, check.histosys_mu_hat, check.grid_mu_hat, check.histosys_interval[1] -
             check.histosys_interval[0], check.grid_interval[1] - check.grid_interval[0], check.default_interval[1] -
             check.default_interval[0], check.histosys_alpha, check.grid_alpha, time.perf_counter() - t0,
             "".join(f"\n  note: {n}" for n in profile.notes))
payload = check_payload(checks, cfg.target, alphas, interpolation)
payload["morph_step"] = cfg.grid_morph_step
payload["model"], payload["replica"] = snakemake.wildcards.method, snakemake.wildcards.replica  # noqa: F821
write_check(payload, snakemake.output[0])  # noqa: F821
