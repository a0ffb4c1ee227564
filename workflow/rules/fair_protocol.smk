# systlab.infer.fair_protocol (issue 22, part 4): every model replica evaluated the FAIR-Universe challenge's way -
# fair_protocol.sets sets with mu_true ~ U(fair_protocol.mu_range), fair_protocol.pseudo_experiments per set, every NP
# truth drawn per pseudo-experiment from the challenge's priors and from this config's, the pseudo-data bootstrapped
# from the held-out toy split of the canonical events and moved by systlab's own variations, scored with the
# replica's ONNX model and fitted through the replica's own likelihood (workspace or grid; likelihood_inputs).
# Summary table: rule summary; figure: results/figures/fair_protocol.pdf (visualize.smk).


def fair_protocol_inputs(wildcards):
    """The replica's ONNX model, every process's canonical events and its likelihood inputs (workspace + templates,
    or grid workspaces + per-point scores)."""
    return {"model": f"results/models/{wildcards.method}/{wildcards.replica}/model.onnx",
            "events": [f"results/events/{p}.parquet" for p in PROCESSES], **likelihood_inputs(wildcards)}  # fmt: skip


rule fair_protocol:
    input:
        unpack(fair_protocol_inputs),
    output:
        "results/fair_protocol/{method}/{replica}.json",
    wildcard_constraints:
        method=one_of(MODELS),
    params:
        config=config_of("fair_protocol", "seed", "splits", "fit", "processes", "systematics",
                         ignore=["fit.histosys_check"]),
    log:
        "results/logs/fair_protocol/{method}/{replica}.log",
    benchmark:
        "results/benchmarks/fair_protocol/{method}/{replica}.tsv"
    conda:
        ENV
    script:
        "../scripts/fair_protocol.py"
