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
