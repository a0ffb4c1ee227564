# One training job per (method, replica): torch on CUDA when present, else CPU; ONNX export.


rule train:
    input:
        nominal=expand("results/samples/{process}/nominal.parquet", process=PROCESSES),
    output:
        onnx="results/models/{method}/{replica}/model.onnx",
        state="results/models/{method}/{replica}/model.pt",
        history="results/models/{method}/{replica}/history.json",
        meta="results/models/{method}/{replica}/meta.json",
    threads: CFG.training.threads
    resources:
        gpu=1,
    log:
        "results/logs/train/{method}/{replica}.log",
    conda:
        ENV
    script:
        "../scripts/train.py"
