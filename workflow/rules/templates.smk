# systlab.templates: every sample scored with one model replica (ONNX Runtime; template and toy splits only), then
# binned into templates (template split) and pseudo-data expectations (toy split). The aware model is evaluated at
# each sample's own TES shift (0 for samples that do not shift TES).


# One job per (model, replica): score every (process, variation) sample, bin the score files it has just written into
# the templates JSON and, for a fixed classifier, build its pyhf workspace from them (systlab.likelihood.workspace):
# the three are always needed together and one after the other, and one job instead of three saves the DAG two jobs
# and 65 input edges per replica. The score files stay outputs (metrics, ROC, calibration, sensitivity and the
# generator/JES studies read them); `snakemake results/templates/<m>/<r>.json` (or .../workspaces/...) reruns the
# job alone. A parameterized model is fitted through its grid workspaces (likelihood.smk), so score_parameterized
# writes no histosys workspace: its templates serve the templates figure.
SCORE_OUTPUTS = {
    "scores": [f"results/scores/{{method}}/{{replica}}/{p}/{v}.parquet" for p in PROCESSES for v in VARIATIONS],
    "templates": "results/templates/{method}/{replica}.json",
}


rule score:
    input:
        model="results/models/{method}/{replica}/model.onnx",
        samples=samples_of(PROCESSES),
    output:
        **SCORE_OUTPUTS,
        workspace="results/workspaces/{method}/{replica}.json",
    wildcard_constraints:
        method=one_of([m for m in METHODS if m not in GRID_MODELS]),
    params:
        config=config_of("templates", "systematics", "pseudo_data", "processes"),
    threads: 1
    log:
        "results/logs/score/{method}/{replica}.log",
    conda:
        ENV
    script:
        "../scripts/score.py"


use rule score as score_parameterized with:
    output:
        **SCORE_OUTPUTS,
    wildcard_constraints:
        method=one_of(GRID_MODELS),


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
    params:
        config=config_of("templates", "systematics", "pseudo_data", "processes"),
    threads: 1
    log:
        "results/logs/score_grid/{method}/{replica}/{point}.log",
    conda:
        ENV
    script:
        "../scripts/score_grid.py"

