# Pseudo-experiments per model replica -> coverage of the 68% interval, mean width, FAIR-Universe score.


rule toys_chunk:
    input:
        workspace="results/workspaces/{method}/{replica}.json",
        templates="results/templates/{method}/{replica}.json",
    output:
        "results/toys/{method}/{replica}/chunk{chunk}.json",
    wildcard_constraints:
        method=one_of(FIXED_FIT_MODELS),
        chunk=r"\d+",
    log:
        "results/logs/toys/{method}/{replica}/chunk{chunk}.log",
    conda:
        ENV
    script:
        "../scripts/toys.py"


# toys.chunks jobs per fixed-model replica (1 on a laptop; more spreads them over cluster nodes), then one merge
rule toys:
    input:
        expand("results/toys/{{method}}/{{replica}}/chunk{chunk}.json", chunk=range(CFG.toy_chunks)),
    output:
        "results/toys/{method}/{replica}.json",
    wildcard_constraints:
        method=one_of(FIXED_FIT_MODELS),
    log:
        "results/logs/toys/{method}/{replica}.merge.log",
    conda:
        ENV
    script:
        "../scripts/toys_merge.py"


rule toys_grid:
    input:
        workspaces="results/grid/{method}/{replica}/workspaces.json",
        scores=lambda wc: grid_scores_of(wc.method, wc.replica),
    output:
        "results/toys/{method}/{replica}.json",
    wildcard_constraints:
        method=one_of(GRID_MODELS),
    params:
        n_toys=CFG.n_grid_toys,
    log:
        "results/logs/toys_grid/{method}/{replica}.log",
    conda:
        ENV
    script:
        "../scripts/toys_grid.py"
