# Score every sample of a process with the ONNX model (ONNX Runtime), template and toy splits only.


rule score:
    input:
        model="results/models/{method}/{replica}/model.onnx",
        samples=lambda wc: samples_of(wc.process),
    output:
        [f"results/scores/{{method}}/{{replica}}/{{process}}/{v}.parquet" for v in VARIATIONS],
    threads: 1
    log:
        "results/logs/score/{method}/{replica}/{process}.log",
    conda:
        ENV
    script:
        "../scripts/score.py"
