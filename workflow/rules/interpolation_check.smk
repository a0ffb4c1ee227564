# The aware interpolation check (issue 5): aware_without_tes_<k>sd trained without the neighbourhood of grid point
# k, compared by AUC with the full aware model, the baseline and the oracle at every TES grid point.

INTERPOLATION_MODELS = [m.name for m in CFG.interpolation_models()]
INTERPOLATION_FIGURES = ["results/figures/aware_interpolation.pdf"] if INTERPOLATION_MODELS else []
TES_GRID = grid_points(CFG, "tes") if INTERPOLATION_MODELS else ()
INTERPOLATION_COMPARED = [m for m in MODELS if m in ("baseline", "aware") or m.startswith("oracle")]


rule interpolation_check:
    input:
        samples=samples_of(PROCESSES, [p.sample for p in TES_GRID]),
        models=expand("results/models/{method}/{replica}/model.onnx", method=INTERPOLATION_COMPARED
                      + INTERPOLATION_MODELS, replica=REPLICAS),
    params:
        points={p.alpha: p.sample for p in TES_GRID},
    output:
        "results/interpolation_check/summary.json",
    log:
        "results/logs/interpolation_check.log",
    conda:
        ENV
    script:
        "../scripts/interpolation_check.py"


rule figure_aware_interpolation:
    input:
        "results/interpolation_check/summary.json",
    output:
        pdf="results/figures/aware_interpolation.pdf",
        png=report("results/figures/aware_interpolation.png", caption="../report/aware_interpolation.rst",
                   category="Models"),
    log:
        "results/logs/figures/aware_interpolation.log",
    conda:
        ENV
    script:
        "../scripts/figure_aware_interpolation.py"
