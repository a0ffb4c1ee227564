# systlab.samples: raw events (built-in simulator or the user's ntuples) -> canonical event tables -> one sample table
# per (process, variation): nominal, +-1 sigma, NP grid, truths.

SIMULATE_OUTPUT = {"root": "results/raw/{process}.root"}
if CFG.write_hdf5:
    SIMULATE_OUTPUT["hdf5"] = "results/raw/{process}.h5"


# Params hold every config value a script reads (Snakemake reruns a job whose params changed): without them an edited
# yield, mapping or luminosity kept the stale table ("Nothing to be done").


# Built-in simulator: raw ROOT (and optional HDF5) files, the same input path as a user's ntuples.
rule simulate:
    output:
        **SIMULATE_OUTPUT,
    params:
        events=lambda wc: CFG.events[wc.process],
        mass_slices=lambda wc: CFG.mass_slices[wc.process].payload() if wc.process in CFG.mass_slices else None,
        seed=CFG.seed,
        luminosity_fb=CFG.luminosity_fb,
        signal_boost=lambda wc: CFG.signal_boost if wc.process == "htautau" else None,
    log:
        "results/logs/simulate/{process}.log",
    conda:
        ENV
    script:
        "../scripts/simulate.py"


# ROOT/HDF5 -> one canonical event table per process (simulator output or the user's own files).
rule ingest:
    input:
        ingest_inputs,
    output:
        "results/events/{process}.parquet",
    params:
        spec=lambda wc: CFG.inputs.get(wc.process),  # the mapping, selection and yield of a user's files
    log:
        "results/logs/ingest/{process}.log",
    conda:
        ENV
    script:
        "../scripts/ingest.py"


rule vary:
    input:
        "results/events/{process}.parquet",
    output:
        [f"results/samples/{{process}}/{v}.parquet" for v in VARIATIONS],
    params:
        seed=CFG.seed,
        splits=dict(CFG.splits),
        signal=lambda wc: wc.process == CFG.signal,
        variations=[[v.name, dict(v.values)] for v in CFG.variations()],
    log:
        "results/logs/vary/{process}.log",
    conda:
        ENV
    script:
        "../scripts/vary.py"


# Any sample in the FAIR-Universe challenge's layout (HiggsML.datasets.Data loads the directory): on request only,
# e.g. `snakemake --cores 1 results/fair/htautau/nominal/data.parquet`.
rule fair_dataset:
    input:
        "results/samples/{process}/{variation}.parquet",
    output:
        parquet="results/fair/{process}/{variation}/data.parquet",
        metadata="results/fair/{process}/{variation}/data_metadata.json",
    params:
        splits=dict(CFG.splits),  # the weights written are the sample's times its split's fraction
    log:
        "results/logs/fair_dataset/{process}/{variation}.log",
    conda:
        ENV
    script:
        "../scripts/fair_dataset.py"
