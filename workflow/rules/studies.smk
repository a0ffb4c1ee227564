# systlab.studies: figures of merit and the comparison table per model, and the cross-checks of the inference
# (binning, TES prior, JES granularity, generator dependence, histosys interpolation, aware interpolation).
# The pivot/DisCo lambda-scan models need no rule of their own: train -> ... -> fit like any fixed classifier.

METRIC_VARIATIONS = TARGET_VARIATIONS
HISTOSYS_CHECK_DATASETS = ["asimov"] + [f"expected_{t.name}" for t in CFG.truths]
TARGET_GRID = grid_points(CFG, CFG.target) if INTERPOLATION_MODELS else ()
INTERPOLATION_COMPARED = [m for m in MODELS if m in ("baseline", "aware") or m.startswith("oracle")]


# Per-model figures of merit from the score files (no re-scoring): weighted AUC at TES -1, 0, +1 sigma and the
# Jensen-Shannon divergence of background scores at +-1 sigma, per replica and mean +- std (systlab.studies.metrics).
rule metrics:
    input:
        scores=lambda wildcards: expand("results/scores/{method}/{replica}/{process}/{variation}.parquet",
                                        method=wildcards.method, replica=replicas_of(wildcards.method),
                                        process=PROCESSES, variation=METRIC_VARIATIONS),
    output:
        "results/models/{method}/metrics.json",
    params:
        config=config_of("systematics.target"),
    log:
        "results/logs/metrics/{method}.log",
    conda:
        ENV
    script:
        "../scripts/metrics.py"


# Everything per model -> the comparison table results/inference/summary.{json,md} (mean +- std over replicas).
rule summary:
    input:
        metrics=all_metrics(),
        fits=fit_results(),
        toys=expand("results/toys/{method}/{replica}.json", method=MODELS, replica=REPLICAS),
        limits=inference_results(["limit"]),
        significances=inference_results(["significance"]),
        impacts=inference_results(["impacts"]),
        templates=expand("results/templates/{method}/{replica}.json", method=FIXED_MODELS, replica=REPLICAS),
        fair=FAIR_PROTOCOL_RESULTS,
    output:
        json="results/inference/summary.json",
        md="results/inference/summary.md",
    params:
        config=config_of("toys.n", "fit.grid_morph_step", "pseudo_data", "systematics.target"),
        parameterized=GRID_MODELS,
    log:
        "results/logs/summary.log",
    conda:
        ENV
    script:
        "../scripts/summary.py"


# Sensitivity of the inference (issues 6 and 7, figure 14): binning (incl. a single-bin cut) and pseudo-data drawn
# with a TES prior width other than the fit's, for the fixed classifiers in `sensitivity.models`.
rule sensitivity:
    input:
        lambda wc: scores_of(wc.method, wc.replica),
    output:
        "results/sensitivity/{study}/{method}/{replica}.json",
    wildcard_constraints:
        study="|".join(STUDIES),
    params:
        config=config_of("sensitivity", "seed", "processes", "systematics", "pseudo_data", "templates", "fit.mu_range",
                         "fit.scan_points", ignore=["sensitivity.models", "sensitivity.jes_bins"]),
    log:
        "results/logs/sensitivity/{study}/{method}/{replica}.log",
    conda:
        ENV
    script:
        "../scripts/sensitivity.py"


# One coherent JES NP vs one per jet-pT bin (`sensitivity.jes_bins`): per studied replica, the binned NPs' +-1 sigma
# variants scored here with its model, both workspaces fitted (Asimov and truths), constraints per NP.
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
    params:
        config=config_of("sensitivity.jes_bins", "seed", "splits", "processes", "systematics", "pseudo_data",
                         "fit.mu_range", "fit.scan_points"),
    log:
        "results/logs/jes_granularity/{method}/{replica}.log",
    conda:
        ENV
    script:
        "../scripts/jes_granularity.py"


# The generator cross-check (issue 5; Ghosh & Nachman arXiv:2109.08159): pivot/DisCo trained against generator A
# vs B (<method>_generator) or the scale family (<method>_scale) through rule train, then one job scoring every
# variant of systlab.samples.generators with them and with the plain baseline.
rule generator_check:
    input:
        events=expand("results/events/{process}.parquet", process=PROCESSES),
        models=expand("results/models/{method}/{replica}/model.onnx", method=["baseline"] + CHECK_MODELS,
                      replica=STUDY_REPLICAS),
    output:
        "results/generator_check/summary.json",
    threads: 1
    params:
        config=config_of("run_id", "seed", "splits", "processes", "generator_check",
                         ignore=["generator_check.closure_models", "generator_check.closure_toys"]),
    log:
        "results/logs/generator_check.log",
    conda:
        ENV
    script:
        "../scripts/generator_check.py"


