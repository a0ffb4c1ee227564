"""Rule paper_toy_train_<toy>: every (model, replica) of one toy trained with the shared loop and exported to ONNX,
one after another in this one process (each with its own seeds: the files a job per model wrote)."""

from pathlib import Path

from systlab.papertoys.training import train_toy_model
from systlab.runtime import start

smk = snakemake  # noqa: F821
cfg = start(smk)
for onnx in smk.output.onnx:  # results/paper_toys/<toy>/<model>/<replica>/model.onnx
    out_dir = Path(onnx).parent
    train_toy_model(smk.params.toy, out_dir.parent.name, out_dir.name, cfg.paper_toys, out_dir)
