"""The unbinned learned likelihood's toys (issue #23: "1,000 toys of one replica <= 60 s on one core").

Problem: a synthetic pool the size and shape of the default problem's unbinned toy split (replica r0 of a 10-replica
default run, 2026-12-07: 100k events of expected weight 0.033, ~3,300 events per toy; 4 processes with the signal
4.6 % of the events; 3 shape NPs with degree-4 log-ratio polynomials; 3 normsys, lumi and 10 MC-statistics regions:
18 parameters), built from a seeded generator so that the model is the integral of its own density (its yields and
yield polynomials come from the pool itself, as ``yield_polynomials`` makes them): the toys are consistent with the
model, as on the real problem. ``--inputs EVENTS MODEL`` runs a real replica's files instead
(results/unbinned/unbinned/<replica>/events.npz and model.json; its toy split at mu = 1).

Timed: ``run_unbinned_toys`` (Poisson multiplicities, Gaussian auxiliary data, all toys at once through
``profile_intervals``: MLE, both 68 % crossings, q_mu(mu_true)) on N toys, in ONE child process started with
OMP/MKL/OPENBLAS_NUM_THREADS = 1 in its environment (the issue's "one core"), twice, median. Figure: 60 s / seconds
per 1000 toys (target >= 1). The toys' coverage, mean width and non-converged count are reported beside it (the
synthetic toys cover by construction: a drop flags a broken fit, not a slow one).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

try:
    from benchmarks.common import ONE_THREAD, Figure, check, main_for, median, time_call
except ImportError:
    from common import ONE_THREAD, Figure, check, main_for, median, time_call

from systlab.infer.unbinned import run_unbinned_toys
from systlab.likelihood.unbinned import EventTables, UnbinnedModel, yield_polynomials

TARGET_SECONDS_PER_1000 = 60.0
MU_TRUE = 1.0
SEED = 321
PROCESSES = ("htautau", "ztautau", "ttbar", "diboson")
COMPOSITION = np.array([0.046, 0.910, 0.040, 0.004])  # of the expected events (the default r0's toy split)
SHAPE_NPS = ("tes", "jes", "soft_met")
NORM_NPS = {"bkg_norm": (0.001, ("ztautau", "ttbar", "diboson")), "diboson_xsec": (0.25, ("diboson",)),
            "ttbar_xsec": (0.02, ("ttbar",))}  # fmt: skip
COEF_SCALE = np.array([0.3, 0.05, 0.01, 0.003])  # per-event log-ratio coefficients of a, a², a³, a⁴


def synthetic_pool(events: int = 100_000, expected: float = 3_300.0, regions: int = 10,
                   seed: int = SEED) -> tuple[UnbinnedModel, EventTables, np.ndarray]:  # fmt: skip
    """(model, pool tables, expected weights at mu = 1) of a default-sized problem; see the module docstring."""
    rng = np.random.default_rng(seed)
    n_proc, n_shape = len(PROCESSES), len(SHAPE_NPS)
    labels = rng.choice(n_proc, size=events, p=COMPOSITION)
    logits = rng.normal(0.0, 1.0, (events, n_proc)) + np.log(COMPOSITION)
    logits[np.arange(events), labels] += 2.5
    fractions = np.exp(logits - logits.max(axis=1, keepdims=True))
    fractions /= fractions.sum(axis=1, keepdims=True)
    coef = rng.normal(0.0, 1.0, (events, n_proc, n_shape, COEF_SCALE.size)) * COEF_SCALE
    weights = np.full(events, expected / events)
    # regions: bins of the signal fraction holding equal expected signal (as the method's MC-statistics regions)
    order = np.argsort(fractions[:, 0])
    signal = np.cumsum((weights * fractions[:, 0])[order])
    region = np.empty(events, dtype=int)
    region[order] = np.minimum((regions * signal / signal[-1]).astype(int), regions - 1)
    tables = EventTables(fractions, coef, region)
    per_process = weights[:, None] * fractions
    yields = np.stack([np.bincount(region, per_process[:, p], minlength=regions) for p in range(n_proc)])
    bounds = ((-3.0, 3.0),) * n_shape
    model = UnbinnedModel(PROCESSES, yields, SHAPE_NPS, yield_polynomials(tables, per_process, bounds, COEF_SCALE.size),
                          bounds, NORM_NPS, 0.02, (-3.0, 5.0), np.linspace(0.005, 0.03, regions))  # fmt: skip
    return model, tables, weights


def real_pool(events_path: str, model_path: str) -> tuple[UnbinnedModel, EventTables, np.ndarray]:
    from systlab.likelihood.unbinned_inputs import read_inputs

    inputs = read_inputs(events_path, model_path)
    toy = inputs.sets["toy"]
    return inputs.model, toy.tables, toy.expected_weights(MU_TRUE)


def toys_child(n_toys: int, rounds: int, inputs: list[str] | None) -> dict:
    """``rounds`` timings of N toys in this (single-threaded) process; a JSON-ready summary."""
    model, tables, weights = real_pool(*inputs) if inputs else synthetic_pool()
    run_unbinned_toys(model, tables, weights, MU_TRUE, 0, 5, SEED)  # warm-up: imports, caches
    seconds, chunk = [], None
    for _ in range(rounds):
        t, chunk = time_call(lambda: run_unbinned_toys(model, tables, weights, MU_TRUE, 0, n_toys, SEED))
        seconds.append(t)
    ok = chunk.converged
    covered = (chunk.lo <= MU_TRUE) & (MU_TRUE <= chunk.hi)
    return {
        "n_toys": n_toys, "seconds": seconds, "n_pars": model.npars, "pool_events": int(len(weights)),
        "events_per_toy": float(weights.sum()), "not_converged": int((~ok).sum()),
        "coverage": float(covered[ok].mean()), "mean_width": float(np.mean((chunk.hi - chunk.lo)[ok])),
        "mean_mu_hat": float(np.mean(chunk.mu_hat[ok])), "n_fits_mean": float(np.mean(chunk.n_fits)),
        "problem": "real: " + " ".join(inputs) if inputs else "synthetic default-sized pool",
        "threads": {k: os.environ.get(k) for k in ONE_THREAD}, "torch_imported": "torch" in sys.modules,
    }  # fmt: skip


def toys_in_child(n_toys: int, rounds: int, inputs: list[str] | None) -> dict:
    """:func:`toys_child` in a fresh interpreter whose environment pins OMP/MKL/OpenBLAS to one thread."""
    args = json.dumps({"n_toys": n_toys, "rounds": rounds, "inputs": inputs})
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--toys-child", args],
                          env={**os.environ, **ONE_THREAD}, capture_output=True, text=True)  # fmt: skip
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"unbinned toys child process failed (exit {proc.returncode}):\n{tail}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(quick: bool = False, inputs: list[str] | None = None) -> list[Figure]:
    n_toys, rounds = (200, 1) if quick else (1000, 2)
    got = toys_in_child(n_toys, rounds, inputs)
    per_1000 = median(got["seconds"]) * 1000 / n_toys
    ratio = TARGET_SECONDS_PER_1000 / per_1000
    note = (f"{got['problem']}, {got['n_pars']} parameters, ~{got['events_per_toy']:.0f} events per toy; "
            f"not converged {got['not_converged']}/{n_toys}, coverage {got['coverage']:.3f}, mean width "
            f"{got['mean_width']:.3f}, mean mu_hat {got['mean_mu_hat']:.3f}, {got['n_fits_mean']:.1f} fits per toy; "
            "1 thread: OMP/MKL/OPENBLAS_NUM_THREADS=1 in a child process's env")  # fmt: skip
    return [
        Figure("unbinned", "1000 unbinned toys w/ intervals, 1 core: 60 s / s", ratio, "60 s / s per 1000 toys",
               ">= 1", check(ratio, ">=", 1.0), {"per_1000": per_1000}, extra=got, note=note)
    ]  # fmt: skip


if __name__ == "__main__":
    argv = sys.argv[1:]
    if "--toys-child" in argv:
        print(json.dumps(toys_child(**json.loads(argv[argv.index("--toys-child") + 1]))))
    elif "--inputs" in argv:
        at = argv.index("--inputs")
        main_for(lambda quick: run(quick, argv[at + 1 : at + 3]))
    else:
        main_for(run)
