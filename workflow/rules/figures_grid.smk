# Figures of the grid-profiled likelihood of the parameterized (aware) classifier (issues 6 and 7).

# the shifted truth shown beside Asimov: the one with the largest TES shift (none: Asimov only)
SURFACE_TRUTH = max(CFG.truths, key=lambda t: abs(t.shifts.get("tes", 0.0)), default=None)
SURFACE_DATASETS = ["asimov"] + (
    [f"expected_{SURFACE_TRUTH.name}"] if SURFACE_TRUTH and SURFACE_TRUTH.shifts.get("tes") else []
)
GRID_FIGURES = ["results/figures/aware_likelihood_surface.pdf"] if "aware" in GRID_MODELS else []


rule figure_aware_likelihood_surface:
    input:
        fits=expand("results/fits/aware/{replica}/{dataset}.json", replica=REPLICAS, dataset=SURFACE_DATASETS),
    output:
        pdf="results/figures/aware_likelihood_surface.pdf",
        png=report("results/figures/aware_likelihood_surface.png", caption="../report/aware_likelihood_surface.rst",
                   category="Inference"),
    params:
        datasets=SURFACE_DATASETS,
    log:
        "results/logs/figures/aware_likelihood_surface.log",
    conda:
        ENV
    script:
        "../scripts/figure_aware_likelihood_surface_grid.py"
