# systlab.visualize: one rule per figure of the analysis (one per family for templates_<model> and impacts_<method>),
# results/figures/<name>.pdf + .png drawn from computed inputs only; each marks its PNG for `snakemake --report`. A
# figure is left out when what it needs is not configured (the target lists in common.smk; rule all asks for them).
# Paper-toy and theory figures: papertoys.smk, theory.smk.

# mass and momentum features that separate H from Z and move with TES (systlab.studies.feature_histograms); drawn at
# the target NP's -1, 0, +1 sigma
FEATURE_PLOT = ["DER_mass_vis", "DER_mass_MMC", "PRI_tau_pt", "PRI_met", "DER_mass_transverse_met_lep", "DER_pt_h",
                "PRI_lep_pt", "DER_pt_ratio_lep_tau", "DER_deltar_tau_lep"]
# ROC and calibration: every trained method, with the oracle at the nominal target as the one oracle shown (reference)
REFERENCE_MODEL = oracle_name(CFG.target, 0.0)
CLASSIFIERS = [m for m in MODELS if not m.startswith("oracle")] + [m for m in MODELS if m == REFERENCE_MODEL]
SCORES = "results/scores/{method}/{replica}/{process}/{variation}.parquet"
EXPECTED_FITS = expand("results/fits/{method}/{replica}/expected_{truth}.json", method=MODELS, replica=REPLICAS,
                       truth=[t.name for t in CFG.truths])
ALL_TOYS = expand("results/toys/{method}/{replica}.json", method=MODELS, replica=REPLICAS)
# the shifted truth shown beside Asimov: the one with the largest target-NP shift (none: Asimov only)
SURFACE_TRUTH = max(CFG.truths, key=lambda t: abs(CFG.target_shift(t)), default=None)
SURFACE_DATASETS = ["asimov"] + ([f"expected_{SURFACE_TRUTH.name}"] if CFG.target_shift(SURFACE_TRUTH) else [])
# the lambda-scan figure: every scan point plus the main pivot/disco (their configured lambda) and baseline
LAMBDA_FIGURE_MODELS = LAMBDA_SCAN_MODELS + [m for m in ("pivot", "disco", "baseline") if m in MODELS]
SHIFTED_TRUTHS = [t for t in CFG.truths if CFG.target_shift(t) != 0.0]


# ---- templates and models (issue 7: features, ROC, decorrelation, calibration) -------------------------------------
# One job draws the whole family (templates_<model> of every model, replica r0): pyplot and systlab's imports are
# most of a figure job. `snakemake results/figures/templates_<model>.pdf` still remakes that figure (with the rest
# of its family, which then needs the templates of every model).
rule figure_templates:
    input:
        expand("results/templates/{method}/r0.json", method=MODELS),
    output:
        pdf=expand("results/figures/templates_{method}.pdf", method=MODELS),
        png=[report(f"results/figures/templates_{m}.png", caption="../report/templates.rst", category="Models",
                    subcategory=m) for m in MODELS],
    params:
        config=config_of(*FIGURE_LABELS, "processes", "systematics.shape"),
        methods=MODELS,
    log:
        "results/logs/figures/templates.log",
    conda:
        ENV
    script:
        "../scripts/figure_templates.py"


if HAS_TARGET:

    rule figure_features:
        input:
            samples_of(PROCESSES, TARGET_VARIATIONS),
        output:
            pdf="results/figures/features.pdf",
            png=report("results/figures/features.png", caption="../report/features.rst", category="Models"),
        params:
            config=config_of(*FIGURE_LABELS, "processes", "splits"),
            features=FEATURE_PLOT,
        log:
            "results/logs/figures/features.log",
        conda:
            ENV
        script:
            "../scripts/figure_features.py"

    rule figure_roc:
        input:
            expand(SCORES, method=CLASSIFIERS, replica=REPLICAS, process=PROCESSES, variation=TARGET_VARIATIONS),
        output:
            pdf="results/figures/roc.pdf",
            png=report("results/figures/roc.png", caption="../report/roc.rst", category="Models"),
        params:
            config=config_of(*FIGURE_LABELS),
            methods=CLASSIFIERS,
            variations=TARGET_VARIATIONS,
            reference=REFERENCE_MODEL if REFERENCE_MODEL in CLASSIFIERS else "",
        log:
            "results/logs/figures/roc.log",
        conda:
            ENV
        script:
            "../scripts/figure_roc.py"


if HAS_TARGET and DECORRELATED:

    rule figure_decorrelation:
        input:
            scores=expand(SCORES, method=DECORRELATED, replica=REPLICAS, process=PROCESSES, variation=TARGET_VARIATIONS),
            metrics=expand("results/models/{method}/metrics.json", method=DECORRELATED),
        output:
            pdf="results/figures/decorrelation.pdf",
            png=report("results/figures/decorrelation.png", caption="../report/decorrelation.rst", category="Models"),
        params:
            config=config_of(*FIGURE_LABELS),
            methods=DECORRELATED,
            variations=TARGET_VARIATIONS,
        log:
            "results/logs/figures/decorrelation.log",
        conda:
            ENV
        script:
            "../scripts/figure_decorrelation.py"


