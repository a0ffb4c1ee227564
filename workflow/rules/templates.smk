# systlab.templates: every sample scored with one model replica (ONNX Runtime; template and toy splits only), then
# binned into templates (template split) and pseudo-data expectations (toy split). The aware model is evaluated at
# each sample's own TES shift (0 for samples that do not shift TES).


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


# Parameterized models: at every grid point alpha_k, the samples the grid workspace and pseudo-data need, scored
# with f(x; alpha_k), in one table per point (sample alpha_k, nominal, other shape NPs' shifts, every truth).
rule score_grid:
    input:
        model="results/models/{method}/{replica}/model.onnx",
        samples=lambda wc: grid_samples_of(wc.method, wc.point),
    output:
        "results/grid/{method}/{replica}/scores/{point}.parquet",
    wildcard_constraints:
        method=one_of(GRID_MODELS),
        point=one_of({p.label for points in GRID_POINTS.values() for p in points}),
    threads: 1
    log:
        "results/logs/score_grid/{method}/{replica}/{point}.log",
    conda:
        ENV
    script:
        "../scripts/score_grid.py"


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
