# Sensitivity studies of the inference (issues 6 and 7, figure 14): binning (incl. a single-bin cut) and
# pseudo-data drawn with a TES prior width other than the fit's, for the fixed classifiers in `sensitivity.models`.
from systlab.studies.sensitivity_settings import STUDIES, settings as sensitivity_settings

SENSITIVITY = CFG.sensitivity
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


# One coherent JES NP vs one per jet-pT bin (`sensitivity.jes_bins`): per studied replica, the binned NPs' +-1 sigma
# variants scored here with its model, both workspaces fitted (Asimov and truths), constraints per NP.
HAS_JES = any(np_.name == "jes" for np_ in CFG.shape_nps)
JES_GRANULARITY_FIGURES = ["results/figures/jes_granularity.pdf"] if SENSITIVITY_MODELS and SENSITIVITY.jes_bins \
    and HAS_JES else []


rule jes_granularity:
    input:
        scores=lambda wc: scores_of(wc.method, wc.replica),
        templates="results/templates/{method}/{replica}.json",
        model="results/models/{method}/{replica}/model.onnx",
        events=expand("results/events/{process}.parquet", process=PROCESSES),
    output:
        "results/jes_granularity/{method}/{replica}.json",
    wildcard_constraints:
        method=one_of(SENSITIVITY_MODELS),
    threads: 1
    log:
        "results/logs/jes_granularity/{method}/{replica}.log",
    conda:
        ENV
    script:
        "../scripts/jes_granularity.py"


rule figure_jes_granularity:
    input:
        expand("results/jes_granularity/{method}/{replica}.json", method=SENSITIVITY_MODELS, replica=REPLICAS),
    output:
        pdf="results/figures/jes_granularity.pdf",
        png=report("results/figures/jes_granularity.png", caption="../report/jes_granularity.rst",
                   category="Inference"),
    log:
        "results/logs/figures/jes_granularity.log",
    conda:
        ENV
    script:
        "../scripts/figure_jes_granularity.py"
