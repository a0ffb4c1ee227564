# The pivot/DisCo lambda scans (issues 5 and 7, figure 13): extra models pivot_lambda_<x> / disco_lambda_<x>
# run through train -> score -> templates -> workspace -> fit like any fixed classifier (no toys).

LAMBDA_SCAN_MODELS = [m.name for m in CFG.lambda_scan_models()]
LAMBDA_FIGURES = ["results/figures/lambda_scan.pdf"] if LAMBDA_SCAN_MODELS else []
# the models of the figure: every scan point plus the main pivot/disco (their configured lambda) and baseline
LAMBDA_FIGURE_MODELS = LAMBDA_SCAN_MODELS + [m for m in ("pivot", "disco", "baseline") if m in MODELS]
SHIFTED_TRUTHS = [t for t in CFG.truths if t.shifts.get("tes", 0.0) != 0.0]


rule figure_lambda_scan:
    input:
        metrics=expand("results/models/{method}/metrics.json", method=LAMBDA_FIGURE_MODELS),
        fits=expand("results/fits/{method}/{replica}/{dataset}.json", method=LAMBDA_FIGURE_MODELS,
                    replica=REPLICAS, dataset=["asimov"] + [f"expected_{t.name}" for t in SHIFTED_TRUTHS]),
    params:
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
