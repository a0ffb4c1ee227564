# Limits, discovery significance and impacts per model replica (issue 6), beside the fits of fit.smk.
# Only fixed classifiers: a parameterized model's single workspace is not its honest likelihood (its
# observable moves with alpha; the grid-profiled likelihood replaces it), so it gets none of these yet.

FIXED_MODELS = [m for m in MODELS if m not in GRID_MODELS]  # GRID_MODELS: common.smk, by method family
INFERENCE_KINDS = ["limit", "significance", "impacts"]


def inference_results(kinds=INFERENCE_KINDS, models=FIXED_MODELS):
    return expand("results/inference/{method}/{replica}/{kind}.json", method=models, replica=REPLICAS, kind=kinds)


INFERENCE_RESULTS = inference_results()


rule inference:
    input:
        workspace="results/workspaces/{method}/{replica}.json",
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
