# systlab: the whole analysis DAG. Logic lives in src/systlab/; one rule file per library package in workflow/rules/
# (common.smk: config, wildcards, input functions, target lists).
configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/samples.smk"
include: "workflow/rules/methods.smk"
include: "workflow/rules/templates.smk"
include: "workflow/rules/likelihood.smk"
include: "workflow/rules/infer.smk"
include: "workflow/rules/studies.smk"
include: "workflow/rules/visualize.smk"
include: "workflow/rules/papertoys.smk"
include: "workflow/rules/theory.smk"


rule all:
    input:
        fit_results(),
        all_metrics(),
        analysis_figures(),
        MODEL_FIGURES,
        INFERENCE_FIGURES,
        GRID_FIGURES,
        INFERENCE_RESULTS,
        PAPER_TOY_RESULTS,
        LAMBDA_FIGURES,
        SENSITIVITY_FIGURES,
        JES_GRANULARITY_FIGURES,
        GENERATOR_CHECK_FIGURES,
        GENERATOR_CLOSURE_FIGURES,
        HISTOSYS_CHECK_FIGURES,
        INTERPOLATION_FIGURES,
        RATIO_CLOSURE_FIGURES,
        THEORY_FIGURES,
        REGIME_SCAN_RESULTS,
        GAP_RESULTS,
        "results/inference/summary.md",