rule figure_calibration:
    input:
        expand(SCORES, method=CLASSIFIERS, replica=REPLICAS, process=PROCESSES, variation="nominal"),
    output:
        pdf="results/figures/calibration.pdf",
        png=report("results/figures/calibration.png", caption="../report/calibration.rst", category="Models"),
    params:
        config=config_of(*FIGURE_LABELS),
        methods=CLASSIFIERS,
        variation="nominal",
        reference=REFERENCE_MODEL if REFERENCE_MODEL in CLASSIFIERS else "",
    log:
        "results/logs/figures/calibration.log",
    conda:
        ENV
    script:
        "../scripts/figure_calibration.py"


# ---- fits and toys (issue 7: profile curves, widths vs true alpha, coverage, pulls/impacts, asymptotics) ----------
rule figure_profile_curves:
    input:
        fits=EXPECTED_FITS,
    output:
        pdf="results/figures/profile_curves.pdf",
        png=report("results/figures/profile_curves.png", caption="../report/profile_curves.rst",
                   category="Inference"),
    params:
        config=config_of(*FIGURE_LABELS, "pseudo_data", "systematics.target"),
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
        config=config_of(*FIGURE_LABELS, "pseudo_data", *TARGET_NP),
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
        config=config_of(*FIGURE_LABELS, "toys.n"),
        models=MODELS,
    log:
        "results/logs/figures/coverage.log",
    conda:
        ENV
    script:
        "../scripts/figure_coverage.py"


# the parameterized model's impacts come from its grid-profiled likelihood (rule fit); one job draws the
# family (impacts_<method> of every model but the oracles), as figure_templates
rule figure_impacts:
    input:
        impacts=expand("results/inference/{method}/{replica}/impacts.json", method=IMPACT_MODELS, replica=REPLICAS),
    output:
        pdf=expand("results/figures/impacts_{method}.pdf", method=IMPACT_MODELS),
        png=[report(f"results/figures/impacts_{m}.png", caption="../report/impacts.rst", category="Inference",
                    subcategory="Pulls and impacts") for m in IMPACT_MODELS],
    params:
        config=config_of(*FIGURE_LABELS),
        methods=IMPACT_MODELS,
    log:
        "results/logs/figures/impacts.log",
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
        config=config_of(*FIGURE_LABELS),
        models=MODELS,
    log:
        "results/logs/figures/asymptotics.log",
    conda:
        ENV
    script:
        "../scripts/figure_asymptotics.py"


# the grid-profiled likelihood of the parameterized (aware) classifier (issues 6 and 7)
rule figure_aware_likelihood_surface:
    input:
        fits=expand("results/fits/aware/{replica}/{dataset}.json", replica=REPLICAS, dataset=SURFACE_DATASETS),
    output:
        pdf="results/figures/aware_likelihood_surface.pdf",
        png=report("results/figures/aware_likelihood_surface.png", caption="../report/aware_likelihood_surface.rst",
                   category="Inference"),
    params:
        config=config_of(*FIGURE_LABELS, "pseudo_data", *TARGET_NP),
        datasets=SURFACE_DATASETS,
    log:
        "results/logs/figures/aware_likelihood_surface.log",
    conda:
        ENV
    script:
        "../scripts/figure_aware_likelihood_surface_grid.py"


# ---- studies (studies.smk) -----------------------------------------------------------------------------------------
# the pivot/DisCo lambda scans (issues 5 and 7, figure 13)
rule figure_lambda_scan:
    input:
        metrics=expand("results/models/{method}/metrics.json", method=LAMBDA_FIGURE_MODELS),
        fits=expand("results/fits/{method}/{replica}/{dataset}.json", method=LAMBDA_FIGURE_MODELS,
                    replica=STUDY_REPLICAS, dataset=["asimov"] + [f"expected_{t.name}" for t in SHIFTED_TRUTHS]),
    params:
        config=config_of(*FIGURE_LABELS, "pseudo_data", "systematics.target", "training.replicas",
                         "training.study_replicas",
                         "method_settings.pivot.lambda", "method_settings.disco.lambda"),
        models=LAMBDA_FIGURE_MODELS,
    output:
        pdf="results/figures/lambda_scan.pdf",
        png=report("results/figures/lambda_scan.png", caption="../report/lambda_scan.rst", category="Models"),
    log:
        "results/logs/figures/lambda_scan.log",
    conda:
        ENV
    script:
        "../scripts/figure_lambda_scan.py"


