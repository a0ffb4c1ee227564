# Everything per model -> the comparison table results/inference/summary.{json,md} (mean +- std over replicas).


rule summary:
    input:
        metrics=expand("results/models/{method}/metrics.json", method=MODELS),
        fits=expand("results/fits/{method}/{replica}/{dataset}.json", method=MODELS, replica=REPLICAS,
                    dataset=DATASETS),
        toys=expand("results/toys/{method}/{replica}.json", method=MODELS, replica=REPLICAS),
    output:
        json="results/inference/summary.json",
        md="results/inference/summary.md",
    log:
        "results/logs/summary.log",
    conda:
        ENV
    script:
        "../scripts/summary.py"
