# Cross-check of the histosys interpolation (issue 6): each fixed classifier of fit.histosys_check also fitted
# through the grid construction in TES (the simulated sample at every grid point, no TES histosys), on the
# Asimov and expected_<truth> datasets, beside its histosys fits (systlab.studies.histosys_check), then one figure.

HISTOSYS_CHECK_MODELS = list(CFG.histosys_check)
HISTOSYS_CHECK_DATASETS = ["asimov"] + [f"expected_{t.name}" for t in CFG.truths]
HISTOSYS_CHECK_FIGURES = ["results/figures/histosys_check.pdf"] if HISTOSYS_CHECK_MODELS else []


rule histosys_check:
    input:
        templates="results/templates/{method}/{replica}.json",
        workspace="results/workspaces/{method}/{replica}.json",
        fits=[f"results/fits/{{method}}/{{replica}}/{d}.json" for d in HISTOSYS_CHECK_DATASETS],
    output:
        "results/histosys_check/{method}/{replica}.json",
    wildcard_constraints:
        method=one_of(HISTOSYS_CHECK_MODELS),
    params:
        interpolation=CFG.grid_interpolation,
    log:
        "results/logs/histosys_check/{method}/{replica}.log",
    conda:
        ENV
    script:
        "../scripts/histosys_check.py"


rule figure_histosys_check:
    input:
        expand("results/histosys_check/{method}/{replica}.json", method=HISTOSYS_CHECK_MODELS, replica=REPLICAS),
    output:
        pdf="results/figures/histosys_check.pdf",
        png=report("results/figures/histosys_check.png", caption="../report/histosys_check.rst",
                   category="Inference"),
    log:
        "results/logs/figures/histosys_check.log",
    conda:
        ENV
    script:
        "../scripts/figure_histosys_check.py"
