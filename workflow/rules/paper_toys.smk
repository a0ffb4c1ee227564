# The paper toys (issue 5): the methods on published low-dimensional problems, checked against published behaviour.
# Switched by the `paper_toys:` config section (no toys = nothing here runs); code: src/systlab/papertoys/.
# Independent of the Higgs analysis: toy events are generated inside the training job.
from systlab.papertoys.settings import parse_paper_toys, split_model_name

PAPER_TOYS = CFG.paper_toys
PAPER_TOY_LOG = "results/logs/paper_toys"


def paper_toy_models(toy, methods=None):
    """ONNX files of every replica of the toy's models (optionally only those of ``methods``); none if it is off."""
    if toy not in PAPER_TOYS.toys:
        return []
    models = [m for m in PAPER_TOYS.model_names(toy) if methods is None or split_model_name(m)[0] in methods]
    return expand("results/paper_toys/{toy}/{toy_model}/{replica}/model.onnx", toy=toy, toy_model=models,
                  replica=PAPER_TOYS.replica_names())


def paper_toy_figures():
    """The toy figures whose models the config trains."""
    toys, figures = PAPER_TOYS.toys, []
    if {"baseline", "aware"} & set(toys.get("rotating", ())):
        figures.append("toy_decision_boundary")
    if "aware" in toys.get("rotating", ()):
        figures.append("toy_likelihood_ratio")
    if {"baseline", "pivot", "disco"} & set(toys.get("pivot", ())):
        figures.append("toy_pivot_outputs")
    return [f"results/figures/{name}.{ext}" for name in figures for ext in ("pdf", "png")]


PAPER_TOY_RESULTS = [f"results/paper_toys/{toy}/checks.json" for toy in PAPER_TOYS.toys] + paper_toy_figures()


rule paper_toy_train:
    output:
        onnx="results/paper_toys/{toy}/{toy_model}/{replica}/model.onnx",
        state="results/paper_toys/{toy}/{toy_model}/{replica}/model.pt",
        history="results/paper_toys/{toy}/{toy_model}/{replica}/history.json",
        meta="results/paper_toys/{toy}/{toy_model}/{replica}/meta.json",
    wildcard_constraints:
        toy="pivot|rotating|inferno",
        toy_model=r"baseline|augmented|pivot|disco|aware|inferno|oracle_[A-Za-z]+-?[0-9.]+",
    threads: PAPER_TOYS.training.threads
    resources:
        gpu=1,
    log:
        f"{PAPER_TOY_LOG}/train/{{toy}}/{{toy_model}}/{{replica}}.log",
    conda:
        ENV
    script:
        "../scripts/paper_toy_train.py"


rule paper_toy_checks:
    input:
        lambda wc: paper_toy_models(wc.toy),
    output:
        "results/paper_toys/{toy}/checks.json",
    wildcard_constraints:
        toy="pivot|rotating|inferno",
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
        figure="pivot_outputs",
    log:
        f"{PAPER_TOY_LOG}/figures/toy_pivot_outputs.log",
    conda:
        ENV
    script:
        "../scripts/paper_toy_figures.py"
