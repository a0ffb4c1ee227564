"""Shared helpers of the systlab benchmarks: interleaved timing, figure records, scratch space.

The machine is shared and noisy, so every figure of merit is a RATIO of two contenders timed in the
same run, alternating A, B, A, B, ... and taking the median of each. Absolute seconds are reported
beside the ratio, never alone.
"""

from __future__ import annotations

import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: the environment of a child process timed on "one core" (set before it imports numpy)
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
if str(ROOT / "src") not in sys.path:  # runnable without `pip install -e .`
    sys.path.insert(0, str(ROOT / "src"))


@dataclass
class Figure:
    """One figure of merit: a same-run ratio, its target, and the absolute numbers it came from."""

    stage: str
    name: str
    ratio: float
    unit: str  # what the ratio means, e.g. "systlab/bare throughput"
    target: str = ""  # e.g. ">= 0.8"; empty if informational
    met: bool | None = None
    seconds: dict[str, float] = field(default_factory=dict)  # medians of the contenders
    extra: dict[str, Any] = field(default_factory=dict)
    note: str = ""  # printed on the figure's line after the seconds: how it was measured, checks

    def line(self) -> str:
        status = {True: "MET ", False: "MISS", None: "info"}[self.met]
        secs = ", ".join(f"{k}={_fmt(v)}" for k, v in self.seconds.items())
        target = f" target {self.target}" if self.target else ""
        note = f"  {self.note}" if self.note else ""
        return f"[{status}] {self.stage:<9} {self.name:<44} {self.ratio:9.3f}  ({self.unit};{target})  [{secs}]{note}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _fmt(v: float) -> str:
    if isinstance(v, float):
        return f"{v:.4g}s" if abs(v) < 1e4 else f"{v:.4g}"
    return str(v)


def check(value: float, op: str, bound: float) -> bool:
    """Whether ``value op bound`` holds (op one of >=, <=)."""
    return value >= bound if op == ">=" else value <= bound


def time_call(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Wall seconds of one call (garbage collected before, not during)."""
    gc.collect()
    gc.disable()
    try:
        t0 = time.perf_counter()
        out = fn()
        return time.perf_counter() - t0, out
    finally:
        gc.enable()


def interleave(contenders: dict[str, Callable[[], Any]], repeats: int, warmup: int = 1) -> dict[str, list[float]]:
    """Time each contender ``repeats`` times, alternating them (order flipped every round); warm-up not kept."""
    names = list(contenders)
    for _ in range(warmup):
        for name in names:
            contenders[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        for name in names if r % 2 == 0 else names[::-1]:
            times[name].append(time_call(contenders[name])[0])
    return times


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def scratch(prefix: str) -> tempfile.TemporaryDirectory:
    """A scratch directory (under $SYSTLAB_BENCH_TMP or the system temp dir), removed afterwards."""
    return tempfile.TemporaryDirectory(prefix=f"systlab-bench-{prefix}-", dir=os.environ.get("SYSTLAB_BENCH_TMP"))


def print_figures(figures: list[Figure]) -> None:
    for fig in figures:
        print(fig.line(), flush=True)


def main_for(run: Callable[[bool], list[Figure]]) -> None:
    """Entry point of one stage script: ``python benchmarks/bench_x.py [--quick]``."""
    quick = "--quick" in sys.argv[1:]
    print_figures(run(quick))
