# systlab.methods: one training job per (model, replica) from the canonical events; every method family goes through
# this rule (model names: Config.model_names(), e.g. baseline, pivot, oracle_tes_-1sd). torch on CUDA when present,
# else CPU (same code path); the SLURM profile maps resources.gpu to a GPU request.


rule train:
    input:
        events=expand("results/events/{process}.parquet", process=PROCESSES),
    output:
        onnx="results/models/{method}/{replica}/model.onnx",
        state="results/models/{method}/{replica}/model.pt",
        history="results/models/{method}/{replica}/history.json",
        meta="results/models/{method}/{replica}/meta.json",
    threads: CFG.training.threads
    params:
        config=config_of("training", "features", "splits", "systematics", "processes", "seed",
                         ignore=["training.replicas", "training.study_replicas"]),
        method_settings=method_settings_of,
    resources:
        gpu=1,
    log:
        "results/logs/train/{method}/{replica}.log",
    benchmark:
        "results/benchmarks/train/{method}/{replica}.tsv"  # the job's wall time and memory (none in the results)
    conda:
        ENV
    script:
        "../scripts/train.py"