# Closure (issue 6): per fixed-classifier replica, pseudo-data from generator C and the higher order fitted with
# and without the two-point generator NP (A vs B histosys), with toys for the coverage.
rule generator_closure:
    input:
        scores=lambda wc: scores_of(wc.method, wc.replica),
        templates="results/templates/{method}/{replica}.json",
        model="results/models/{method}/{replica}/model.onnx",
        events=expand("results/events/{process}.parquet", process=PROCESSES),
    output:
        "results/generator_closure/{method}/{replica}.json",
    wildcard_constraints:
        method=one_of(CLOSURE_MODELS),
    threads: 1
    params:
        config=config_of("generator_check.closure_toys", "seed", "splits", "processes", "systematics",
                         "fit.mu_range", "fit.scan_points"),
    log:
        "results/logs/generator_closure/{method}/{replica}.log",
    conda:
        ENV
    script:
        "../scripts/generator_closure.py"


# Cross-check of the histosys interpolation (issue 6): each fixed classifier of fit.histosys_check also fitted
# through the grid construction in TES (the simulated sample at every grid point, no TES histosys), on the
# Asimov and expected_<truth> datasets, beside its histosys fits (systlab.studies.histosys_check).
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
        config=config_of("fit", "systematics", "pseudo_data", "processes", ignore=["fit.histosys_check"]),
        interpolation=CFG.grid_interpolation,
    log:
        "results/logs/histosys_check/{method}/{replica}.log",
    conda:
        ENV
    script:
        "../scripts/histosys_check.py"


# Why an oracle can be wider than the baseline once its NP is profiled (issue 20): the baseline and the oracle of each
# shifted truth, widths on the truth's toy-split expectation with the target NP profiled and fixed at its true value,
# and the templates' Fisher information on it (systlab.studies.oracle_gap), over the study replicas.
rule oracle_gap:
    input:
        templates=[f"results/templates/{m}/{r}.json" for m in ["baseline", *GAP_ORACLES.values()] for r in STUDY_REPLICAS],
        workspaces=[f"results/workspaces/{m}/{r}.json" for m in ["baseline", *GAP_ORACLES.values()] for r in STUDY_REPLICAS],
    output:
        json="results/studies/oracle_gap.json",
        md="results/studies/oracle_gap.md",
    params:
        config=config_of("fit", "systematics", "pseudo_data", "processes", ignore=["fit.histosys_check"]),
        models=["baseline", *GAP_ORACLES.values()],
        replicas=STUDY_REPLICAS,
        oracles=GAP_ORACLES,
    log:
        "results/logs/oracle_gap.log",
    conda:
        ENV
    script:
        "../scripts/oracle_gap.py"


# The aware interpolation check (issue 5): aware_without_tes_<k>sd trained without the neighbourhood of grid point
# k, compared by AUC with the full aware model, the baseline and the oracle at every TES grid point.
rule interpolation_check:
    input:
        samples=samples_of(PROCESSES, [p.sample for p in TARGET_GRID]),
        models=expand("results/models/{method}/{replica}/model.onnx", method=INTERPOLATION_COMPARED
                      + INTERPOLATION_MODELS, replica=STUDY_REPLICAS),
    params:
        config=config_of("run_id", "systematics.target"),
        points={p.alpha: p.sample for p in TARGET_GRID},
    output:
        "results/interpolation_check/summary.json",
    log:
        "results/logs/interpolation_check.log",
    conda:
        ENV
    script:
        "../scripts/interpolation_check.py"


# The regime scan (opt-in, config regime_scan): the whole workflow again per cell, as a Snakemake module instance
# with the cell's config under regimes/<cell>/ (its rules named <cell>_<rule>), and one table over the cells.
# Module declarations need literal names: systlab.studies.regime_scan.module_file writes them, and they are included.
REGIME_CELLS = regime_cells(config)
for _cell, _cell_config in REGIME_CELLS.items():  # each cell's config checked here, its error naming the cell
    load_config(_cell_config, source=f"regime_scan cell {_cell} (this config + regime_scan.overlay + its axes)")
if REGIME_CELLS:
    _modules = regime_module_file(list(REGIME_CELLS), workflow.main_snakefile, Path(".snakemake", "regime_scan"))

    include: str(_modules.resolve())

    rule regime_scan:
        input:
            expand("regimes/{cell}/results/inference/summary.json", cell=REGIME_CELLS),
        output:
            json="results/regime_scan/summary.json",
            md="results/regime_scan/summary.md",
        params:
            points=regime_cell_points(config),
        log:
            "results/logs/regime_scan.log",
        conda:
            ENV
        script:
            "../scripts/regime_scan.py"


# Closure of the unbinned models' learned density ratios (issue #23): each process's nominal template events
# reweighted by R(x; a) against every simulated shape-NP variation, per feature and score, with a paired chi2
# (systlab.studies.ratio_closure).
rule ratio_closure:
    input:
        model="results/models/{method}/{replica}/model.onnx",
        samples=samples_of(PROCESSES, ["nominal"] + [name for *_, name in CFG.shape_variations()]),
    output:
        "results/studies/ratio_closure/{method}/{replica}.json",
    wildcard_constraints:
        method=one_of(UNBINNED_MODELS),
    params:
        config=config_of("run_id", "systematics.shape"),
    log:
        "results/logs/ratio_closure/{method}/{replica}.log",
    conda:
        ENV
    script:
        "../scripts/ratio_closure.py"
