"""Rule unbinned_inputs: an unbinned model replica's per-event tables of its event sets, and its unbinned model."""

from pathlib import Path

import numpy as np

from systlab.likelihood.unbinned import polynomial_terms
from systlab.likelihood.unbinned_inputs import SPREAD_RANGE, build_inputs, write_inputs
from systlab.methods.unbinned import calibrated_nps
from systlab.runtime import log, start

smk = snakemake  # noqa: F821
cfg = start(smk)
paths = {(Path(p).parent.name, Path(p).stem): p for p in smk.input.samples}
model, sets, tabulation, calibration = build_inputs(cfg, smk.input.model, paths, calibrate=calibrated_nps(cfg))
write_inputs(model, sets, smk.output.events, smk.output.model, tabulation, calibration)
if calibration.tuned:
    log.info("within-region spread factors %s; mu-hat on the template split's simulated variations %s -> %s",
             {f"{model.processes[p]}/{model.shape_nps[k]}": round(float(calibration.factors[p, k]), 4)
              for p, k in calibration.tuned},
             {k: round(v, 4) for k, v in calibration.before.items()},
             {k: round(v, 4) for k, v in calibration.after.items()})  # fmt: skip
    bound = [f"{model.processes[p]}/{model.shape_nps[k]}" for p, k in calibration.tuned
             if calibration.factors[p, k] in SPREAD_RANGE]  # fmt: skip
    if bound:
        log.warning("spread factor(s) of %s at the search bound %s: the closure wants more", bound, SPREAD_RANGE)
for name, s in sets.items():
    log.info("%s: %d events, %.1f expected", name, len(s.weight), s.weight.sum())
log.info("fractions calibrated on the template events: log prior shifts %s", tabulation.prior_shift.round(4).tolist())
for p, process in enumerate(model.processes):
    log.info("%s: log-yield corrections to the simulated variations per region at a = -1 / +1, per NP: %s", process,
             {name: [polynomial_terms(tabulation.yield_correction[p][..., k, :], np.array(a))[0].round(3).tolist()
                     for a in (-1.0, 1.0)] for k, name in enumerate(model.shape_nps)})  # fmt: skip
log.info("yields %s in %d MC-statistics regions (relative MC errors %s)",
         dict(zip(model.processes, model.yields.sum(axis=1).round(2).tolist(), strict=True)), model.regions,
         None if model.stat_sigma is None else model.stat_sigma.round(4).tolist())
