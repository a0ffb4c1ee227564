# Figures drawn from fits and toys (issue 7: profile curves, widths vs true alpha, coverage, pulls/impacts,
# asymptotics). Code: src/systlab/visualize/; each rule is thin and marks its PNG for `snakemake --report`.

EXPECTED_FITS = expand("results/fits/{method}/{replica}/expected_{truth}.json", method=MODELS, replica=REPLICAS,
                       truth=[t.name for t in CFG.truths])
ALL_TOYS = expand("results/toys/{method}/{replica}.json", method=MODELS, replica=REPLICAS)
# impacts figures: every model but the oracles (one per TES point; the baseline is oracle_tes_0sd); the
# parameterized model's come from its grid-profiled likelihood (rule inference_grid)
IMPACT_MODELS = [m for m in MODELS if CFG.model(m).method != "oracle"]

INFERENCE_FIGURES = expand("results/figures/{name}.pdf", name=["profile_curves", "width_vs_alpha", "coverage",
                           "asymptotics"]) + expand("results/figures/impacts_{method}.pdf", method=IMPACT_MODELS)


rule figure_profile_curves:
    input:
        fits=EXPECTED_FITS,
    output:
        pdf="results/figures/profile_curves.pdf",
        png=report("results/figures/profile_curves.png", caption="../report/profile_curves.rst",
                   category="Inference"),
    params:
        models=MODELS,
    log:
        "results/logs/figures/profile_curves.log",
    conda:
        ENV
    script:
        "../scripts/figure_profile_curves.py"


rule figure_width_vs_alpha:
    input:
        fits=EXPECTED_FITS,
    output:
        pdf="results/figures/width_vs_alpha.pdf",
        png=report("results/figures/width_vs_alpha.png", caption="../report/width_vs_alpha.rst",
                   category="Inference"),
    params:
        models=MODELS,
    log:
        "results/logs/figures/width_vs_alpha.log",
    conda:
        ENV
    script:
        "../scripts/figure_width_vs_alpha.py"


rule figure_coverage:
    input:
        toys=ALL_TOYS,
        # the fit to the held-out expectation at the toys' own truth predicts their coverage (none: no crosses)
        held_out_fits=expand("results/fits/{method}/{replica}/expected_{truth}.json", method=MODELS,
                             replica=REPLICAS, truth=[CFG.toy_truth] if CFG.toy_truth else []),
    output:
        pdf="results/figures/coverage.pdf",
        png=report("results/figures/coverage.png", caption="../report/coverage.rst", category="Inference"),
    params:
        models=MODELS,
    log:
        "results/logs/figures/coverage.log",
    conda:
        ENV
    script:
        "../scripts/figure_coverage.py"


rule figure_impacts:
    input:
        impacts=expand("results/inference/{{method}}/{replica}/impacts.json", replica=REPLICAS),
    output:
        pdf="results/figures/impacts_{method}.pdf",
        png=report("results/figures/impacts_{method}.png", caption="../report/impacts.rst", category="Inference",
                   subcategory="Pulls and impacts"),
    log:
        "results/logs/figures/impacts_{method}.log",
    conda:
        ENV
    script:
        "../scripts/figure_impacts.py"


rule figure_asymptotics:
    input:
        toys=ALL_TOYS,
    output:
        pdf="results/figures/asymptotics.pdf",
        png=report("results/figures/asymptotics.png", caption="../report/asymptotics.rst", category="Inference"),
    params:
        models=MODELS,
    log:
        "results/logs/figures/asymptotics.log",
    conda:
        ENV
    script:
        "../scripts/figure_asymptotics.py"
