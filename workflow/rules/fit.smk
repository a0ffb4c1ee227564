# Workspace + dataset (Asimov or pseudo-data at a hidden truth) -> MLE, 68% profile interval, pulls.


rule fit:
    input:
        workspace="results/workspaces/{method}/{replica}.json",
        templates="results/templates/{method}/{replica}.json",
    output:
        "results/fits/{method}/{replica}/{dataset}.json",
    log:
        "results/logs/fit/{method}/{replica}/{dataset}.log",
    conda:
        ENV
    script:
        "../scripts/fit.py"
