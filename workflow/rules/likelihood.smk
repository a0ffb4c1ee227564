# systlab.likelihood: templates -> pyhf workspace (normsys, histosys, staterror, lumi), schema-validated; for a
# parameterized model one workspace per grid point, the parts of its grid-profiled likelihood. A fixed classifier's
# workspace (results/workspaces/<method>/<replica>.json) is written by rule score (templates.smk) right after its
# templates, in the same job: build_workspace of systlab.likelihood.workspace on the templates file just written.


# Parameterized models: one full workspace per grid point alpha_k (templates of the sample simulated at alpha_k,
# binned with that point's own signal quantiles; no histosys for the classifier's NP; the other NPs as usual).
rule workspace_grid:
    input:
        lambda wc: grid_scores_of(wc.method, wc.replica),
    output:
        "results/grid/{method}/{replica}/workspaces.json",
    wildcard_constraints:
        method=one_of(GRID_MODELS),
    params:
        config=config_of("templates", "systematics", "processes"),
    log:
        "results/logs/workspace_grid/{method}/{replica}.log",
    conda:
        ENV
    script:
        "../scripts/workspace_grid.py"


# Unbinned models: the learned per-event tables (process fractions, log-ratio polynomials per shape NP) of the template
# split at nominal (the model's expectation), the toy split at nominal and every truth's toy split, and the replica's
# unbinned model (nominal yields, per-axis yield polynomials; systlab.likelihood.unbinned_inputs), its yields following
# the simulated one-NP variations of the template split.
rule unbinned_inputs:
    input:
        model="results/models/{method}/{replica}/model.onnx",
        samples=samples_of(PROCESSES, ["nominal", *(f"truth_{t.name}" for t in CFG.truths),
                                       *(name for *_, name in CFG.shape_variations())]),
    output:
        events="results/unbinned/{method}/{replica}/events.npz",
        model="results/unbinned/{method}/{replica}/model.json",
    wildcard_constraints:
        method=one_of(UNBINNED_MODELS),
    params:
        config=config_of("systematics", "pseudo_data", "processes", "fit.mu_range", "templates.bins",
                         "method_settings.unbinned.calibrate_spread"),
    threads: 1
    log:
        "results/logs/unbinned_inputs/{method}/{replica}.log",
    conda:
        ENV
    script:
        "../scripts/unbinned_inputs.py"
