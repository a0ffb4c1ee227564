"""Training: samples/s of the shared loop ``systlab.methods.loop.fit`` (baseline ``WeightedBCE``) ÷ a bare torch loop.

Same tensors (nominal samples of the four simulated processes through ``vary.apply_variation`` +
``finish_sample`` + ``train.baseline.training_batches``), same ``Classifier`` (hidden and batch size
of the default config), same Adam learning rate, same number of epochs, same thread count.

* ``systlab``: ``fit(...)`` with patience > epochs (no early stop); its train-phase seconds are
  ``n_train * epochs / history.samples_per_second`` (the loop's own samples/s), its wall time
  includes the per-epoch validation pass and best-state copies.
* ``bare``: shuffle with ``torch.randperm``, index the three tensors, ``model.logits``, weighted BCE,
  ``zero_grad / backward / step`` -- nothing else; ``torch.use_deterministic_algorithms(False)``.
* ``bare_det``: the same with ``torch.use_deterministic_algorithms(True)`` (what ``fit`` sets).

ratio = bare time / systlab train-phase time (= systlab samples/s ÷ bare samples/s); target >= 0.9.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

try:
    from benchmarks.common import ROOT, Figure, check, interleave, main_for, median
except ImportError:
    from common import ROOT, Figure, check, interleave, main_for, median

from systlab.config import load_config_files
from systlab.methods.baseline import training_batches
from systlab.methods.loop import TrainingSettings, WeightedBCE, fit
from systlab.methods.model import Classifier, feature_statistics
from systlab.samples.simulate import PROCESSES, simulate_process
from systlab.samples.vary import Variation, apply_variation, finish_sample, soft_met_draws


def sample_tables(generated: dict[str, int], seed: int, fractions) -> dict:
    """Nominal sample tables of every process, as the vary stage writes them (in memory)."""
    out = {}
    for process, n in generated.items():
        events = simulate_process(process, n, seed=seed)
        table = apply_variation(events, Variation("nominal", {}), soft_met_draws(len(events), seed))
        out[process] = finish_sample(table, int(process == "htautau"), seed, fractions)
    return out


def bare_loop(make_model, train, settings: TrainingSettings, seed: int, deterministic: bool) -> float:
    """A plain torch training loop over the same tensors; returns its seconds."""
    import time

    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(deterministic)
    torch.set_num_threads(settings.threads)
    model = make_model()
    opt = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    x, y, w = train.features, train.label, train.weight
    n = x.shape[0]
    model.train()
    t0 = time.perf_counter()
    for _ in range(settings.epochs):
        order = torch.randperm(n)
        for start in range(0, n, settings.batch_size):
            idx = order[start : start + settings.batch_size]
            per = nn.functional.binary_cross_entropy_with_logits(model.logits(x[idx]), y[idx], reduction="none")
            loss = (w[idx] * per).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return time.perf_counter() - t0


def run(quick: bool = False) -> list[Figure]:
    cfg = load_config_files(ROOT / "config" / "config.yaml")
    scale = 0.5 if quick else 1.0
    generated = {p: int(scale * n) for p, n in {"htautau": 300_000, "ztautau": 1_000_000,
                                                "ttbar": 300_000, "diboson": 200_000}.items()}  # fmt: skip
    assert set(generated) == set(PROCESSES)
    samples = sample_tables(generated, cfg.seed, cfg.splits)
    features = list(cfg.features)
    train, validation = training_batches(samples, features)
    epochs = 4 if quick else 8
    settings = TrainingSettings(hidden=cfg.training.hidden, epochs=epochs, batch_size=cfg.training.batch_size,
                                learning_rate=cfg.training.learning_rate, patience=epochs + 1,
                                threads=cfg.training.threads)  # fmt: skip
    mean, std = feature_statistics(train.features.numpy(), train.weight.numpy())

    def make_model():
        return Classifier(len(features), settings.hidden, mean, std)

    record: dict[str, list[float]] = {"systlab_train": [], "bare": [], "bare_det": []}

    def systlab():
        _, history = fit(make_model, WeightedBCE(), train, validation, settings, cfg.seed)
        record["systlab_train"].append(train.n_events * len(history.train_loss) / history.samples_per_second)

    contenders = {
        "systlab_fit": systlab,
        "bare": lambda: record["bare"].append(bare_loop(make_model, train, settings, cfg.seed, False)),
        "bare_det": lambda: record["bare_det"].append(bare_loop(make_model, train, settings, cfg.seed, True)),
    }
    repeats = 3 if quick else 5
    wall = interleave(contenders, repeats, warmup=1)
    k = repeats  # the warm-up calls appended one entry each: keep the timed ones
    t_sys = median(record["systlab_train"][-k:])
    t_bare = median(record["bare"][-k:])
    t_det = median(record["bare_det"][-k:])
    t_fit = median(wall["systlab_fit"])
    ratio = t_bare / t_sys
    n_samples = train.n_events * epochs
    threads = settings.threads
    torch.use_deterministic_algorithms(False)
    return [
        Figure(
            "train", f"samples/s systlab loop / bare torch ({threads} thr)", ratio,
            "bare train time / systlab train-phase time", ">= 0.9", check(ratio, ">=", 0.9),
            {"systlab_train": t_sys, "bare": t_bare},
            extra={"n_train": train.n_events, "n_validation": validation.n_events, "epochs": epochs,
                   "threads": threads, "torch_threads_now": torch.get_num_threads(),
                   "samples_per_s_systlab": n_samples / t_sys, "samples_per_s_bare": n_samples / t_bare,
                   "hidden": list(settings.hidden), "batch_size": settings.batch_size},
        ),
        Figure(
            "train", "whole fit() incl. validation / bare train loop", t_bare / t_fit,
            "bare train time / systlab fit wall time", seconds={"systlab_fit": t_fit, "bare": t_bare},
        ),
        Figure(
            "train", "deterministic-kernels cost (bare det / bare)", t_bare / t_det,
            "bare time / bare deterministic time", seconds={"bare": t_bare, "bare_det": t_det},
        ),
    ]  # fmt: skip


if __name__ == "__main__":
    np.seterr(all="ignore")
    main_for(run)
