# Score every (process, variation) sample with one model replica (ONNX Runtime), template and toy splits only.
# The aware model is evaluated at each sample's own TES shift (0 for samples that do not shift TES).


rule score:
    input:
        model="results/models/{method}/{replica}/model.onnx",
        samples=samples_of(PROCESSES),
    output:
        [f"results/scores/{{method}}/{{replica}}/{p}/{v}.parquet" for p in PROCESSES for v in VARIATIONS],
    threads: 1
    log:
        "results/logs/score/{method}/{replica}.log",
    conda:
        ENV
    script:
        "../scripts/score.py"
