# systlab: the whole analysis DAG. Logic lives in src/systlab/; one rule file per library package in workflow/rules/
# (common.smk: config, wildcards, input functions, target lists).
import gc

# Python's cyclic GC rescans every live object at each full collection. Snakemake's start-up (~130k objects: its
# modules, plugins, pandas) and, at the end of this file, the workflow's rules are never garbage: gc.freeze() moves
# them out of the GC's view. A `snakemake -n` of the default config then spends ~0.2 s less in collections and ~0.5 s
# less in the interpreter's exit (benchmarks/README.md, #19); no output, job or param changes.
gc.freeze()


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


gc.freeze()  # the rules, config and target lists just built (see the top of this file)
