# systlab.papertoys (issue 5): the methods on published low-dimensional problems, checked against published
# behaviour, and their figures. Switched by the `paper_toys:` config section (no toys = nothing here runs; the target
# list PAPER_TOY_RESULTS and the input function paper_toy_models are in common.smk). Independent of the Higgs
# analysis: toy events are generated inside the training job.

PAPER_TOY_LOG = "results/logs/paper_toys"


# One training job per toy: every model and replica of the toy in one process (torch and TorchDynamo, which the
# optimizer imports on its first step, cost ~4 s per process against ~1 s of training per toy model). Each model
# keeps its own seeds (systlab.papertoys.training.train_toy_model), so its files are what a job of its own wrote;
# a change to one model's settings retrains the toy's other models too (seconds). Rules paper_toy_train_<toy>.
for _toy in PAPER_TOYS.toys:

    rule:
        name:
            f"paper_toy_train_{_toy}"
        output:
            **{kind: [f"{d}/{name}" for d in paper_toy_model_dirs(_toy)]
               for kind, name in PAPER_TOY_MODEL_FILES.items()},
        threads: PAPER_TOYS.training.threads
        resources:
            gpu=1,
        params:
            config=config_of("seed", "paper_toys.events", "paper_toys.training"),
            method_settings=paper_toy_method_settings(_toy),
            toy=_toy,
        log:
            f"{PAPER_TOY_LOG}/train/{_toy}.log",
        conda:
            ENV
        script:
            "../scripts/paper_toy_train.py"


rule paper_toy_checks:
    input:
        paper_toy_checks_inputs,
    output:
        "results/paper_toys/{toy}/checks.json",
    wildcard_constraints:
        toy="pivot|rotating|inferno",
    params:
        config=config_of("seed", "paper_toys.test_events", "paper_toys.oracle_points"),
    log:
        f"{PAPER_TOY_LOG}/checks/{{toy}}.log",
    conda:
        ENV
    script:
        "../scripts/paper_toy_checks.py"


rule figure_toy_decision_boundary:
    input:
        paper_toy_models("rotating", ("baseline", "aware")),
    output:
        pdf="results/figures/toy_decision_boundary.pdf",
        png=report("results/figures/toy_decision_boundary.png", caption="../report/toy_decision_boundary.rst",
                   category="Paper toys"),
    params:
        config=config_of("run_id"),
        figure="decision_boundary",
    log:
        f"{PAPER_TOY_LOG}/figures/toy_decision_boundary.log",
    conda:
        ENV
    script:
        "../scripts/paper_toy_figures.py"


rule figure_toy_likelihood_ratio:
    input:
        paper_toy_models("rotating", ("baseline", "aware", "oracle")),
    output:
        pdf="results/figures/toy_likelihood_ratio.pdf",
        png=report("results/figures/toy_likelihood_ratio.png", caption="../report/toy_likelihood_ratio.rst",
                   category="Paper toys"),
    params:
        config=config_of("run_id", "seed", "paper_toys.test_events"),
        figure="likelihood_ratio",
    log:
        f"{PAPER_TOY_LOG}/figures/toy_likelihood_ratio.log",
    conda:
        ENV
    script:
        "../scripts/paper_toy_figures.py"


rule figure_toy_pivot_outputs:
    input:
        paper_toy_models("pivot", ("baseline", "pivot", "disco")),
    output:
        pdf="results/figures/toy_pivot_outputs.pdf",
        png=report("results/figures/toy_pivot_outputs.png", caption="../report/toy_pivot_outputs.rst",
                   category="Paper toys"),
    params:
        config=config_of("run_id", "seed", "paper_toys.test_events"),
        figure="pivot_outputs",
    log:
        f"{PAPER_TOY_LOG}/figures/toy_pivot_outputs.log",
    conda:
        ENV
    script:
        "../scripts/paper_toy_figures.py"


rule paper_toy_control:
    input:
        paper_toy_models("rotating", CONTROL_METHODS),
    output:
        "results/paper_toys/rotating/control.json",
    params:
        config=config_of("seed", "paper_toys.control", ignore=["paper_toys.control.enabled"]),
    log:
        f"{PAPER_TOY_LOG}/control.log",
    conda:
        ENV
    script:
        "../scripts/paper_toy_control.py"


rule figure_toy_positive_control:
    input:
        "results/paper_toys/rotating/control.json",
    output:
        pdf="results/figures/toy_positive_control.pdf",
        png=report("results/figures/toy_positive_control.png", caption="../report/toy_positive_control.rst",
                   category="Paper toys"),
    params:
        config=config_of("run_id"),
    log:
        f"{PAPER_TOY_LOG}/figures/toy_positive_control.log",
    conda:
        ENV
    script:
        "../scripts/figure_toy_positive_control.py"
