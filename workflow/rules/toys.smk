# Pseudo-experiments per model replica -> coverage of the 68% interval, mean width, FAIR-Universe score.


rule toys:
    input:
        workspace="results/workspaces/{method}/{replica}.json",
        templates="results/templates/{method}/{replica}.json",
    output:
        "results/toys/{method}/{replica}.json",
    wildcard_constraints:
        method=one_of(FIXED_FIT_MODELS),
    log:
        "results/logs/toys/{method}/{replica}.log",
    conda:
        ENV
    script:
        "../scripts/toys.py"


# Parameterized models: event-level Poisson toys (mu = 1, alpha = 0, auxiliary data fluctuated) through the grid.
rule toys_grid:
    input:
        workspaces="results/grid/{method}/{replica}/workspaces.json",
        scores=lambda wc: grid_scores_of(wc.method, wc.replica),
    output:
        "results/toys/{method}/{replica}.json",
    wildcard_constraints:
        method=one_of(GRID_MODELS),
    params:
        n_toys=CFG.n_grid_toys,
    log:
        "results/logs/toys_grid/{method}/{replica}.log",
    conda:
        ENV
    script:
        "../scripts/toys_grid.py"
