"""Rule train: fit one classifier replica of one method on the nominal samples; export it to ONNX."""

from pathlib import Path

import pandas as pd

from systlab.runtime import log, start
from systlab.train import METHODS
from systlab.train.loop import TrainingSettings

cfg = start(snakemake)  # noqa: F821
method, replica = snakemake.wildcards.method, snakemake.wildcards.replica  # noqa: F821
samples = {Path(p).parent.name: pd.read_parquet(p) for p in snakemake.input.nominal}  # noqa: F821
t = cfg.training
settings = TrainingSettings(hidden=t.hidden, epochs=t.epochs, batch_size=t.batch_size,
                            learning_rate=t.learning_rate, patience=t.patience, threads=snakemake.threads)  # noqa: F821
trained = METHODS[method](samples, list(cfg.features), settings, seed=cfg.seed + int(replica[1:]),
                          out_dir=Path(snakemake.output.onnx).parent)  # noqa: F821
log.info("%s/%s trained: %s", method, replica, trained)
