# systlab.theory (issue 4): scale-uncertainty pull study, LO scale bands vs NLO, QCD per-particle reference, and its
# figures (drawn by systlab.visualize.theory; kept here, not in visualize.smk: the study is independent of the
# analysis DAG, so its three figure rules stay beside the one rule they read, as papertoys.smk keeps its own).


rule theory_pulls:
    input:
        table=CFG.theory_table,
    output:
        pulls="results/theory/pulls.csv",
        summary="results/theory/summary.json",
    params:
        config=config_of("theory"),
    log:
        "results/logs/theory/theory_pulls.log",
    conda:
        ENV
    script:
        "../scripts/theory_pulls.py"


rule theory_figure_pulls:
    input:
        pulls="results/theory/pulls.csv",
        summary="results/theory/summary.json",
    output:
        pdf="results/figures/theory_pulls.pdf",
        png=report("results/figures/theory_pulls.png", caption="../report/theory_pulls.rst", category="Theory"),
    params:
        config=config_of("run_id"),
        figure="pulls",
    log:
        "results/logs/theory/theory_figure_pulls.log",
    conda:
        ENV
    script:
        "../scripts/theory_figures.py"


rule theory_figure_per_particle:
    input:
        pulls="results/theory/pulls.csv",
        summary="results/theory/summary.json",
    output:
        pdf="results/figures/theory_per_particle.pdf",
        png=report("results/figures/theory_per_particle.png", caption="../report/theory_per_particle.rst",
                   category="Theory"),
    params:
        config=config_of("run_id"),
        figure="per_particle",
    log:
        "results/logs/theory/theory_figure_per_particle.log",
    conda:
        ENV
    script:
        "../scripts/theory_figures.py"


rule theory_figure_tails:
    input:
        pulls="results/theory/pulls.csv",
        summary="results/theory/summary.json",
    output:
        pdf="results/figures/theory_tails.pdf",
        png=report("results/figures/theory_tails.png", caption="../report/theory_tails.rst", category="Theory"),
    params:
        config=config_of("run_id"),
        figure="tails",
    log:
        "results/logs/theory/theory_figure_tails.log",
    conda:
        ENV
    script:
        "../scripts/theory_figures.py"
