# Figures drawn from the trained models and their scores (issue 7: features, ROC, decorrelation, calibration).
# Code: src/systlab/visualize/; numbers from systlab.{feature_histograms,roc,score_shapes,calibration}; each rule
# is thin and marks its PNG for `snakemake --report`. A figure is left out when what it needs is not configured.

MODEL_FIGURES = []
TES_VARIATIONS = ["tes_-1sd", "nominal", "tes_+1sd"]
HAS_TES = all(v in VARIATIONS for v in TES_VARIATIONS)
# mass and momentum features that separate H from Z and move with TES (systlab.studies.feature_histograms)
FEATURE_PLOT = ["DER_mass_vis", "DER_mass_MMC", "PRI_tau_pt", "PRI_met", "DER_mass_transverse_met_lep", "DER_pt_h",
                "PRI_lep_pt", "DER_pt_ratio_lep_tau", "DER_deltar_tau_lep"]
# ROC and calibration: every trained method, with the oracle at nominal TES as the one oracle shown (reference)
REFERENCE_MODEL = "oracle_tes_0sd"
CLASSIFIERS = [m for m in MODELS if not m.startswith("oracle")] + [m for m in MODELS if m == REFERENCE_MODEL]
DECORRELATED = [m for m in MODELS if m == "baseline" or (m in REGISTRY and REGISTRY[m].decorrelates)]
SCORES = "results/scores/{method}/{replica}/{process}/{variation}.parquet"


if HAS_TES:
    MODEL_FIGURES.append("results/figures/features.pdf")

    rule figure_features:
        input:
            samples_of(PROCESSES, TES_VARIATIONS),
        output:
            pdf="results/figures/features.pdf",
            png=report("results/figures/features.png", caption="../report/features.rst", category="Models"),
        params:
            features=FEATURE_PLOT,
        log:
            "results/logs/figures/features.log",
        conda:
            ENV
        script:
            "../scripts/figure_features.py"


if HAS_TES:
    MODEL_FIGURES.append("results/figures/roc.pdf")

    rule figure_roc:
        input:
            expand(SCORES, method=CLASSIFIERS, replica=REPLICAS, process=PROCESSES, variation=TES_VARIATIONS),
        output:
            pdf="results/figures/roc.pdf",
            png=report("results/figures/roc.png", caption="../report/roc.rst", category="Models"),
        params:
            methods=CLASSIFIERS,
            variations=TES_VARIATIONS,
            reference=REFERENCE_MODEL if REFERENCE_MODEL in CLASSIFIERS else "",
        log:
            "results/logs/figures/roc.log",
        conda:
            ENV
        script:
            "../scripts/figure_roc.py"


if HAS_TES and DECORRELATED:
    MODEL_FIGURES.append("results/figures/decorrelation.pdf")

    rule figure_decorrelation:
        input:
            scores=expand(SCORES, method=DECORRELATED, replica=REPLICAS, process=PROCESSES, variation=TES_VARIATIONS),
            metrics=expand("results/models/{method}/metrics.json", method=DECORRELATED),
        output:
            pdf="results/figures/decorrelation.pdf",
            png=report("results/figures/decorrelation.png", caption="../report/decorrelation.rst", category="Models"),
        params:
            methods=DECORRELATED,
            variations=TES_VARIATIONS,
        log:
            "results/logs/figures/decorrelation.log",
        conda:
            ENV
        script:
            "../scripts/figure_decorrelation.py"


MODEL_FIGURES.append("results/figures/calibration.pdf")


rule figure_calibration:
    input:
        expand(SCORES, method=CLASSIFIERS, replica=REPLICAS, process=PROCESSES, variation="nominal"),
    output:
        pdf="results/figures/calibration.pdf",
        png=report("results/figures/calibration.png", caption="../report/calibration.rst", category="Models"),
    params:
        methods=CLASSIFIERS,
        variation="nominal",
        reference=REFERENCE_MODEL if REFERENCE_MODEL in CLASSIFIERS else "",
    log:
        "results/logs/figures/calibration.log",
    conda:
        ENV
    script:
        "../scripts/figure_calibration.py"
