# Limits, discovery significance and impacts per model replica (issue 6), beside the fits of fit.smk.
# Fixed classifiers: from their pyhf workspace. Parameterized models: from the grid-profiled likelihood (their
# single workspace is not their likelihood: the observable moves with alpha), impacts without per-bin MC stat.

FIXED_MODELS = [m for m in MODELS if m not in GRID_MODELS]  # GRID_MODELS: common.smk, by method family
INFERENCE_KINDS = ["limit", "significance", "impacts"]
GRID_INFERENCE_KINDS = INFERENCE_KINDS


def inference_results(kinds=INFERENCE_KINDS, models=FIXED_MODELS, grid_models=GRID_MODELS):
    fixed = expand("results/inference/{method}/{replica}/{kind}.json", method=models, replica=REPLICAS, kind=kinds)
    grid_kinds = [k for k in kinds if k in GRID_INFERENCE_KINDS]
    return fixed + expand("results/inference/{method}/{replica}/{kind}.json", method=grid_models, replica=REPLICAS,
                          kind=grid_kinds)


INFERENCE_RESULTS = inference_results()


rule inference:
    input:
        workspace="results/workspaces/{method}/{replica}.json",
    wildcard_constraints:
        method=one_of(FIXED_MODELS),
    output:
        limit="results/inference/{method}/{replica}/limit.json",
        significance="results/inference/{method}/{replica}/significance.json",
        impacts="results/inference/{method}/{replica}/impacts.json",
    log:
        "results/logs/inference/{method}/{replica}.log",
    conda:
        ENV
    script:
        "../scripts/inference.py"


rule inference_grid:
    input:
        workspaces="results/grid/{method}/{replica}/workspaces.json",
        scores=lambda wc: grid_scores_of(wc.method, wc.replica),
    output:
        limit="results/inference/{method}/{replica}/limit.json",
        significance="results/inference/{method}/{replica}/significance.json",
        impacts="results/inference/{method}/{replica}/impacts.json",
    wildcard_constraints:
        method=one_of(GRID_MODELS),
    params:
        interpolation=CFG.grid_interpolation,
    log:
        "results/logs/inference_grid/{method}/{replica}.log",
    conda:
        ENV
    script:
        "../scripts/inference_grid.py"
