# Workspace + datasets (Asimov, Poisson pseudo-data at each hidden truth) -> MLE, 68% profile interval, pulls.
# One job per model replica fits every dataset (a fit takes well under a second; job start-up dominates).


rule fit:
    input:
        workspace="results/workspaces/{method}/{replica}.json",
        templates="results/templates/{method}/{replica}.json",
    output:
        [f"results/fits/{{method}}/{{replica}}/{d}.json" for d in DATASETS],
    wildcard_constraints:
        method=one_of(FIXED_FIT_MODELS),
    log:
        "results/logs/fit/{method}/{replica}.log",
    conda:
        ENV
    script:
        "../scripts/fit.py"


# Parameterized models: every dataset binned with f(x; alpha_k) at each grid point, NPs profiled inside each
# alpha_k, alpha profiled across the grid with its Gaussian prior (systlab.likelihood.grid). Same JSON + a "grid" key.
rule fit_grid:
    input:
        workspaces="results/grid/{method}/{replica}/workspaces.json",
        scores=lambda wc: grid_scores_of(wc.method, wc.replica),
    output:
        [f"results/fits/{{method}}/{{replica}}/{d}.json" for d in DATASETS],
    wildcard_constraints:
        method=one_of(GRID_MODELS),
    params:
        interpolation=CFG.grid_interpolation,
    log:
        "results/logs/fit_grid/{method}/{replica}.log",
    conda:
        ENV
    script:
        "../scripts/fit_grid.py"