rule figure_sensitivity:
    input:
        expand("results/sensitivity/{study}/{method}/{replica}.json", study=STUDIES, method=SENSITIVITY_MODELS,
               replica=STUDY_REPLICAS),
    output:
        pdf="results/figures/sensitivity.pdf",
        png=report("results/figures/sensitivity.png", caption="../report/sensitivity.rst", category="Inference"),
    params:
        config=config_of(*FIGURE_LABELS, "systematics.target"),
    log:
        "results/logs/figures/sensitivity.log",
    conda:
        ENV
    script:
        "../scripts/figure_sensitivity.py"


rule figure_jes_granularity:
    input:
        expand("results/jes_granularity/{method}/{replica}.json", method=SENSITIVITY_MODELS, replica=STUDY_REPLICAS),
    output:
        pdf="results/figures/jes_granularity.pdf",
        png=report("results/figures/jes_granularity.png", caption="../report/jes_granularity.rst",
                   category="Inference"),
    params:
        config=config_of(*FIGURE_LABELS),
    log:
        "results/logs/figures/jes_granularity.log",
    conda:
        ENV
    script:
        "../scripts/figure_jes_granularity.py"


rule figure_generator_check:
    input:
        "results/generator_check/summary.json",
    output:
        pdf="results/figures/generator_check.pdf",
        png=report("results/figures/generator_check.png", caption="../report/generator_check.rst",
                   category="Models"),
    params:
        config=config_of(*FIGURE_LABELS),
    log:
        "results/logs/figures/generator_check.log",
    conda:
        ENV
    script:
        "../scripts/figure_generator_check.py"


rule figure_generator_closure:
    input:
        expand("results/generator_closure/{method}/{replica}.json", method=CLOSURE_MODELS, replica=STUDY_REPLICAS),
    output:
        pdf="results/figures/generator_closure.pdf",
        png=report("results/figures/generator_closure.png", caption="../report/generator_closure.rst",
                   category="Inference"),
    params:
        config=config_of(*FIGURE_LABELS),
    log:
        "results/logs/figures/generator_closure.log",
    conda:
        ENV
    script:
        "../scripts/figure_generator_closure.py"


rule figure_histosys_check:
    input:
        expand("results/histosys_check/{method}/{replica}.json", method=HISTOSYS_CHECK_MODELS, replica=STUDY_REPLICAS),
    output:
        pdf="results/figures/histosys_check.pdf",
        png=report("results/figures/histosys_check.png", caption="../report/histosys_check.rst",
                   category="Inference"),
    params:
        config=config_of(*FIGURE_LABELS, "pseudo_data", "systematics.target"),
    log:
        "results/logs/figures/histosys_check.log",
    conda:
        ENV
    script:
        "../scripts/figure_histosys_check.py"


rule figure_aware_interpolation:
    input:
        "results/interpolation_check/summary.json",
    output:
        pdf="results/figures/aware_interpolation.pdf",
        png=report("results/figures/aware_interpolation.png", caption="../report/aware_interpolation.rst",
                   category="Models"),
    params:
        config=config_of(*FIGURE_LABELS, *TARGET_NP),
    log:
        "results/logs/figures/aware_interpolation.log",
    conda:
        ENV
    script:
        "../scripts/figure_aware_interpolation.py"


if REGIME_SCAN_RESULTS:

    rule figure_regime_scan:
        input:
            "results/regime_scan/summary.json",
        output:
            pdf="results/figures/regime_scan.pdf",
            png=report("results/figures/regime_scan.png", caption="../report/regime_scan.rst", category="Studies"),
        params:
            config=config_of(*FIGURE_LABELS, "systematics.target", "regime_scan"),
        log:
            "results/logs/figures/regime_scan.log",
        conda:
            ENV
        script:
            "../scripts/figure_regime_scan.py"


# The FAIR-Universe protocol (rule fair_protocol, infer.smk): per model, every pseudo-experiment's [p16, p84] against its true mu,
# both prior settings, every replica
rule figure_fair_protocol:
    input:
        FAIR_PROTOCOL_RESULTS,
    output:
        pdf="results/figures/fair_protocol.pdf",
        png=report("results/figures/fair_protocol.png", caption="../report/fair_protocol.rst", category="Inference"),
    params:
        config=config_of(*FIGURE_LABELS),
        models=MODELS,
    log:
        "results/logs/figures/fair_protocol.log",
    conda:
        ENV
    script:
        "../scripts/figure_fair_protocol.py"


rule figure_ratio_closure:
    input:
        "results/studies/ratio_closure/{method}/r0.json",
    output:
        pdf="results/figures/ratio_closure_{method}.pdf",
        png=report("results/figures/ratio_closure_{method}.png", caption="../report/ratio_closure.rst",
                   category="Models"),
    wildcard_constraints:
        method=one_of(UNBINNED_MODELS),
    params:
        config=config_of(*FIGURE_LABELS, "systematics.target"),
    log:
        "results/logs/figures/ratio_closure_{method}.log",
    conda:
        ENV
    script:
        "../scripts/figure_ratio_closure.py"
