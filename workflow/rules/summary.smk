# Everything per model -> the comparison table results/inference/summary.{json,md} (mean +- std over replicas).
# Limits and significances come from inference.smk (included after this file: hence the input functions,
# evaluated once every rule file is read).


rule summary:
    input:
        metrics=expand("results/models/{method}/metrics.json", method=MODELS),
        fits=expand("results/fits/{method}/{replica}/{dataset}.json", method=MODELS, replica=REPLICAS,
                    dataset=DATASETS),
        toys=expand("results/toys/{method}/{replica}.json", method=MODELS, replica=REPLICAS),
        limits=lambda wildcards: inference_results(["limit"]),
        significances=lambda wildcards: inference_results(["significance"]),
    output:
        json="results/inference/summary.json",
        md="results/inference/summary.md",
    params:
        parameterized=lambda wildcards: [m for m in MODELS if m not in FIXED_MODELS],
    log:
        "results/logs/summary.log",
    conda:
        ENV
    script:
        "../scripts/summary.py"
