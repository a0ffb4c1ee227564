# Pseudo-experiments per model replica -> coverage of the 68% interval, mean width, FAIR-Universe score.


rule toys:
    input:
        workspace="results/workspaces/{method}/{replica}.json",
        templates="results/templates/{method}/{replica}.json",
    output:
        "results/toys/{method}/{replica}.json",
    log:
        "results/logs/toys/{method}/{replica}.log",
    conda:
        ENV
    script:
        "../scripts/toys.py"
