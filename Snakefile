# systlab: the whole analysis DAG. Logic lives in src/systlab/; rules live in workflow/rules/.
configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/simulate.smk"
include: "workflow/rules/ingest.smk"
include: "workflow/rules/vary.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/score.smk"
include: "workflow/rules/metrics.smk"
include: "workflow/rules/templates.smk"
include: "workflow/rules/workspace.smk"
include: "workflow/rules/fit.smk"
include: "workflow/rules/toys.smk"
include: "workflow/rules/summary.smk"
include: "workflow/rules/inference.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/figures_models.smk"
include: "workflow/rules/figures_inference.smk"
include: "workflow/rules/figures_grid.smk"
include: "workflow/rules/paper_toys.smk"
include: "workflow/rules/lambda_scan.smk"
include: "workflow/rules/sensitivity.smk"
include: "workflow/rules/generator_check.smk"
include: "workflow/rules/interpolation_check.smk"
include: "workflow/rules/histosys_check.smk"
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
        THEORY_FIGURES,
        "results/inference/summary.md",
