# Canonical events -> one sample table per (process, variation): nominal, +-1 sigma, NP grid, truths.


rule vary:
    input:
        "results/events/{process}.parquet",
    output:
        [f"results/samples/{{process}}/{v}.parquet" for v in VARIATIONS],
    log:
        "results/logs/vary/{process}.log",
    conda:
        ENV
    script:
        "../scripts/vary.py"
