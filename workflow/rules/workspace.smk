# Templates -> pyhf workspace (normsys, histosys, staterror, lumi), schema-validated.


rule workspace:
    input:
        "results/templates/{method}/{replica}.json",
    output:
        "results/workspaces/{method}/{replica}.json",
    log:
        "results/logs/workspace/{method}/{replica}.log",
    conda:
        ENV
    script:
        "../scripts/workspace.py"
