"""Simulation: events/s of ``systlab.samples.simulate.simulate_process`` and its peak memory per 1e6 events.

Same-run reference: the "RNG floor" -- drawing the same number of random variates the generator
consumes per event (about 20 doubles: jets, taus, decay fractions, resolutions) straight from
``numpy.random.Generator.standard_normal``. ratio = floor time / simulate time (1 = as fast as the
random numbers alone; the rest is kinematics and awkward jet bookkeeping).
Memory: tracemalloc peak (numpy and awkward buffers are traced) per 1e6 generated events.
"""

from __future__ import annotations

import tracemalloc

import numpy as np

try:
    from benchmarks.common import Figure, interleave, main_for, median
except ImportError:  # run as a script from benchmarks/
    from common import Figure, interleave, main_for, median

from systlab.samples.simulate import simulate_process

#: Random doubles the generator draws per event (counted in simulate.py: ~6 for jets, ~8 for the
#: resonance/taus, 2 fractions, 4 resolutions, some for extra MET).
DRAWS_PER_EVENT = 20


def run(quick: bool = False) -> list[Figure]:
    n = 200_000 if quick else 1_000_000
    repeats = 3 if quick else 5
    figures = []
    for process in ("ztautau", "ttbar"):
        rng = np.random.default_rng(1)
        times = interleave(
            {
                "simulate": lambda p=process: simulate_process(p, n, seed=7),
                "rng_floor": lambda g=rng: g.standard_normal(n * DRAWS_PER_EVENT),
            },
            repeats,
        )
        t_sim, t_floor = median(times["simulate"]), median(times["rng_floor"])
        figures.append(
            Figure(
                "simulate", f"{process} events/s vs RNG floor (n={n:.0e})", t_floor / t_sim,
                "rng-floor time / simulate time", seconds={"simulate": t_sim, "rng_floor": t_floor},
                extra={"events_per_s": n / t_sim, "n_events": n},
            )
        )  # fmt: skip
    tracemalloc.start()
    simulate_process("ztautau", n, seed=7)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    per_million = peak / (n / 1e6)
    figures.append(
        Figure(
            "simulate", "peak memory per 1e6 events (ztautau, MB)", per_million / 1e6,
            "MB per 1e6 generated events (tracemalloc peak)", extra={"n_events": n, "peak_bytes": peak},
        )
    )  # fmt: skip
    figures.append(
        Figure(
            "simulate", "events/s (ztautau, absolute)", figures[0].extra["events_per_s"], "events/s",
            seconds={"simulate": figures[0].seconds["simulate"]},
        )
    )  # fmt: skip
    return figures


if __name__ == "__main__":
    main_for(run)
