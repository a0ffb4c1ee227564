# Sensitivity studies of the inference (issues 6 and 7, figure 14): binning (incl. a single-bin cut) and
# pseudo-data drawn with a TES prior width other than the fit's, for the fixed classifiers in `sensitivity.models`.
from systlab.sensitivity import STUDIES, settings as sensitivity_settings

SENSITIVITY = sensitivity_settings(config.get("sensitivity"))
SENSITIVITY_MODELS = [m for m in SENSITIVITY.models if m in FIXED_FIT_MODELS]
SENSITIVITY_FIGURES = ["results/figures/sensitivity.pdf"] if SENSITIVITY_MODELS else []


rule sensitivity:
    input:
        lambda wc: scores_of(wc.method, wc.replica),
    output:
        "results/sensitivity/{study}/{method}/{replica}.json",
    wildcard_constraints:
        study="|".join(STUDIES),
    log:
        "results/logs/sensitivity/{study}/{method}/{replica}.log",
    conda:
        ENV
    script:
        "../scripts/sensitivity.py"


rule figure_sensitivity:
    input:
        expand("results/sensitivity/{study}/{method}/{replica}.json", study=STUDIES, method=SENSITIVITY_MODELS,
               replica=REPLICAS),
    output:
        pdf="results/figures/sensitivity.pdf",
        png=report("results/figures/sensitivity.png", caption="../report/sensitivity.rst", category="Inference"),
    log:
        "results/logs/figures/sensitivity.log",
    conda:
        ENV
    script:
        "../scripts/figure_sensitivity.py"
