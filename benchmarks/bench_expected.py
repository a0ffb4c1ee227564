"""The expected counts λ(θ) of a workspace: systlab's numpy ``ModelTerms`` against pyhf's own model.

Why systlab keeps its own evaluation (issue #19): every fit calls λ(θ) for the central differences of its Newton
steps, tens of thousands of times per job, and pyhf's numpy backend spends most of each call on dispatch. Workspace:
``bench_fit.workspace_spec()`` (10 bins, 4 samples, 18 parameters, every modifier type systlab writes). Contenders,
interleaved, same rows: (A) ``pyhf`` ``model.expected_actualdata`` of a model built with that batch size; (B)
``ModelTerms.expected``. Rows: 1 (a scalar −2lnL), 37 (the gradient of one fit), 2 000 (one Newton step of ~50 toys).
Figure: A seconds ÷ B seconds per call at each size (info); agreement max |B/A − 1| printed.
"""

from __future__ import annotations

import numpy as np

try:
    from benchmarks.bench_fit import workspace_spec
    from benchmarks.common import Figure, interleave, main_for, median
except ImportError:
    from bench_fit import workspace_spec
    from common import Figure, interleave, main_for, median

from systlab.likelihood.expected import ModelTerms
from systlab.likelihood.workspace import workspace_model


def run(quick: bool = False) -> list[Figure]:
    spec = workspace_spec()
    terms = ModelTerms(workspace_model(spec))
    rng = np.random.default_rng(7)
    model = workspace_model(spec)
    init = np.asarray(model.config.suggested_init(), dtype=float)
    bounds = np.asarray(model.config.suggested_bounds(), dtype=float)
    figures = []
    for rows in (1, 37, 2000):
        x = np.clip(init + rng.normal(0.0, 0.3, (rows, init.size)), bounds[:, 0], bounds[:, 1])
        batch = workspace_model(spec, batch_size=rows)
        calls = max(1, 2000 // rows) * (1 if quick else 5)

        def pyhf_calls(batch=batch, x=x, calls=calls):
            for _ in range(calls):
                batch.expected_actualdata(x)

        def terms_calls(x=x, calls=calls):
            for _ in range(calls):
                terms.expected(x)

        times = interleave({"pyhf": pyhf_calls, "systlab": terms_calls}, repeats=3 if quick else 7)
        a, b = median(times["pyhf"]) / calls, median(times["systlab"]) / calls
        agree = float(np.max(np.abs(terms.expected(x) / np.asarray(batch.expected_actualdata(x)) - 1.0)))
        figures.append(Figure("fit", f"expected counts, {rows} rows per call", a / b, "pyhf/systlab s per call",
                              seconds={"pyhf": a, "systlab": b}, note=f"max |systlab/pyhf - 1| = {agree:.1e}"))
    return figures


if __name__ == "__main__":
    main_for(run)
