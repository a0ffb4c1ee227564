"""Rule train: one replica of one model from the canonical events (method data, bootstrap), ONNX export."""

from pathlib import Path

from systlab.methods import METHODS
from systlab.methods.data import read_events
from systlab.methods.setup import method_options, model_training_tables, training_settings
from systlab.runtime import log, start

cfg = start(snakemake)  # noqa: F821
spec = cfg.model(snakemake.wildcards.method)  # noqa: F821
replica = int(snakemake.wildcards.replica[1:])  # noqa: F821
events = read_events({Path(p).stem: p for p in snakemake.input.events})  # noqa: F821
tables = model_training_tables(cfg, spec, events, replica)
trained = METHODS[spec.method](tables, list(cfg.features), training_settings(cfg, snakemake.threads),  # noqa: F821
                               seed=cfg.replica_seeds(replica).init, out_dir=Path(snakemake.output.onnx).parent,  # noqa: F821
                               **method_options(cfg, spec))
log.info("%s/r%d (%s) trained in %.1f s, best epoch %d of %d", spec.name, replica, spec.method,
         trained.history.seconds, trained.history.best_epoch, len(trained.history.val_loss))
