# One rule per figure: results/figures/<name>.pdf + .png, drawn from computed inputs only.


def analysis_figures():
    return expand("results/figures/templates_{method}.pdf", method=MODELS)


rule figure_templates:
    input:
        "results/templates/{method}/r0.json",
    output:
        pdf="results/figures/templates_{method}.pdf",
        png=report("results/figures/templates_{method}.png", caption="../report/templates.rst", category="Models",
                   subcategory="{method}"),
    log:
        "results/logs/figures/templates_{method}.log",
    conda:
        ENV
    script:
        "../scripts/figure_templates.py"
