# Per-model figures of merit from the score files (no re-scoring): weighted AUC at TES -1, 0, +1 sigma and the
# Jensen-Shannon divergence of background scores at +-1 sigma, per replica and mean +- std (systlab.studies.metrics).

METRIC_VARIATIONS = ["tes_-1sd", "nominal", "tes_+1sd"]


def all_metrics():
    return expand("results/models/{method}/metrics.json", method=MODELS)


rule metrics:
    input:
        scores=expand("results/scores/{{method}}/{replica}/{process}/{variation}.parquet", replica=REPLICAS,
                      process=PROCESSES, variation=METRIC_VARIATIONS),
        histories=expand("results/models/{{method}}/{replica}/history.json", replica=REPLICAS),
    output:
        "results/models/{method}/metrics.json",
    log:
        "results/logs/metrics/{method}.log",
    conda:
        ENV
    script:
        "../scripts/metrics.py"
