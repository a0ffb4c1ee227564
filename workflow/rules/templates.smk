# Scores -> score histograms: templates (template split) and pseudo-data expectations (toy split).


rule templates:
    input:
        lambda wc: scores_of(wc.method, wc.replica),
    output:
        "results/templates/{method}/{replica}.json",
    log:
        "results/logs/templates/{method}/{replica}.log",
    conda:
        ENV
    script:
        "../scripts/templates.py"
