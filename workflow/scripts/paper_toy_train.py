"""Rule paper_toy_train: one (toy, model, replica) trained with the shared loop and exported to ONNX."""

from pathlib import Path

from systlab.papertoys.training import train_toy_model
from systlab.runtime import start

smk = snakemake  # noqa: F821
cfg = start(smk)
settings = cfg.paper_toys
wc = smk.wildcards
train_toy_model(wc.toy, wc.toy_model, wc.replica, settings, Path(smk.output.onnx).parent)
