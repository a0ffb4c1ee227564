# Built-in simulator: raw ROOT (and optional HDF5) files, the same input path as a user's ntuples.

SIMULATE_OUTPUT = {"root": "results/raw/{process}.root"}
if CFG.write_hdf5:
    SIMULATE_OUTPUT["hdf5"] = "results/raw/{process}.h5"


rule simulate:
    output:
        **SIMULATE_OUTPUT,
    params:
        events=lambda wc: CFG.events[wc.process],
    log:
        "results/logs/simulate/{process}.log",
    conda:
        ENV
    script:
        "../scripts/simulate.py"
