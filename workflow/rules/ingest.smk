# ROOT/HDF5 -> one canonical event table per process (simulator output or the user's own files).
import glob


def ingest_inputs(wildcards):
    spec = CFG.inputs.get(wildcards.process)
    if spec is None:
        return ["results/raw/{process}.root".format(process=wildcards.process)]
    return sorted(f for pattern in spec["files"] for f in (glob.glob(pattern) or [pattern]))


rule ingest:
    input:
        ingest_inputs,
    output:
        "results/events/{process}.parquet",
    log:
        "results/logs/ingest/{process}.log",
    conda:
        ENV
    script:
        "../scripts/ingest.py"
