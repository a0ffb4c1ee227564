# The generator cross-check (issue 5; Ghosh & Nachman arXiv:2109.08159): pivot/DisCo trained against generator A
# vs B (<method>_generator) or the scale family (<method>_scale) through rule train, then one job scoring every
# variant of systlab.samples.generators with them and with the plain baseline, and the figure.

CHECK_MODELS = [m.name for m in CFG.cross_check_models()]
GENERATOR_CHECK_FIGURES = ["results/figures/generator_check.pdf"] if CHECK_MODELS else []


rule generator_check:
    input:
        events=expand("results/events/{process}.parquet", process=PROCESSES),
        models=expand("results/models/{method}/{replica}/model.onnx", method=["baseline"] + CHECK_MODELS,
                      replica=REPLICAS),
    output:
        "results/generator_check/summary.json",
    threads: 1
    log:
        "results/logs/generator_check.log",
    conda:
        ENV
    script:
        "../scripts/generator_check.py"


rule figure_generator_check:
    input:
        "results/generator_check/summary.json",
    output:
        pdf="results/figures/generator_check.pdf",
        png=report("results/figures/generator_check.png", caption="../report/generator_check.rst",
                   category="Models"),
    log:
        "results/logs/figures/generator_check.log",
    conda:
        ENV
    script:
        "../scripts/figure_generator_check.py"


# Closure (issue 6): per fixed-classifier replica, pseudo-data from generator C and the higher order fitted with
# and without the two-point generator NP (A vs B histosys), with toys for the coverage.
CLOSURE_MODELS = list(CFG.generator_check.closure_models)
GENERATOR_CLOSURE_FIGURES = ["results/figures/generator_closure.pdf"] if CLOSURE_MODELS else []


rule generator_closure:
    input:
        scores=lambda wc: scores_of(wc.method, wc.replica),
        templates="results/templates/{method}/{replica}.json",
        model="results/models/{method}/{replica}/model.onnx",
        events=expand("results/events/{process}.parquet", process=PROCESSES),
    output:
        "results/generator_closure/{method}/{replica}.json",
    wildcard_constraints:
        method=one_of(CLOSURE_MODELS),
    threads: 1
    log:
        "results/logs/generator_closure/{method}/{replica}.log",
    conda:
        ENV
    script:
        "../scripts/generator_closure.py"


rule figure_generator_closure:
    input:
        expand("results/generator_closure/{method}/{replica}.json", method=CLOSURE_MODELS, replica=REPLICAS),
    output:
        pdf="results/figures/generator_closure.pdf",
        png=report("results/figures/generator_closure.png", caption="../report/generator_closure.rst",
                   category="Inference"),
    log:
        "results/logs/figures/generator_closure.log",
    conda:
        ENV
    script:
        "../scripts/figure_generator_closure.py"
