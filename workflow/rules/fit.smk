# Workspace + datasets (Asimov, Poisson pseudo-data at each hidden truth) -> MLE, 68% profile interval, pulls.
# One job per model replica fits every dataset (a fit takes well under a second; job start-up dominates).


rule fit:
    input:
        workspace="results/workspaces/{method}/{replica}.json",
        templates="results/templates/{method}/{replica}.json",
    output:
        [f"results/fits/{{method}}/{{replica}}/{d}.json" for d in DATASETS],
    log:
        "results/logs/fit/{method}/{replica}.log",
    conda:
        ENV
    script:
        "../scripts/fit.py"
