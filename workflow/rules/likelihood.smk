# systlab.likelihood: templates -> pyhf workspace (normsys, histosys, staterror, lumi), schema-validated; for a
# parameterized model one workspace per grid point, the parts of its grid-profiled likelihood.


rule workspace:
    input:
        "results/templates/{method}/{replica}.json",
    output:
        "results/workspaces/{method}/{replica}.json",
    log:
        "results/logs/workspace/{method}/{replica}.log",
    conda:
        ENV
    script:
        "../scripts/workspace.py"


# Parameterized models: one full workspace per grid point alpha_k (templates of the sample simulated at alpha_k,
# binned with that point's own signal quantiles; no histosys for the classifier's NP; the other NPs as usual).
rule workspace_grid:
    input:
        lambda wc: grid_scores_of(wc.method, wc.replica),
    output:
        "results/grid/{method}/{replica}/workspaces.json",
    wildcard_constraints:
        method=one_of(GRID_MODELS),
    log:
        "results/logs/workspace_grid/{method}/{replica}.log",
    conda:
        ENV
    script:
        "../scripts/workspace_grid.py"
