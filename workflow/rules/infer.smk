# systlab.infer: per model replica, one job fits every dataset (Asimov; pseudo-data and expectation at each truth: MLE,
# 68% profile interval, pulls) and makes the Asimov limits, Z0 and impacts (always needed together: one start-up);
# toys (coverage, mean width, FAIR score) are their own job.
# One rule per stage for both model kinds: a fixed classifier through its pyhf workspace, a parameterized one through
# its grid-profiled likelihood (likelihood_inputs in common.smk picks the inputs, systlab.infer.pipeline the route).


rule fit:
    input:
        unpack(likelihood_inputs),
    output:
        fits=[f"results/fits/{{method}}/{{replica}}/{d}.json" for d in DATASETS],
        **{kind: f"results/inference/{{method}}/{{replica}}/{kind}.json" for kind in INFERENCE_KINDS},
    wildcard_constraints:
        method=one_of(MODELS),
    params:
        config=config_of("fit", "pseudo_data", "processes", "systematics", ignore=["fit.histosys_check"]),
    log:
        "results/logs/fit/{method}/{replica}.log",
    conda:
        ENV
    script:
        "../scripts/fit.py"


# The lambda-scan models (pivot_lambda_<x>, disco_lambda_<x>) are fitted for figure lambda_scan only: no inference.
rule fit_lambda_scan:
    input:
        unpack(likelihood_inputs),
    output:
        fits=[f"results/fits/{{method}}/{{replica}}/{d}.json" for d in DATASETS],
    wildcard_constraints:
        method=one_of(LAMBDA_SCAN_MODELS),
    params:
        config=config_of("fit", "pseudo_data", "processes", "systematics", ignore=["fit.histosys_check"]),
    log:
        "results/logs/fit/{method}/{replica}.log",
    conda:
        ENV
    script:
        "../scripts/fit.py"


# Toys: one job per replica on a laptop (toys.chunks: 1); with toys.chunks > 1 (a cluster option) that many chunk jobs
# and one merge. Toy i is the same toy in any chunking, so both give the same result. Lambda-scan models match but
# are not asked for.
if CFG.toy_chunks == 1:

    rule toys:
        input:
            unpack(likelihood_inputs),
        output:
            "results/toys/{method}/{replica}.json",
        wildcard_constraints:
            method=one_of(FIT_MODELS),
        params:  # one job per replica: the count of chunk jobs cannot change what it writes
            config=config_of("toys", "fit", "pseudo_data", "processes", "systematics",
                             ignore=["toys.chunks", "fit.histosys_check"]),
        log:
            "results/logs/toys/{method}/{replica}.log",
        benchmark:
            "results/benchmarks/toys/{method}/{replica}.tsv"  # wall time and memory (none in the results)
        conda:
            ENV
        script:
            "../scripts/toys.py"

else:

    rule toys_chunk:
        input:
            unpack(likelihood_inputs),
        output:
            "results/toys/{method}/{replica}/chunk{chunk}.json",
        wildcard_constraints:
            method=one_of(FIT_MODELS),
            chunk=r"\d+",
        params:
            config=config_of("toys", "fit", "pseudo_data", "processes", "systematics", ignore=["fit.histosys_check"]),
        log:
            "results/logs/toys/{method}/{replica}/chunk{chunk}.log",
        benchmark:
            "results/benchmarks/toys/{method}/{replica}/chunk{chunk}.tsv"
        conda:
            ENV
        script:
            "../scripts/toys_chunk.py"

    rule toys:
        input:
            toy_chunks_of,
        output:
            "results/toys/{method}/{replica}.json",
        wildcard_constraints:
            method=one_of(FIT_MODELS),
        log:
            "results/logs/toys/{method}/{replica}.merge.log",
        conda:
            ENV
        script:
            "../scripts/toys_merge.py"



# The FAIR-Universe challenge's evaluation (systlab.infer.fair_protocol): fair_protocol.sets sets with mu_true ~
# U(fair_protocol.mu_range), fair_protocol.pseudo_experiments per set, every NP truth drawn per pseudo-experiment from
# the challenge's priors and from this config's, the pseudo-data bootstrapped from the held-out toy split of the
# canonical events and moved by systlab's own variations, scored with each replica's ONNX model and fitted through
# its own likelihood. One job per model: its pseudo-experiments are built once for every replica (the same for every
# model: one seed stream). Summary table: rule summary; figure: results/figures/fair_protocol.pdf.
def fair_protocol_inputs(wildcards):
    """Every process's canonical events, and per replica (keys "<replica>_<input>") its ONNX model and likelihood
    inputs (workspace + templates, or grid workspaces + per-point scores)."""
    from types import SimpleNamespace

    inputs = {"events": [f"results/events/{p}.parquet" for p in PROCESSES]}
    for replica in REPLICAS:
        one = SimpleNamespace(method=wildcards.method, replica=replica)
        inputs[f"{replica}_model"] = f"results/models/{wildcards.method}/{replica}/model.onnx"
        inputs.update({f"{replica}_{k}": v for k, v in likelihood_inputs(one).items()})
    return inputs


rule fair_protocol:
    input:
        unpack(fair_protocol_inputs),
    output:
        [f"results/fair_protocol/{{method}}/{r}.json" for r in REPLICAS],
    wildcard_constraints:
        method=one_of(FAIR_MODELS),
    params:
        config=config_of("fair_protocol", "seed", "splits", "fit", "processes", "systematics",
                         ignore=["fit.histosys_check"]),
    log:
        "results/logs/fair_protocol/{method}.log",
    benchmark:
        "results/benchmarks/fair_protocol/{method}.tsv"
    conda:
        ENV
    script:
        "../scripts/fair_protocol.py"
